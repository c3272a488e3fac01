"""Fig 3M, 5F-I and S3: the N1 signature in human neutrophils and the patient-level shares of CRC
liver metastases (tables of :mod:`livermet.human`)."""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from livermet.human_plan import GROUPS

GROUP_LABELS = {
    "liver_normal": "Liver normal",
    "liver_tumour": "Liver tumour",
    "pbmc_normal": "PBMC normal",
    "pbmc_tumour": "PBMC tumour",
}
GROUP_COLOURS = {
    "liver_normal": "#4c72b0",
    "liver_tumour": "#c44e52",
    "pbmc_normal": "#8172b3",
    "pbmc_tumour": "#dd8452",
}
MAIN_PAIRS = {
    "fig5F": ("N1", "CD8_exhausted"),
    "fig5G": ("Kupffer2", "CD8_exhausted"),
    "fig5H": ("N1", "Kupffer2"),
    "fig5I": ("N1", "MAC2"),
}
SHARE_LABELS = {"N1": "N1-like neutrophils", "CD8_exhausted": "CD8 exhausted T"}


def _p(value: float) -> str:
    return f"{value:.2g}" if np.isfinite(value) else "n/a"


def fig3M(human_scores: pd.DataFrame, human_tests: pd.DataFrame) -> Figure:
    """N1 signature score of neutrophils per group: violins of cells, one point per donor mean,
    and per tissue the cell-level Wilcoxon and the donor-level Welch t p-values."""
    groups = [g for g in GROUPS if g in set(human_scores["group"])]
    fig, ax = plt.subplots(figsize=(1.4 * len(groups) + 1.5, 3.6), layout="constrained")
    values = [human_scores.loc[human_scores["group"] == g, "score"].to_numpy() for g in groups]
    parts = ax.violinplot(values, showmedians=True, showextrema=False)
    for body, group in zip(parts["bodies"], groups, strict=True):
        body.set_facecolor(GROUP_COLOURS[group])
        body.set_alpha(0.5)
    donors = human_scores.groupby(["group", "dataset", "donor"], observed=True)["score"].mean()
    for k, group in enumerate(groups, start=1):
        means = donors[group].to_numpy() if group in donors.index else np.array([])
        ax.scatter(np.full(len(means), k), means, s=14, color="black", zorder=3)
    ax.set_xticks(range(1, len(groups) + 1))
    ax.set_xticklabels(
        [f"{GROUP_LABELS[g]}\n(n = {len(v)})" for g, v in zip(groups, values, strict=True)],
        fontsize=8,
    )
    ax.set_ylabel("N1 signature score")
    ax.set_title(_test_caption(human_tests), fontsize=8)
    fig.suptitle("N1 signature in human neutrophils (points: donor means)")
    return fig


def _test_caption(tests: pd.DataFrame) -> str:
    lines = []
    for tissue, rows in tests.groupby("tissue", sort=False):
        p = rows.set_index("method")["pval"]
        lines.append(
            f"{tissue} tumour vs normal: cells Wilcoxon p {_p(p.get('wilcoxon_cells', np.nan))}, "
            f"donor means Welch t p {_p(p.get('welch_donor_means', np.nan))}"
        )
    return "\n".join(lines)


def pair_figure(shares: pd.DataFrame, correlations: pd.DataFrame, x: str, y: str) -> Figure:
    """Share of ``y`` in patients with a low and a high share of ``x`` (median split): bars of
    the mean, one point per patient, the Wilcoxon p and Spearman's rho and p."""
    wide = _wide(shares)
    fig, ax = plt.subplots(figsize=(3.0, 3.4), layout="constrained")
    stats = _pair_row(correlations, x, y)
    if x in wide and y in wide:
        both = wide[[x, y]].dropna()
        high = both[x] > both[x].median()
        for k, mask in enumerate((~high, high)):
            share = 100 * both.loc[mask, y]
            ax.bar(k, share.mean() if len(share) else 0, color="#c44e52" if k else "#4c72b0")
            jitter = np.linspace(-0.15, 0.15, len(share)) if len(share) > 1 else [0.0]
            ax.scatter(k + np.asarray(jitter), share, s=12, color="black", zorder=3)
        ax.set_xticks([0, 1])
        ax.set_xticklabels([f"{_label(x)}\nlow", f"{_label(x)}\nhigh"], fontsize=8)
    ax.set_ylabel(f"% {_label(y)}")
    ax.set_title(
        f"Wilcoxon p {_p(stats['wilcoxon_p'])}\n"
        f"Spearman rho {_fmt(stats['rho'])}, p {_p(stats['p'])} (n = {stats['n_patients']})",
        fontsize=8,
    )
    return fig


def _wide(shares: pd.DataFrame) -> pd.DataFrame:
    return shares.pivot_table(
        index=["dataset", "donor"], columns="population", values="share", dropna=False
    )


def _pair_row(correlations: pd.DataFrame, x: str, y: str) -> dict:
    rows = correlations[(correlations["x"] == x) & (correlations["y"] == y)]
    if rows.empty:
        return {"wilcoxon_p": np.nan, "rho": np.nan, "p": np.nan, "n_patients": 0}
    return rows.iloc[0].to_dict()


def _label(name: str) -> str:
    return SHARE_LABELS.get(name, name)


def _fmt(value: float) -> str:
    return f"{value:.2f}" if np.isfinite(value) else "n/a"


def fig5F(human_shares: pd.DataFrame, human_correlations: pd.DataFrame) -> Figure:
    return pair_figure(human_shares, human_correlations, *MAIN_PAIRS["fig5F"])


def fig5G(human_shares: pd.DataFrame, human_correlations: pd.DataFrame) -> Figure:
    return pair_figure(human_shares, human_correlations, *MAIN_PAIRS["fig5G"])


def fig5H(human_shares: pd.DataFrame, human_correlations: pd.DataFrame) -> Figure:
    return pair_figure(human_shares, human_correlations, *MAIN_PAIRS["fig5H"])


def fig5I(human_shares: pd.DataFrame, human_correlations: pd.DataFrame) -> Figure:
    return pair_figure(human_shares, human_correlations, *MAIN_PAIRS["fig5I"])


def figS3(human_shares: pd.DataFrame, human_correlations: pd.DataFrame) -> Figure:
    """Every configured pair besides Fig 5F-I's: patient shares of x against y, with Spearman's
    rho and p and the high/low Wilcoxon p."""
    main = set(MAIN_PAIRS.values())
    pairs = [
        (x, y)
        for x, y in zip(human_correlations["x"], human_correlations["y"], strict=True)
        if (x, y) not in main
    ] or list(zip(human_correlations["x"], human_correlations["y"], strict=True))
    wide = _wide(human_shares)
    ncols = min(len(pairs), 5) or 1
    nrows = max(math.ceil(len(pairs) / ncols), 1)
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(2.4 * ncols, 2.4 * nrows), squeeze=False, layout="constrained"
    )
    for ax, (x, y) in zip(axes.flat, pairs, strict=False):
        if x in wide and y in wide:
            both = wide[[x, y]].dropna()
            ax.scatter(100 * both[x], 100 * both[y], s=12, color="black")
        stats = _pair_row(human_correlations, x, y)
        ax.set_xlabel(f"% {_label(x)}", fontsize=8)
        ax.set_ylabel(f"% {_label(y)}", fontsize=8)
        ax.set_title(
            f"rho {_fmt(stats['rho'])}, p {_p(stats['p'])}\nWilcoxon p {_p(stats['wilcoxon_p'])}",
            fontsize=7,
        )
    for ax in axes.flat[len(pairs) :]:
        ax.set_visible(False)
    fig.suptitle("Patient-level shares in CRC liver metastases (one point per patient)")
    return fig
