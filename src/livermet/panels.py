"""Index of the paper's computed figure panels, light enough for the Snakefile to import.

Each panel names the function that draws it (``module:function`` under ``livermet.figures``), the
stage outputs it needs (names the workflow maps to files), a title and the paper's claim. The
figure rule, the report and the figure index table all read this one table.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Panel:
    """A figure panel: how to draw it, from which stage outputs, and what it reproduces."""

    draw: str
    inputs: tuple[str, ...]
    title: str
    claim: str


PANELS: dict[str, Panel] = {
    "fig1E": Panel(
        "fig1:umap_by_type", ("atlas",), "UMAP of all cells by major type", "8 major cell types"
    ),
    "fig1F": Panel(
        "fig1:marker_dotplot",
        ("atlas", "major_markers"),
        "Marker genes of the major types",
        "each type carries its canonical markers",
    ),
    "fig1G": Panel(
        "fig1:type_proportions",
        ("composition",),
        "Major-type proportions per condition",
        "myeloid share rises control < PMN < MN; T/NK, B and endothelial shares fall",
    ),
    "fig1H": Panel(
        "fig1:tumour_share",
        ("composition",),
        "Tumour-cell share per condition",
        "tumour cells are found in MN livers only",
    ),
}
