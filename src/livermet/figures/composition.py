"""Fig 3C, 3E, 4D, 5C: subtype shares of a lineage per condition, with the composition test.

One small plot per subtype: the mean share per condition as a bar, each animal as a point (every
animal counts once), and the FDR of the overall test across conditions (the propeller F test
when the table has it) in the plot's title.
"""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from livermet import CONDITIONS, OVERALL

CONDITION_COLOURS = {"control": "#4c72b0", "PMN": "#dd8452", "MN": "#c44e52"}
METHOD_LABELS = {"propeller": "propeller F", "wilcoxon_cells": "cell Kruskal-Wallis"}


def overall_fdr(tests: pd.DataFrame, key: str = "subtype") -> tuple[pd.Series, str]:
    """FDR of the overall test per label, from propeller when present, and the method used."""
    methods = list(dict.fromkeys(tests["method"]))
    method = "propeller" if "propeller" in methods else methods[0]
    rows = tests[(tests["method"] == method) & (tests["contrast"] == OVERALL)]
    return rows.set_index(rows[key].astype(str))["fdr"], method


def composition_figure(
    composition: pd.DataFrame, tests: pd.DataFrame, lineage: str, key: str = "subtype"
) -> Figure:
    """Small multiples of per-animal shares (points) and condition means (bars), with FDRs."""
    composition = composition.assign(**{key: composition[key].astype(str)})
    labels = list(dict.fromkeys(composition[key]))
    conditions = [c for c in CONDITIONS if c in set(composition["condition"])]
    fdr, method = overall_fdr(tests, key)
    ncols = min(len(labels), 5)
    nrows = math.ceil(len(labels) / ncols)
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(2.1 * ncols, 2.5 * nrows), squeeze=False, layout="constrained"
    )
    for ax, label in zip(axes.flat, labels, strict=False):
        _draw_label(ax, composition[composition[key] == label], conditions)
        value = fdr.get(label, np.nan)
        ax.set_title(f"{label}\nFDR {value:.2g}" if np.isfinite(value) else f"{label}\nnot tested")
    for ax in axes.flat[len(labels) :]:
        ax.set_visible(False)
    for ax in axes[:, 0]:
        ax.set_ylabel(f"% of {lineage} cells")
    fig.suptitle(f"Subtypes of {lineage} cells per condition ({METHOD_LABELS[method]} FDR)")
    return fig


def _draw_label(ax, rows: pd.DataFrame, conditions: list[str]) -> None:
    """Bars of the mean share per condition and one point per animal."""
    share = 100 * rows.groupby("condition")["proportion"].mean().reindex(conditions)
    ax.bar(
        range(len(conditions)),
        share.to_numpy(),
        color=[CONDITION_COLOURS[c] for c in conditions],
        alpha=0.6,
        width=0.7,
    )
    for i, condition in enumerate(conditions):
        points = 100 * rows.loc[rows["condition"] == condition, "proportion"].to_numpy()
        offsets = np.linspace(-0.12, 0.12, len(points)) if len(points) > 1 else [0.0]
        ax.scatter(i + np.asarray(offsets), points, color="black", s=12, zorder=3)
    ax.set_xticks(range(len(conditions)), conditions, rotation=45)
    ax.set_ylim(bottom=0)
    ax.spines[["top", "right"]].set_visible(False)


def fig3C(composition_myeloid: pd.DataFrame, composition_test_myeloid: pd.DataFrame) -> Figure:
    """Fig 3C: myeloid lineages (neutrophils, macrophages, monocytes, DCs, basophils)."""
    return composition_figure(composition_myeloid, composition_test_myeloid, "myeloid")


def fig3E(
    composition_neutrophil: pd.DataFrame, composition_test_neutrophil: pd.DataFrame
) -> Figure:
    """Fig 3E: neutrophil subtypes N0-N3."""
    return composition_figure(composition_neutrophil, composition_test_neutrophil, "neutrophil")


def fig4D(
    composition_macrophage: pd.DataFrame, composition_test_macrophage: pd.DataFrame
) -> Figure:
    """Fig 4D: Kupffer1-3 and MAC1-3."""
    return composition_figure(composition_macrophage, composition_test_macrophage, "macrophage")


def fig5C(composition_tnk: pd.DataFrame, composition_test_tnk: pd.DataFrame) -> Figure:
    """Fig 5C: T/NK subtypes."""
    return composition_figure(composition_tnk, composition_test_tnk, "T/NK")
