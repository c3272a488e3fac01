"""Fig 3A/B/D, 4A-C, 5A/B: the subclustered lineages, their UMAPs and marker genes."""

from __future__ import annotations

import anndata as ad
import matplotlib.pyplot as plt
import pandas as pd
import scanpy as sc
from matplotlib.figure import Figure

UNASSIGNED = "Unassigned"


def subtype_umap(subset: ad.AnnData, title: str) -> Figure:
    """A lineage's own UMAP coloured by the subtype names given."""
    fig, ax = plt.subplots(figsize=(6, 5))
    sc.pl.umap(subset, color="subtype", ax=ax, show=False, frameon=False, title=title)
    return fig


def named_cells(subset: ad.AnnData) -> ad.AnnData:
    """The cells that carry a subtype name (dot plots leave out ``Unassigned``)."""
    named = subset[subset.obs["subtype"] != UNASSIGNED].copy()
    named.obs["subtype"] = named.obs["subtype"].cat.remove_unused_categories()
    return named


def marker_set_dotplot(subset: ad.AnnData, marker_sets: dict) -> Figure:
    """Dot plot of each subtype's curated markers (mean expression and fraction expressing)."""
    named = named_cells(subset)
    present = set(named.obs["subtype"].cat.categories)
    genes = {
        name: [gene for gene in entry["markers"] if gene in named.var_names]
        for name, entry in marker_sets.items()
        if name in present
    }
    plot = sc.pl.dotplot(
        named, genes, groupby="subtype", standard_scale="var", return_fig=True, show=False
    )
    plot.make_figure()
    return plot.fig


def top_marker_dotplot(subset: ad.AnnData, markers: pd.DataFrame, n_genes: int = 5) -> Figure:
    """Dot plot of the top ``n_genes`` Wilcoxon markers of each subtype (up genes only)."""
    named = named_cells(subset)
    up = markers[markers["log2fc"] > 0]
    genes = {
        group: list(table["gene"].head(n_genes))
        for group, table in up.groupby("group", sort=False)
        if group in set(named.obs["subtype"])
    }
    plot = sc.pl.dotplot(
        named, genes, groupby="subtype", standard_scale="var", return_fig=True, show=False
    )
    plot.make_figure()
    return plot.fig


def fig3A(subset_myeloid: ad.AnnData) -> Figure:
    """Fig 3A: myeloid cells by lineage."""
    return subtype_umap(subset_myeloid, "Myeloid cells")


def fig3B(subset_myeloid: ad.AnnData, marker_sets_myeloid: dict) -> Figure:
    """Fig 3B: markers of the seven myeloid lineages."""
    return marker_set_dotplot(subset_myeloid, marker_sets_myeloid)


def fig3D(subset_neutrophil: ad.AnnData) -> Figure:
    """Fig 3D: neutrophils by subtype N0-N3."""
    return subtype_umap(subset_neutrophil, "Neutrophils")


def fig4A(subset_macrophage: ad.AnnData) -> Figure:
    """Fig 4A: macrophages by subtype."""
    return subtype_umap(subset_macrophage, "Macrophages")


def fig4B(subset_macrophage: ad.AnnData, marker_sets_macrophage: dict) -> Figure:
    """Fig 4B: Kupffer-cell and macrophage markers per macrophage subtype."""
    return marker_set_dotplot(subset_macrophage, marker_sets_macrophage)


def fig4C(subset_macrophage: ad.AnnData, subset_markers_macrophage: pd.DataFrame) -> Figure:
    """Fig 4C: top 5 markers of each macrophage subtype."""
    return top_marker_dotplot(subset_macrophage, subset_markers_macrophage)


def fig5A(subset_tnk: ad.AnnData) -> Figure:
    """Fig 5A: T/NK cells by subtype."""
    return subtype_umap(subset_tnk, "T/NK cells")


def fig5B(subset_tnk: ad.AnnData, marker_sets_tnk: dict) -> Figure:
    """Fig 5B: markers of the nine T/NK subtypes."""
    return marker_set_dotplot(subset_tnk, marker_sets_tnk)
