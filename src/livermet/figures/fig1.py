"""Fig 1E-H: the liver atlas by major type and its composition across stages."""

from __future__ import annotations

from typing import TYPE_CHECKING

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.figure import Figure

from livermet import CONDITIONS

if TYPE_CHECKING:
    import anndata as ad

TYPE_LABELS = {"TNK": "T/NK"}


def umap_by_type(cell_types: pd.DataFrame, atlas_umap: pd.DataFrame) -> Figure:
    """Fig 1E: UMAP (the atlas_umap table: cell, UMAP1, UMAP2) coloured by major cell type (the
    annotation's cell table), without reading the atlas's expression."""
    import anndata as ad
    import scanpy as sc  # here, not above: most panels of this module draw from tables

    labels = cell_types.set_index("cell")["cell_type"].astype(str).replace(TYPE_LABELS)
    cells = ad.AnnData(obs=pd.DataFrame({"cell_type": pd.Categorical(labels)}, index=labels.index))
    cells.obsm["X_umap"] = atlas_umap.set_index("cell").loc[cells.obs_names].to_numpy()
    fig, ax = plt.subplots(figsize=(6, 5))
    sc.pl.umap(cells, color="cell_type", ax=ax, show=False, frameon=False, title="Cell type")
    return fig


def marker_dotplot(atlas: ad.AnnData, major_markers: dict) -> Figure:
    """Fig 1F: dot plot of each type's markers (mean expression and fraction expressing)."""
    import scanpy as sc

    genes = {
        TYPE_LABELS.get(name, name): [g for g in entry["markers"] if g in atlas.var_names]
        for name, entry in major_markers.items()
    }
    plot = sc.pl.dotplot(
        atlas, genes, groupby="cell_type", standard_scale="var", return_fig=True, show=False
    )
    plot.make_figure()
    return plot.fig


def mean_proportions(composition: pd.DataFrame) -> pd.DataFrame:
    """Conditions x types table of the mean of per-sample proportions (each animal counts once)."""
    table = composition.pivot_table(
        index="condition", columns="cell_type", values="proportion", aggfunc="mean"
    )
    return table.reindex([c for c in CONDITIONS if c in table.index])


def type_proportions(composition: pd.DataFrame) -> Figure:
    """Fig 1G: stacked bars of major-type proportions per condition."""
    table = mean_proportions(composition).rename(columns=TYPE_LABELS)
    fig, ax = plt.subplots(figsize=(5, 5))
    table.plot.bar(stacked=True, ax=ax, colormap="tab20", width=0.8, rot=0)
    ax.set_ylabel("Proportion of cells")
    ax.set_xlabel("")
    ax.legend(bbox_to_anchor=(1.02, 1), loc="upper left", frameon=False)
    return fig


def tumour_share(composition: pd.DataFrame) -> Figure:
    """Fig 1H: tumour-cell share per condition, mean bar with one point per animal."""
    tumour = composition[composition["cell_type"] == "Tumour"]
    fig, ax = plt.subplots(figsize=(3.5, 4))
    conditions = [c for c in CONDITIONS if c in set(composition["condition"])]
    means = tumour.groupby("condition")["proportion"].mean().reindex(conditions, fill_value=0)
    ax.bar(range(len(conditions)), 100 * means.to_numpy(), color="#c44e52", alpha=0.7)
    for i, condition in enumerate(conditions):
        points = tumour.loc[tumour["condition"] == condition, "proportion"]
        ax.scatter([i] * len(points), 100 * points, color="black", s=15, zorder=3)
    ax.set_xticks(range(len(conditions)), conditions)
    ax.set_ylabel("Tumour cells (% of all cells)")
    return fig
