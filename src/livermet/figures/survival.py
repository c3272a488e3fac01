"""Fig 3L, S2H-L: overall survival of CRC liver-metastasis patients by N0-N3 fraction and by the N1
signature, and the N1 signature itself."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from livermet.survival import plot_km
from livermet.survival_cohort import EVENT, TIME, is_high


def km_by_variable(patients: pd.DataFrame, cutpoints: pd.DataFrame, variable: str) -> Figure:
    """Kaplan-Meier curves of the high and low groups of one variable at its optimal cut, with
    numbers at risk, log-rank p and Cox HR; the title adds the cut and the maxstat-adjusted p
    (the log-rank p of a chosen cut is optimistic)."""
    row = cutpoints.set_index("variable").loc[variable]
    if not np.isfinite(row["cutpoint"]):
        return _message(f"{variable}: no survival split (no cutpoint: no values or all equal)")
    grouped = patients[patients[f"{variable}_group"].isin(["high", "low"])]
    title = f"{variable}: cut {row['cutpoint']:.3g}, maxstat-adjusted p = {row['adjusted_p']:.2g}"
    return plot_km(
        grouped[TIME].to_numpy(),
        grouped[EVENT].to_numpy(),
        is_high(grouped, variable),
        title=title,
        group_labels=(f"{variable} high", f"{variable} low"),
    )


def _message(text: str) -> Figure:
    fig, ax = plt.subplots(figsize=(5, 2))
    ax.text(0.5, 0.5, text, ha="center", va="center")
    ax.set_axis_off()
    return fig


def fig3L(survival_patients: pd.DataFrame, survival_cutpoints: pd.DataFrame) -> Figure:
    """Fig 3L: survival by N1 fraction."""
    return km_by_variable(survival_patients, survival_cutpoints, "N1")


def figS2H(survival_patients: pd.DataFrame, survival_cutpoints: pd.DataFrame) -> Figure:
    """Fig S2H: survival by N0 fraction."""
    return km_by_variable(survival_patients, survival_cutpoints, "N0")


def figS2I(survival_patients: pd.DataFrame, survival_cutpoints: pd.DataFrame) -> Figure:
    """Fig S2I: survival by N2 fraction."""
    return km_by_variable(survival_patients, survival_cutpoints, "N2")


def figS2J(survival_patients: pd.DataFrame, survival_cutpoints: pd.DataFrame) -> Figure:
    """Fig S2J: survival by N3 fraction."""
    return km_by_variable(survival_patients, survival_cutpoints, "N3")


def figS2K(n1_candidates: pd.DataFrame) -> Figure:
    """Fig S2K: the N1 markers (p < 0.05, log2FC > 2 vs all other cells) against their Cox hazard
    ratio in the survival cohort; the prognostic ones (HR > 1, p < 0.05) are the signature."""
    fig, ax = plt.subplots(figsize=(5.5, 4.5))
    if n1_candidates.empty:
        ax.text(0.5, 0.5, "no N1 marker passed the thresholds", ha="center", va="center")
        ax.set_axis_off()
        return fig
    prognostic = n1_candidates["prognostic"].astype(bool).to_numpy()
    x = n1_candidates["log2fc"].to_numpy()
    y = np.log2(n1_candidates["hr"].to_numpy())
    ax.scatter(x[~prognostic], y[~prognostic], s=14, color="lightgrey", label="N1 marker")
    ax.scatter(
        x[prognostic], y[prognostic], s=22, color="#C0392B", label="N1 signature (HR > 1, p < 0.05)"
    )
    for gene, gx, gy in zip(
        n1_candidates["gene"][prognostic], x[prognostic], y[prognostic], strict=True
    ):
        ax.annotate(gene, (gx, gy), fontsize=7, xytext=(2, 2), textcoords="offset points")
    ax.axhline(0, color="grey", linewidth=0.8, linestyle="--")
    ax.set_xlabel("log2 fold change, N1 vs all other cells (atlas)")
    ax.set_ylabel("log2 hazard ratio per log2 expression (Cox)")
    ax.set_title(
        f"{int(prognostic.sum())} of {len(n1_candidates)} N1 markers predict worse survival",
        fontsize=9,
    )
    ax.legend(frameon=False, fontsize=8, loc="best")
    fig.tight_layout()
    return fig


def figS2L(signature_patients: pd.DataFrame, signature_cutpoints: pd.DataFrame) -> Figure:
    """Fig S2L: survival by N1 signature score (mean z-score of the signature genes)."""
    return km_by_variable(signature_patients, signature_cutpoints, "score")
