"""Marker tests on a few cells per group: what the atlas annotation and the deconvolution
reference both need, an all-gene Wilcoxon of each group against the rest.

The all-gene test is the expensive step at atlas scale (82 s on 37 clusters of 54k cells), and a
group's top markers are stable well below a thousand cells, so both callers test a seeded
subsample of at most ``max_per_group`` cells of each group.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:  # anndata is imported where an AnnData is made: the figure jobs need none
    import anndata as ad


def subsample_per_group(labels: pd.Series, max_per_group: int, seed: int) -> np.ndarray:
    """Sorted positions of at most ``max_per_group`` cells of each category of ``labels``, drawn
    with ``seed`` (category by category, in the categories' order)."""
    rng = np.random.default_rng(seed)
    return np.sort(
        np.concatenate(
            [
                rng.permutation(np.flatnonzero(labels == group))[:max_per_group]
                for group in labels.cat.categories
            ]
        )
    )


def wilcoxon_table(adata: ad.AnnData, groupby: str, **options) -> pd.DataFrame:
    """``sc.tl.rank_genes_groups(method="wilcoxon", **options)`` as one long table with a
    ``group`` column, which scanpy leaves out when a single group was tested."""
    import scanpy as sc  # here: the figure jobs that import the callers' helpers need not load it

    sc.tl.rank_genes_groups(adata, groupby, method="wilcoxon", **options)
    table = sc.get.rank_genes_groups_df(adata, group=None)
    if "group" not in table:
        tested = options.get("groups")
        only = tested[0] if tested not in (None, "all") else adata.obs[groupby].cat.categories[0]
        table.insert(0, "group", only)
    return table
