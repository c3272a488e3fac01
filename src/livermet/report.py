"""What the HTML report (``snakemake --report``) shows beside the figures: the figure index, the
grouping of panels by paper figure, and tab-separated tables rendered as HTML pages.

Everything is derived from :data:`livermet.panels.PANELS`, so a panel registered there gets its
report entry, its caption text and its index row without another list to keep in step.
"""

from __future__ import annotations

import html
from collections.abc import Mapping

import pandas as pd

from livermet.errors import InputError
from livermet.panels import PANELS
from livermet.scorecard import NOT_REPRODUCED, NOT_TESTABLE, PANEL_PATTERN, REPRODUCED

INDEX_COLUMNS = ("panel", "figure", "title", "claim", "rule", "target", "inputs")
VERDICT_COLOURS = {REPRODUCED: "#d9f2d9", NOT_REPRODUCED: "#f8d7d7", NOT_TESTABLE: "#eeeeee"}


def panel_figure(panel: str) -> str:
    """The paper figure of a panel name: ``fig1G`` -> ``Figure 1``, ``figS2K`` -> ``Figure S2``."""
    match = PANEL_PATTERN.match(panel)
    if not match:
        raise InputError(f"panel {panel!r} is not named like fig1G or figS2K")
    return f"Figure {match.group(1)}"


def panel_category(wildcards) -> str:
    """Report category of a figure job: its paper figure (Snakemake ``report(category=...)``)."""
    return panel_figure(wildcards.panel)


def panel_labels(wildcards) -> dict[str, str]:
    """Columns the report shows for a figure job's result: panel and title."""
    return {"panel": wildcards.panel, "title": PANELS[wildcards.panel].title}


def figure_index(inputs: Mapping[str, str]) -> pd.DataFrame:
    """One row per registered panel: its paper figure, title, paper claim, the rule and target
    that draw it, and the stage-output files it reads (``inputs``: stage-output name -> file)."""
    rows = []
    for panel, spec in PANELS.items():
        missing = [name for name in spec.inputs if name not in inputs]
        if missing:
            raise InputError(f"panel {panel}: no file for stage output(s) {', '.join(missing)}")
        rows.append(
            {
                "panel": panel,
                "figure": panel_figure(panel),
                "title": spec.title,
                "claim": spec.claim,
                "rule": "figure",
                "target": f"results/figures/{panel}.pdf",
                "inputs": ";".join(inputs[name] for name in spec.inputs),
            }
        )
    return pd.DataFrame(rows, columns=list(INDEX_COLUMNS))


def table_html(table: pd.DataFrame, title: str, source: str) -> str:
    """A self-contained HTML page showing ``table`` (the report displays HTML results inline);
    rows with a scorecard ``verdict`` are coloured by it. The same table gives the same bytes."""
    styled = table.style.hide(axis="index").set_uuid("livermet")
    if "verdict" in table.columns:
        styled = styled.apply(_verdict_colours, axis=1)
    styled = styled.format(precision=4, na_rep="").set_table_styles(
        [
            {"selector": "", "props": "border-collapse: collapse; font-size: 0.85em;"},
            {"selector": "th, td", "props": "border: 1px solid #bbb; padding: 2px 6px;"},
            {"selector": "th", "props": "background: #f0f0f0; text-align: left;"},
        ]
    )
    counts = ""
    if "verdict" in table.columns:
        tally = table["verdict"].value_counts()
        counts = "<p>" + ", ".join(f"{v}: {tally.get(v, 0)}" for v in VERDICT_COLOURS) + "</p>"
    return (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title></head>\n<body style='font-family: sans-serif'>"
        f"<h3>{html.escape(title)}</h3><p>{len(table)} rows, from <code>{html.escape(source)}"
        f"</code></p>{counts}\n{styled.to_html()}\n</body></html>\n"
    )


def _verdict_colours(row: pd.Series) -> list[str]:
    colour = VERDICT_COLOURS.get(row["verdict"], "")
    return [f"background-color: {colour}" if colour else ""] * len(row)
