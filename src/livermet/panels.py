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
    **{
        f"fig2{letter}": Panel(
            f"fig2:fig2{letter}",
            (f"hepatocyte_de_{contrast}",),
            f"Hepatocyte DE volcano, {contrast.replace('_', ' ')}",
            claim,
        )
        for letter, contrast, claim in (
            ("A", "PMN_vs_control", "Saa1, Saa2, Orm1, Orm2, Lcn2 and Cxcl1 up in PMN hepatocytes"),
            ("B", "MN_vs_control", "S100a8, S100a9, Cxcl2 and Cxcl10 up in MN hepatocytes"),
            ("C", "MN_vs_PMN", "inflammatory chemokines further up in MN than PMN"),
        )
    },
    **{
        f"fig2{letter}": Panel(
            f"fig2:fig2{letter}",
            (f"hepatocyte_gsea_{contrast}",),
            f"Hepatocyte hallmark GSEA, {contrast.replace('_', ' ')}",
            claim,
        )
        for letter, contrast, claim in (
            ("D", "PMN_vs_control", "IL-6/JAK/STAT3 and TNF-a/NF-kB up, bile acid metabolism down"),
            ("E", "MN_vs_control", "inflammatory hallmarks up, bile acid metabolism down in MN"),
            ("F", "MN_vs_PMN", "IL-6/JAK/STAT3 and TNF-a/NF-kB stronger in MN than PMN"),
        )
    },
    **{
        f"fig2{letter}": Panel(
            f"fig2:fig2{letter}",
            (f"bulk_de_fig2{letter}",),
            f"Bulk livers, {model}: PMN vs control",
            "Saa1, Saa2, Orm1, Orm2, Lcn2 and Cxcl1 up in PMN livers",
        )
        for letter, model in (
            ("G", "PDAC orthotopic (KPC)"),
            ("H", "PDAC intrasplenic"),
            ("I", "CRC orthotopic"),
        )
    },
}
