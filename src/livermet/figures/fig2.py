"""Fig 2: hepatocyte DE volcanos (A-C), hallmark GSEA (D-F) and bulk PMN-liver volcanos (G-I).

Two panel families, each a function returning a Figure: :func:`volcano_figure` and
:func:`nes_barplot`. The ``fig2A`` ... ``fig2I`` functions bind them to the named stage outputs
that :data:`livermet.panels.PANELS` passes (one table per panel).

Colours follow the Fig 2 legend: red = the top ``n_top`` up genes (labelled), orange = p < 0.05 and
log2FC > 1, blue = p < 0.05 and log2FC < -1, grey otherwise. "Top" ranks the orange genes by
log2FC: cell-level Wilcoxon p-values underflow to 0 for hundreds of genes, so they cannot rank.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

VOLCANO_STYLE = {  # class: (colour, legend label, drawing order)
    "ns": ("#b0b0b0", "ns", 0),
    "down": ("#1f5fbf", "down", 1),
    "up": ("#f28e2b", "up", 2),
    "top_up": ("#d62728", "top {n} up", 3),
}
PAPER_DE_METHOD = "wilcoxon"  # Fig 2A-C: Seurat FindMarkers, a cell-level Wilcoxon test


def volcano_classes(
    de: pd.DataFrame, n_top: int = 20, p_max: float = 0.05, lfc_min: float = 1.0
) -> pd.Series:
    """Class of each row (index of ``de``): ``top_up``, ``up``, ``down`` or ``ns``.

    The top up genes are the first ``n_top`` up genes in Seurat's FindMarkers order (p-value,
    ties broken by the larger log2FC): ranking by log2FC alone would crown lowly expressed genes
    whose fold changes are noise.
    """
    significant = de["pval"] < p_max
    classes = pd.Series("ns", index=de.index)
    classes[significant & (de["log2fc"] < -lfc_min)] = "down"
    up = significant & (de["log2fc"] > lfc_min)
    classes[up] = "up"
    ranked = de[up].sort_values(["pval", "log2fc", "gene"], ascending=[True, False, True])
    classes[ranked.index[:n_top]] = "top_up"
    return classes


def volcano_figure(
    de: pd.DataFrame, title: str, n_top: int = 20, p_max: float = 0.05, lfc_min: float = 1.0
) -> Figure:
    """Volcano of one contrast (columns gene, log2fc, pval) with the top up genes labelled."""
    classes = volcano_classes(de, n_top, p_max, lfc_min)
    neg_log_p = -np.log10(np.clip(de["pval"].to_numpy(dtype=float), 1e-300, 1))
    fig, ax = plt.subplots(figsize=(5, 5))
    for name, (colour, label, order) in VOLCANO_STYLE.items():
        rows = (classes == name).to_numpy()
        if rows.any():
            ax.scatter(
                de["log2fc"].to_numpy()[rows],
                neg_log_p[rows],
                s=6 if name == "ns" else 10,
                color=colour,
                zorder=order,
                linewidths=0,
                label=f"{label.format(n=n_top)} ({rows.sum()})",
            )
    for row in np.flatnonzero((classes == "top_up").to_numpy()):
        ax.annotate(
            de["gene"].iloc[row],
            (de["log2fc"].iloc[row], neg_log_p[row]),
            xytext=(3, 2),
            textcoords="offset points",
            fontsize=6,
            zorder=4,
        )
    ax.axhline(-np.log10(p_max), color="black", lw=0.5, ls="--")
    for x in (-lfc_min, lfc_min):
        ax.axvline(x, color="black", lw=0.5, ls="--")
    ax.set_xlabel("log2 fold change")
    ax.set_ylabel("-log10 p")
    ax.set_title(title)
    ax.legend(frameon=False, fontsize=7, loc="upper left")
    return fig


def nes_barplot(gsea: pd.DataFrame, title: str, fdr_max: float = 0.05, n_terms: int = 20) -> Figure:
    """Horizontal NES bars of the terms with FDR <= ``fdr_max`` (red up, blue down).

    At most ``n_terms`` terms, those of largest absolute NES, so a panel stays legible.
    """
    passed = gsea[gsea["fdr"] <= fdr_max]
    shown = passed.reindex(passed["nes"].abs().sort_values(ascending=False).index[:n_terms])
    shown = shown.sort_values("nes")
    labels = shown["term"].str.replace("HALLMARK_", "", regex=False).str.replace("_", " ")
    fig, ax = plt.subplots(figsize=(6, 0.3 * max(len(shown), 3) + 1))
    colours = np.where(shown["nes"] > 0, "#d62728", "#1f5fbf")
    ax.barh(range(len(shown)), shown["nes"], color=colours)
    ax.set_yticks(range(len(shown)), labels, fontsize=7)
    ax.axvline(0, color="black", lw=0.5)
    ax.set_xlabel("NES")
    ax.set_title(title)
    if shown.empty:
        ax.text(0.5, 0.5, f"no term with FDR <= {fdr_max}", transform=ax.transAxes, ha="center")
    return fig


def paper_method(de: pd.DataFrame) -> pd.DataFrame:
    """The rows of the paper's DE test from a :mod:`livermet.de` table."""
    return de[de["method"] == PAPER_DE_METHOD]


def fig2A(hepatocyte_de_PMN_vs_control: pd.DataFrame) -> Figure:
    """Fig 2A: hepatocytes, PMN vs control."""
    return volcano_figure(paper_method(hepatocyte_de_PMN_vs_control), "Hepatocytes: PMN vs control")


def fig2B(hepatocyte_de_MN_vs_control: pd.DataFrame) -> Figure:
    """Fig 2B: hepatocytes, MN vs control."""
    return volcano_figure(paper_method(hepatocyte_de_MN_vs_control), "Hepatocytes: MN vs control")


def fig2C(hepatocyte_de_MN_vs_PMN: pd.DataFrame) -> Figure:
    """Fig 2C: hepatocytes, MN vs PMN."""
    return volcano_figure(paper_method(hepatocyte_de_MN_vs_PMN), "Hepatocytes: MN vs PMN")


def fig2D(hepatocyte_gsea_PMN_vs_control: pd.DataFrame) -> Figure:
    """Fig 2D: hallmark GSEA of hepatocytes, PMN vs control."""
    return nes_barplot(hepatocyte_gsea_PMN_vs_control, "Hallmarks, hepatocytes: PMN vs control")


def fig2E(hepatocyte_gsea_MN_vs_control: pd.DataFrame) -> Figure:
    """Fig 2E: hallmark GSEA of hepatocytes, MN vs control."""
    return nes_barplot(hepatocyte_gsea_MN_vs_control, "Hallmarks, hepatocytes: MN vs control")


def fig2F(hepatocyte_gsea_MN_vs_PMN: pd.DataFrame) -> Figure:
    """Fig 2F: hallmark GSEA of hepatocytes, MN vs PMN."""
    return nes_barplot(hepatocyte_gsea_MN_vs_PMN, "Hallmarks, hepatocytes: MN vs PMN")


def fig2G(bulk_de_fig2G: pd.DataFrame) -> Figure:
    """Fig 2G: bulk liver, PMN of the KPC pancreatic cancer model vs control (GSE109480)."""
    return volcano_figure(bulk_de_fig2G, "Bulk liver, PDAC (KPC) PMN vs control")


def fig2H(bulk_de_fig2H: pd.DataFrame) -> Figure:
    """Fig 2H: bulk liver, PMN of the intrasplenic pancreatic cancer model (PRJNA590588)."""
    return volcano_figure(bulk_de_fig2H, "Bulk liver, intrasplenic PMN vs control")


def fig2I(bulk_de_fig2I: pd.DataFrame) -> Figure:
    """Fig 2I: bulk liver, PMN of the orthotopic colorectal cancer model vs sham (GSE147044).

    The legend of this panel shows the top 19 up genes.
    """
    return volcano_figure(bulk_de_fig2I, "Bulk liver, CRC orthotopic PMN vs sham", n_top=19)
