"""DE inside lineages: Fig 4F (heatmap), 4G/4H/5E (enrichment bubbles), 4J (detection diagonal),
5D (volcano) and S2A-F (N1 vs N3 marker comparison).

Panel families, each a function returning a Figure: :func:`top_up_heatmap`,
:func:`enrichment_bubble`, :func:`detection_diagonal`, :func:`marker_dotplot`,
:func:`marker_violin`; the volcano is Fig 2's :func:`livermet.figures.fig2.volcano_figure`. The
``fig4F`` ... ``figS2F`` functions bind them to the stage outputs that
:data:`livermet.panels.PANELS` names (tables of :mod:`livermet.lineage_de` and
:mod:`livermet.enrichment`, lineage subsets of the subclustering stage).
"""

from __future__ import annotations

import textwrap
from typing import TYPE_CHECKING

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import scipy.sparse as sp
from matplotlib.colors import ListedColormap, TwoSlopeNorm
from matplotlib.figure import Figure

from livermet import CONDITIONS
from livermet.errors import InputError
from livermet.figures.fig2 import paper_method, volcano_classes, volcano_figure

if TYPE_CHECKING:
    import anndata as ad

HEATMAP_CLIP = 2.5
"""Scaled expression shown within +-2.5, as Seurat's DoHeatmap (disp.min/disp.max)."""
N1_N3_MARKERS = ("Prok2", "Retnlg", "Mmp8", "Ltf", "Camp", "Ngp")
"""Fig S2A-F genes named in the text: N1 and N3 share Retnlg and Mmp8, N3 has more Ltf and Camp
(and Ngp, the third granule protein of immature neutrophils), N1 more Prok2."""
SUBTYPE_COLOURS = ("#d62728", "#1f77b4")
CONDITION_COLOURS = {"control": "#4c72b0", "PMN": "#dd8452", "MN": "#c44e52"}


def _message_figure(title: str, message: str) -> Figure:
    """A panel that states why there is nothing to draw (a comparison too small to test)."""
    fig, ax = plt.subplots(figsize=(5, 3))
    ax.text(0.5, 0.5, message, ha="center", va="center", wrap=True, transform=ax.transAxes)
    ax.set_title(title)
    ax.set_axis_off()
    return fig


def top_up_genes(de: pd.DataFrame, n_genes: int = 40) -> list[str]:
    """The first ``n_genes`` up genes (p < 0.05, log2FC > 1) in FindMarkers order, as Fig 2."""
    classes = volcano_classes(de, n_top=n_genes)
    top = de[classes == "top_up"]
    return top.sort_values(["pval", "log2fc", "gene"], ascending=[True, False, True])[
        "gene"
    ].tolist()


def _cells_in_order(subset: ad.AnnData, groups: list[str]) -> np.ndarray:
    """Indices of the cells of ``groups``, by group, then condition, then cell name."""
    obs = subset.obs
    order = pd.DataFrame(
        {
            "group": obs["subtype"].astype(str).map({g: i for i, g in enumerate(groups)}),
            "condition": obs["condition"].astype(str).map({c: i for i, c in enumerate(CONDITIONS)}),
            "name": obs.index.astype(str),
            "position": np.arange(subset.n_obs),
        }
    ).dropna(subset=["group"])
    return order.sort_values(["group", "condition", "name"])["position"].to_numpy()


def scaled_expression(subset: ad.AnnData, genes: list[str], cells: np.ndarray) -> np.ndarray:
    """Genes x cells of log-normalised X, z-scored per gene over ``cells`` and clipped."""
    matrix = subset[cells, genes].X
    values = np.asarray(matrix.todense() if sp.issparse(matrix) else matrix, dtype=float).T
    sd = values.std(axis=1, keepdims=True)
    scaled = (values - values.mean(axis=1, keepdims=True)) / np.where(sd > 0, sd, 1)
    return np.clip(scaled, -HEATMAP_CLIP, HEATMAP_CLIP)


def top_up_heatmap(
    subset: ad.AnnData, de: pd.DataFrame, group: str, reference: str, n_genes: int = 40
) -> Figure:
    """Scaled expression of the top up genes of ``group`` vs ``reference`` in every cell of both.

    Cells are columns, ordered by subtype then condition (bars on top); genes by log2FC.
    """
    title = f"Top {n_genes} genes up in {group} vs {reference}"
    genes = [g for g in top_up_genes(de, n_genes) if g in subset.var_names]
    if not genes:
        return _message_figure(title, "no gene with p < 0.05 and log2FC > 1")
    genes = de.set_index("gene").loc[genes, "log2fc"].sort_values(ascending=False).index.tolist()
    cells = _cells_in_order(subset, [group, reference])
    values = scaled_expression(subset, genes, cells)
    obs = subset.obs.iloc[cells]
    fig, axes = plt.subplots(
        3,
        1,
        figsize=(7, 1 + 0.16 * len(genes)),
        gridspec_kw={"height_ratios": [0.6, 0.6, len(genes)], "hspace": 0.05},
    )
    bars = (
        (obs["subtype"].astype(str) == reference).astype(int).to_numpy(),
        obs["condition"].astype(str).map({c: i for i, c in enumerate(CONDITIONS)}).to_numpy(),
    )
    cmaps = (
        ListedColormap(SUBTYPE_COLOURS),
        ListedColormap([CONDITION_COLOURS[c] for c in CONDITIONS]),
    )
    for ax, bar, cmap, label in zip(axes[:2], bars, cmaps, ("subtype", "condition"), strict=True):
        ax.imshow(bar[None, :], aspect="auto", cmap=cmap, vmin=0, vmax=cmap.N - 1)
        ax.set_xticks([])
        ax.set_yticks([0], [label], fontsize=7)
    image = axes[2].imshow(
        values, aspect="auto", cmap="RdBu_r", vmin=-HEATMAP_CLIP, vmax=HEATMAP_CLIP
    )
    axes[2].set_yticks(range(len(genes)), genes, fontsize=6)
    n_group = int((obs["subtype"].astype(str) == group).sum())
    axes[2].set_xticks(
        [n_group / 2, n_group + (len(cells) - n_group) / 2],
        [f"{group} ({n_group})", f"{reference} ({len(cells) - n_group})"],
    )
    axes[2].axvline(n_group - 0.5, color="black", lw=0.8)
    handles = [plt.Rectangle((0, 0), 1, 1, color=CONDITION_COLOURS[c], label=c) for c in CONDITIONS]
    axes[1].legend(
        handles=handles, fontsize=7, frameon=False, loc="upper left", bbox_to_anchor=(1.01, 3)
    )
    fig.colorbar(image, ax=axes, shrink=0.4, label="scaled expression")
    axes[0].set_title(title, loc="left")
    return fig


def _term_label(term: str, width: int = 45) -> str:
    """Readable term: collection prefix dropped (HALLMARK_, GOBP_, KEGG_), underscores to spaces."""
    for prefix in ("HALLMARK_", "GOBP_", "GOCC_", "GOMF_", "KEGG_", "REACTOME_"):
        if term.startswith(prefix):
            term = term[len(prefix) :].replace("_", " ")
            break
    return "\n".join(textwrap.wrap(term, width)) or term


def top_terms(table: pd.DataFrame, n_terms: int = 10) -> pd.DataFrame:
    """The ``n_terms`` terms of smallest p-value (ties by term), as the Fig 4G legend."""
    return table.sort_values(["pval", "term"], kind="mergesort").head(n_terms)


def enrichment_bubble(table: pd.DataFrame, title: str, n_terms: int = 10) -> Figure:
    """Bubble plot of the top terms: x gene ratio, size gene count, colour adjusted p."""
    if table.empty:
        return _message_figure(title, "no term holds an up gene (or no up gene)")
    if "collection" in table:
        title = f"{title} ({table['collection'].iloc[0]})"
    shown = top_terms(table, n_terms).sort_values(["gene_ratio", "pval"], ascending=[True, False])
    fig, ax = plt.subplots(figsize=(6.5, 0.45 * len(shown) + 1.5))
    sizes = 30 + 220 * shown["count"] / shown["count"].max()
    points = ax.scatter(
        shown["gene_ratio"],
        range(len(shown)),
        s=sizes,
        c=shown["padj"],
        cmap="RdBu",
        edgecolors="black",
        linewidths=0.4,
    )
    ax.set_yticks(range(len(shown)), [_term_label(t) for t in shown["term"]], fontsize=7)
    ax.set_ylim(-0.7, len(shown) - 0.3)
    span = shown["gene_ratio"].max() - shown["gene_ratio"].min()
    pad = 0.1 * span if span > 0 else 0.05
    ax.set_xlim(max(0, shown["gene_ratio"].min() - pad), shown["gene_ratio"].max() + pad)
    ax.set_xlabel("Gene ratio")
    ax.set_title(title)
    fig.colorbar(points, ax=ax, shrink=0.5, label="adjusted p")
    for count in sorted({int(shown["count"].min()), int(shown["count"].max())}):
        ax.scatter(
            [], [], s=30 + 220 * count / shown["count"].max(), color="grey", label=str(count)
        )
    ax.legend(
        title="Count",
        frameon=False,
        fontsize=7,
        title_fontsize=7,
        bbox_to_anchor=(1.02, 0),
        loc="lower left",
    )
    return fig


def detection_diagonal(
    de: pd.DataFrame, group: str, reference: str, n_label: int = 10, p_max: float = 0.05
) -> Figure:
    """Percentage of cells expressing each gene in ``reference`` (x) and ``group`` (y).

    Colour: the difference (group - reference, percentage points); the ``n_label`` genes of
    largest difference each way among those with p < ``p_max`` are labelled.
    """
    pct_group, pct_ref = 100 * de["pct_group"].to_numpy(), 100 * de["pct_ref"].to_numpy()
    diff = pct_group - pct_ref
    limit = max(np.abs(diff).max(), 1.0)
    fig, ax = plt.subplots(figsize=(5.5, 5))
    order = np.argsort(np.abs(diff))
    points = ax.scatter(
        pct_ref[order],
        pct_group[order],
        c=diff[order],
        cmap="RdBu_r",
        norm=TwoSlopeNorm(0, -limit, limit),
        s=8,
        linewidths=0,
    )
    ax.plot([0, 100], [0, 100], color="black", lw=0.6, ls="--")
    significant = de["pval"].to_numpy() < p_max
    for direction in (1, -1):
        candidates = np.flatnonzero(significant & (direction * diff > 0))
        for row in candidates[np.argsort(-direction * diff[candidates])][:n_label]:
            ax.annotate(
                de["gene"].iloc[row],
                (pct_ref[row], pct_group[row]),
                xytext=(3, 2),
                textcoords="offset points",
                fontsize=6,
            )
    ax.set_xlim(0, 100)
    ax.set_ylim(0, 100)
    ax.set_xlabel(f"% of {reference} cells expressing")
    ax.set_ylabel(f"% of {group} cells expressing")
    ax.set_title(f"{group} vs {reference}")
    fig.colorbar(points, ax=ax, shrink=0.6, label=f"% difference ({group} - {reference})")
    return fig


def _named_subtypes(subset: ad.AnnData) -> ad.AnnData:
    """The subset without its Unassigned cells, subtypes in their category order."""
    named = subset[subset.obs["subtype"].astype(str) != "Unassigned"].copy()
    subtype = named.obs["subtype"].astype("category")
    named.obs["subtype"] = subtype.cat.remove_unused_categories()
    return named


def _check_genes(subset: ad.AnnData, genes: list[str]) -> None:
    missing = [g for g in genes if g not in subset.var_names]
    if missing:
        raise InputError(f"gene(s) {missing} not in the lineage subset")


def comparison_genes(de: pd.DataFrame, markers: tuple[str, ...], n_top: int = 5) -> dict:
    """Dot-plot gene groups: the named markers, then the top up and top down genes of ``de``."""
    de = de.sort_values(["pval", "gene"], kind="mergesort")
    contrast = de["contrast"].iloc[0] if len(de) else "group_vs_reference"
    group, reference = contrast.split("_vs_")
    taken = set(markers)
    groups = {"markers": list(markers)}
    for label, rows in (
        (f"up in {group}", de["log2fc"] > 0),
        (f"up in {reference}", de["log2fc"] < 0),
    ):
        genes = [g for g in de.loc[rows, "gene"] if g not in taken][:n_top]
        taken.update(genes)
        groups[label] = genes
    return groups


def marker_dotplot(subset: ad.AnnData, de: pd.DataFrame, markers=N1_N3_MARKERS) -> Figure:
    """Dot plot over the subtypes of the named markers and the top DE genes of ``de``."""
    import scanpy as sc  # here, not above: most panels of this module draw from tables

    named = _named_subtypes(subset)
    groups = comparison_genes(de, tuple(markers))
    groups = {k: [g for g in v if g in named.var_names] for k, v in groups.items()}
    plot = sc.pl.dotplot(
        named,
        {k: v for k, v in groups.items() if v},
        groupby="subtype",
        standard_scale="var",
        return_fig=True,
        show=False,
    )
    plot.make_figure()
    return plot.fig


def marker_violin(subset: ad.AnnData, gene: str) -> Figure:
    """Violins of one gene's log-normalised expression per subtype."""
    import scanpy as sc

    named = _named_subtypes(subset)
    _check_genes(named, [gene])
    fig, ax = plt.subplots(figsize=(4, 3.5))
    sc.pl.violin(named, gene, groupby="subtype", ax=ax, show=False, stripplot=False)
    ax.set_title(gene)
    ax.set_xlabel("")
    ax.set_ylabel("log-normalised expression")
    return fig


def fig4F(subset_macrophage: ad.AnnData, lineage_de_Kupffer2_vs_Kupffer3: pd.DataFrame) -> Figure:
    """Fig 4F: the top 40 genes up in Kupffer2 vs Kupffer3, in every cell of the two."""
    return top_up_heatmap(
        subset_macrophage, lineage_de_Kupffer2_vs_Kupffer3, "Kupffer2", "Kupffer3"
    )


def fig4G(enrichment_fig4G: pd.DataFrame) -> Figure:
    """Fig 4G: GO enrichment of the genes up in Kupffer2 vs Kupffer3."""
    return enrichment_bubble(enrichment_fig4G, "Up in Kupffer2 vs Kupffer3")


def fig4H(enrichment_fig4H: pd.DataFrame) -> Figure:
    """Fig 4H: KEGG enrichment of the genes up in Kupffer2 vs Kupffer3."""
    return enrichment_bubble(enrichment_fig4H, "Up in Kupffer2 vs Kupffer3")


def fig4J(lineage_de_MAC2_vs_MAC1: pd.DataFrame) -> Figure:
    """Fig 4J: detection in MAC2 against MAC1, the difference highlighted."""
    return detection_diagonal(lineage_de_MAC2_vs_MAC1, "MAC2", "MAC1")


def fig5D(lineage_de_CD8_exhausted_MN_vs_control: pd.DataFrame) -> Figure:
    """Fig 5D: exhausted CD8 T cells, MN vs control (the paper's cell-level Wilcoxon)."""
    title = "CD8 exhausted T: MN vs control"
    rows = paper_method(lineage_de_CD8_exhausted_MN_vs_control)
    if rows.empty:
        return _message_figure(title, "too few cells to test (see the rule's log)")
    return volcano_figure(rows, title)


def fig5E(enrichment_fig5E: pd.DataFrame) -> Figure:
    """Fig 5E: GO enrichment of the genes up in MN vs control exhausted CD8 T cells."""
    return enrichment_bubble(enrichment_fig5E, "Up in MN vs control CD8 exhausted T")


def figS2A(subset_neutrophil: ad.AnnData, lineage_de_N1_vs_N3: pd.DataFrame) -> Figure:
    """Fig S2A: the N1/N3 markers and the top N1 vs N3 genes across N0-N3."""
    return marker_dotplot(subset_neutrophil, lineage_de_N1_vs_N3)


def figS2B(subset_neutrophil: ad.AnnData) -> Figure:
    """Fig S2B: Retnlg, high in N1 and N3."""
    return marker_violin(subset_neutrophil, "Retnlg")


def figS2C(subset_neutrophil: ad.AnnData) -> Figure:
    """Fig S2C: Mmp8, high in N1 and N3."""
    return marker_violin(subset_neutrophil, "Mmp8")


def figS2D(subset_neutrophil: ad.AnnData) -> Figure:
    """Fig S2D: Ltf, higher in N3 than N1."""
    return marker_violin(subset_neutrophil, "Ltf")


def figS2E(subset_neutrophil: ad.AnnData) -> Figure:
    """Fig S2E: Camp, higher in N3 than N1."""
    return marker_violin(subset_neutrophil, "Camp")


def figS2F(subset_neutrophil: ad.AnnData) -> Figure:
    """Fig S2F: Prok2, higher in N1."""
    return marker_violin(subset_neutrophil, "Prok2")
