"""Fig 6A-G, S4A-F: cell-cell contact signalling across stages (CellChat model, livermet.cellchat).

Each panel draws a table that the cellchat comparison step wrote, so no panel reloads the atlas.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from livermet import CONDITIONS

CONDITION_COLOURS = {"control": "#4c72b0", "PMN": "#dd8452", "MN": "#c44e52"}
PVAL_SIZES = (
    (0.01, 90.0, "p < 0.01"),
    (0.05, 45.0, "0.01 <= p < 0.05"),
    (np.inf, 12.0, "p >= 0.05"),
)


def conditions_in(table: pd.DataFrame) -> list[str]:
    """The study's conditions found in a table, in biological order."""
    present = set(table["condition"].astype(str))
    return [condition for condition in CONDITIONS if condition in present]


def interaction_counts_strength(totals: pd.DataFrame) -> Figure:
    """Number and total strength of significant interactions per condition."""
    totals = totals.set_index("condition").reindex(conditions_in(totals))
    colours = [CONDITION_COLOURS.get(c, "grey") for c in totals.index]
    fig, axes = plt.subplots(1, 2, figsize=(6, 3.5))
    for ax, column, label in zip(
        axes,
        ["n_interactions", "strength"],
        ["Number of interactions", "Interaction strength"],
        strict=True,
    ):
        ax.bar(totals.index, totals[column], color=colours)
        for x, value in enumerate(totals[column]):
            ax.text(x, value, f"{value:.3g}", ha="center", va="bottom", fontsize=8)
        ax.set_ylabel(label)
        ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    return fig


def group_count_heatmaps(cellchat_group_counts: pd.DataFrame) -> Figure:
    """Fig 6B: significant interactions sender (rows) -> receiver (columns), one heatmap per
    condition on one colour scale so the MN rise reads directly."""
    counts = cellchat_group_counts
    conditions = conditions_in(counts)
    groups = list(dict.fromkeys(counts["source"]))
    vmax = max(int(counts["count"].max()), 1)
    fig, axes = plt.subplots(
        1, len(conditions), figsize=(3.6 * len(conditions), 3.6), squeeze=False
    )
    for ax, condition in zip(axes[0], conditions, strict=True):
        matrix = (
            counts[counts["condition"] == condition]
            .pivot(index="source", columns="target", values="count")
            .reindex(index=groups, columns=groups)
        )
        image = ax.imshow(matrix.to_numpy(), cmap="Reds", vmin=0, vmax=vmax)
        for (row, col), value in np.ndenumerate(matrix.to_numpy()):
            ax.text(col, row, int(value), ha="center", va="center", fontsize=7)
        ax.set_xticks(range(len(groups)), groups, rotation=90)
        ax.set_yticks(range(len(groups)), groups if ax is axes[0][0] else [])
        ax.set_title(condition)
        ax.set_xlabel("Receiver")
    axes[0][0].set_ylabel("Sender")
    fig.colorbar(image, ax=axes[0].tolist(), shrink=0.7, label="Significant interactions")
    return fig


def bubbles(data: pd.DataFrame, title: str) -> Figure:
    """CellChat-style bubble plot: columns sender -> receiver per condition, rows pairs, colour
    the probability and size the p-value class; absent (prob 0) bubbles are left empty."""
    conditions = conditions_in(data)
    links = list(dict.fromkeys(data["source"] + " -> " + data["target"]))
    columns = [(link, condition) for link in links for condition in conditions]
    rows = sorted(set(data["interaction_name_2"]))
    shown = data[data["prob"] > 0].assign(link=lambda d: d["source"] + " -> " + d["target"])
    x = [
        columns.index((link, c)) for link, c in zip(shown["link"], shown["condition"], strict=True)
    ]
    y = [rows.index(name) for name in shown["interaction_name_2"]]
    sizes = [next(size for bound, size, _ in PVAL_SIZES if p < bound) for p in shown["pval"]]
    fig, ax = plt.subplots(figsize=(1.5 + 0.35 * len(columns), 1.5 + 0.35 * len(rows)))
    points = ax.scatter(
        x, y, c=shown["prob"], s=sizes, cmap="viridis", edgecolors="black", linewidths=0.3
    )
    ax.set_xticks(range(len(columns)), [f"{link} ({c})" for link, c in columns], rotation=90)
    ax.set_yticks(range(len(rows)), rows)
    ax.set_xlim(-0.5, len(columns) - 0.5)
    ax.set_ylim(-0.5, len(rows) - 0.5)
    ax.set_title(title)
    if shown.empty:
        ax.text(0.5, 0.5, "no pair passes the rule", transform=ax.transAxes, ha="center")
    fig.colorbar(points, ax=ax, shrink=0.6, label="Commun. prob.")
    handles = [
        ax.scatter([], [], s=size, color="grey", label=label) for _, size, label in PVAL_SIZES
    ]
    ax.legend(handles=handles, bbox_to_anchor=(1.25, 1), loc="upper left", frameon=False)
    return fig


def expression_dots(expression: pd.DataFrame, title: str) -> Figure:
    """Mean expression (colour) and fraction expressing (size) per gene in group, by condition."""
    conditions = conditions_in(expression)
    table = expression.assign(row=expression["gene"] + " in " + expression["group"])
    rows = list(dict.fromkeys(table["row"]))
    x = [conditions.index(c) for c in table["condition"].astype(str)]
    y = [rows.index(r) for r in table["row"]]
    fig, ax = plt.subplots(figsize=(2.5 + 0.6 * len(conditions), 1.2 + 0.4 * len(rows)))
    points = ax.scatter(
        x,
        y,
        c=table["mean_expression"],
        s=20 + 280 * table["fraction_expressing"],
        cmap="Reds",
        edgecolors="black",
        linewidths=0.3,
    )
    ax.set_xticks(range(len(conditions)), conditions)
    ax.set_yticks(range(len(rows)), rows)
    ax.set_xlim(-0.5, len(conditions) - 0.5)
    ax.set_ylim(len(rows) - 0.5, -0.5)  # first row on top
    ax.set_title(title)
    fig.colorbar(points, ax=ax, shrink=0.7, label="Mean log expression")
    fraction_legend(ax)
    return fig


def fraction_legend(ax) -> None:
    """Dot sizes of the expression panels: the share of a group's cells expressing the gene."""
    handles = [
        ax.scatter([], [], s=20 + 280 * f, color="grey", label=f"{f:.0%}") for f in (0.25, 0.5, 1.0)
    ]
    ax.legend(
        handles=handles,
        title="Expressing",
        bbox_to_anchor=(1.45, 1),
        loc="upper left",
        frameon=False,
    )


def subtype_dots(expression: pd.DataFrame, condition: str, title: str) -> Figure:
    """Mean expression (colour) and fraction expressing (size) per gene (rows) across groups
    (columns) in one condition: which subtype carries a gene."""
    table = expression[expression["condition"].astype(str) == condition]
    genes = list(dict.fromkeys(table["gene"]))
    groups = list(dict.fromkeys(table["group"]))
    fig, ax = plt.subplots(figsize=(2.5 + 0.6 * len(groups), 1.2 + 0.45 * len(genes)))
    points = ax.scatter(
        [groups.index(g) for g in table["group"]],
        [genes.index(g) for g in table["gene"]],
        c=table["mean_expression"],
        s=20 + 280 * table["fraction_expressing"],
        cmap="Reds",
        edgecolors="black",
        linewidths=0.3,
    )
    ax.set_xticks(range(len(groups)), groups, rotation=45, ha="right")
    ax.set_yticks(range(len(genes)), genes)
    ax.set_xlim(-0.5, len(groups) - 0.5)
    ax.set_ylim(len(genes) - 0.5, -0.5)  # first gene on top
    ax.set_title(f"{title} ({condition})")
    if table.empty:
        ax.text(0.5, 0.5, f"no cells in {condition}", transform=ax.transAxes, ha="center")
    fig.colorbar(points, ax=ax, shrink=0.7, label="Mean log expression")
    fraction_legend(ax)
    return fig


def only_genes(expression: pd.DataFrame, *genes: str) -> pd.DataFrame:
    """The rows of an expression table for ``genes``."""
    return expression[expression["gene"].isin(genes)]


def lineage_totals(cellchat_totals: pd.DataFrame) -> Figure:
    """Fig 6A: the totals of the lineage grouping (the one Fig 6 uses)."""
    return interaction_counts_strength(cellchat_totals[cellchat_totals["grouping"] == "lineage"])


def mn_up_bubbles(cellchat_fig6C_bubbles: pd.DataFrame) -> Figure:
    """Fig 6C: pairs up in MN from hepatocytes, macrophages and neutrophils to exhausted T."""
    return bubbles(cellchat_fig6C_bubbles, "Up in MN, to exhausted CD8 T")


def cd274_pdcd1_expression(cellchat_fig6D_expression: pd.DataFrame) -> Figure:
    """Fig 6D: Cd274 in neutrophils, hepatocytes and macrophages; Cd6, Pdcd1 in exhausted T."""
    return expression_dots(cellchat_fig6D_expression, "Cd274 / Pdcd1 axis")


def neutrophil_macrophage_bubbles(cellchat_fig6E_bubbles: pd.DataFrame) -> Figure:
    """Fig 6E: neutrophil -> macrophage pairs up in MN."""
    return bubbles(cellchat_fig6E_bubbles, "Neutrophil -> macrophage, up in MN")


def app_expression(cellchat_fig6F_expression: pd.DataFrame) -> Figure:
    """Fig 6F: App in neutrophils by condition."""
    return expression_dots(cellchat_fig6F_expression, "App in neutrophils")


def cd74_expression(cellchat_fig6G_expression: pd.DataFrame) -> Figure:
    """Fig 6G: Cd74 in macrophages by condition."""
    return expression_dots(cellchat_fig6G_expression, "Cd74 in macrophages")


def subtypes_to_exhausted_bubbles(cellchat_figS4A_bubbles: pd.DataFrame) -> Figure:
    """Fig S4A: pairs up in MN from neutrophil and macrophage subtypes to exhausted T."""
    return bubbles(cellchat_figS4A_bubbles, "Subtypes -> exhausted CD8 T, up in MN")


def neutrophil_subtype_cd274(cellchat_figS4_neutrophil_expression: pd.DataFrame) -> Figure:
    """Fig S4B: Cd274 (and App) across neutrophil subtypes in MN."""
    return subtype_dots(cellchat_figS4_neutrophil_expression, "MN", "Neutrophil subtypes")


def neutrophil_cd274_by_condition(cellchat_figS4_neutrophil_expression: pd.DataFrame) -> Figure:
    """Fig S4C: Cd274 in each neutrophil subtype by condition (progressive rise)."""
    expression = only_genes(cellchat_figS4_neutrophil_expression, "Cd274")
    return expression_dots(expression, "Cd274 in neutrophil subtypes")


def neutrophil_macrophage_subtype_bubbles(cellchat_figS4D_bubbles: pd.DataFrame) -> Figure:
    """Fig S4D: neutrophil subtype -> macrophage subtype pairs up in MN (N1 App -> Cd74)."""
    return bubbles(cellchat_figS4D_bubbles, "Neutrophil -> macrophage subtypes, up in MN")


def macrophage_subtype_cd74_cd274(cellchat_figS4_macrophage_expression: pd.DataFrame) -> Figure:
    """Fig S4E: Cd74 and Cd274 across macrophage subtypes in MN."""
    return subtype_dots(cellchat_figS4_macrophage_expression, "MN", "Macrophage subtypes")


def macrophage_cd74_by_condition(cellchat_figS4_macrophage_expression: pd.DataFrame) -> Figure:
    """Fig S4F: Cd74 in each macrophage subtype by condition (progressive rise in MAC2)."""
    expression = only_genes(cellchat_figS4_macrophage_expression, "Cd74")
    return expression_dots(expression, "Cd74 in macrophage subtypes")
