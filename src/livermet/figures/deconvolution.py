"""Fig 1I-K and 3F/G: Bisque cell fractions of bulk livers by group (one point per liver)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from livermet import CONDITIONS
from livermet.cell_fractions import compare_groups
from livermet.errors import InputError

TYPE_LABELS = {"TNK": "T/NK"}
GROUP_COLOURS = {"control": "#4C72B0", "PMN": "#DD8452", "MN": "#C44E52"}
NEUTROPHIL_SUBTYPES = ("N0", "N1", "N2", "N3")


def _groups(fractions: pd.DataFrame) -> list[str]:
    """Groups in stage order (control < PMN < MN), then any other group."""
    present = list(dict.fromkeys(fractions["group"].dropna()))
    return [c for c in CONDITIONS if c in present] + [g for g in present if g not in CONDITIONS]


def _strip_box(ax, values: list[np.ndarray], groups: list[str], rng: np.random.Generator) -> None:
    """Boxes without fliers and every sample as a jittered point, coloured by group."""
    ax.boxplot(values, widths=0.55, showfliers=False, medianprops={"color": "black"})
    for i, (group, points) in enumerate(zip(groups, values, strict=True), start=1):
        jitter = rng.uniform(-0.12, 0.12, len(points))
        ax.scatter(i + jitter, points, s=18, color=GROUP_COLOURS.get(group, "grey"), zorder=3)
    ax.set_xticks(range(1, len(groups) + 1), groups)


def _p_text(p: float) -> str:
    return "p = n.a." if not np.isfinite(p) else f"p = {p:.2g}"


def immune_share(
    immune_fractions: pd.DataFrame, immune_tests: pd.DataFrame, cell_type: str
) -> Figure:
    """One immune type's share of immune cells per liver, by group, pooled over the bulk cohorts,
    with the Wilcoxon p of each group against the reference (the paper's Fig 1I-K)."""
    rows = immune_fractions[immune_fractions["cell_type"] == cell_type]
    groups = _groups(rows)
    values = [rows.loc[rows["group"] == g, "proportion"].dropna().to_numpy() * 100 for g in groups]
    fig, ax = plt.subplots(figsize=(3.2, 4))
    _strip_box(ax, values, groups, np.random.default_rng(0))
    tests = immune_tests[immune_tests["cell_type"] == cell_type]
    label = "\n".join(f"{t.group} vs {t.ref}: {_p_text(t.pval)}" for t in tests.itertuples())
    ax.set_title(label, fontsize=8)
    ax.set_ylabel(f"{TYPE_LABELS.get(cell_type, cell_type)} (% of immune cells)")
    n_cohorts = rows["cohort"].nunique()
    ax.set_xlabel(f"bulk livers, {n_cohorts} cohort{'s' if n_cohorts != 1 else ''} (Bisque)")
    fig.tight_layout()
    return fig


def fig1I(immune_fractions: pd.DataFrame, immune_tests: pd.DataFrame) -> Figure:
    """Fig 1I: T/NK cells among immune cells, control vs PMN livers."""
    return immune_share(immune_fractions, immune_tests, "TNK")


def fig1J(immune_fractions: pd.DataFrame, immune_tests: pd.DataFrame) -> Figure:
    """Fig 1J: myeloid cells among immune cells, control vs PMN livers."""
    return immune_share(immune_fractions, immune_tests, "Myeloid")


def fig1K(immune_fractions: pd.DataFrame, immune_tests: pd.DataFrame) -> Figure:
    """Fig 1K: B cells among immune cells, control vs PMN livers."""
    return immune_share(immune_fractions, immune_tests, "B")


def neutrophil_subtypes(fractions: pd.DataFrame, title: str, ref: str = "control") -> Figure:
    """N0-N3 fractions of the neutrophil reference per liver and group, one axis per subtype,
    with the Wilcoxon p of each group against ``ref``."""
    rows = subtype_scope(fractions)
    subtypes = [s for s in NEUTROPHIL_SUBTYPES if s in set(rows["cell_type"])]
    groups = _groups(rows)
    tests = compare_groups(rows, ref) if ref in groups else pd.DataFrame(columns=["cell_type"])
    fig, axes = plt.subplots(1, len(subtypes), figsize=(2.3 * len(subtypes), 3.8), sharey=True)
    rng = np.random.default_rng(0)
    for ax, subtype in zip(np.atleast_1d(axes), subtypes, strict=True):
        part = rows[rows["cell_type"] == subtype]
        values = [
            part.loc[part["group"] == g, "proportion"].dropna().to_numpy() * 100 for g in groups
        ]
        _strip_box(ax, values, groups, rng)
        lines = [
            f"{t.group}: {_p_text(t.pval)}"
            for t in tests[tests["cell_type"] == subtype].itertuples()
        ]
        ax.set_title("\n".join([subtype, *lines]), fontsize=8)
    np.atleast_1d(axes)[0].set_ylabel("% of neutrophils (Bisque)")
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    return fig


def subtype_scope(fractions: pd.DataFrame) -> pd.DataFrame:
    """The rows of the scope made of N0-N3 alone (shares of the neutrophils): a renormalised scope
    when the reference also holds other cells, else scope ``all`` of a neutrophil-only one."""
    for _, rows in fractions.groupby("scope", sort=False):
        if set(rows["cell_type"]) == set(NEUTROPHIL_SUBTYPES):
            return rows
    raise InputError("no scope of the fractions table is made of N0-N3 alone")


def fig3F(neutrophil_fractions_fig2I: pd.DataFrame) -> Figure:
    """Fig 3F: N0-N3 in the livers of the colorectal cancer model (the cohort of Fig 2I)."""
    return neutrophil_subtypes(neutrophil_fractions_fig2I, "CRC orthotopic model livers")


def fig3G(neutrophil_fractions_fig2H: pd.DataFrame) -> Figure:
    """Fig 3G: N0-N3 in the livers of the pancreatic cancer model (the cohort of Fig 2H)."""
    return neutrophil_subtypes(neutrophil_fractions_fig2H, "PDAC intrasplenic model livers")
