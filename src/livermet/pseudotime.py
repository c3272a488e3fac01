"""Diffusion pseudotime within a lineage and the subtype and condition mix along it (Fig 3I, 3J,
4E).

The paper orders cells with Monocle3, rooted in the subtype it reads as earliest: N3 (Ltf/Camp
high, bone-marrow-like) for neutrophils, Kupffer3 and MAC3 for macrophages. Here the ordering is
diffusion pseudotime (DPT; Haghverdi et al., Nat Methods 2016) from scanpy on the lineage's own
kNN graph (the one the subclustering stored; rebuilt on ``X_pca_harmony`` if absent):

1. ``sc.tl.diffmap`` gives ``n_dcs`` diffusion components, all used for the distance as by
   ``sc.tl.dpt(n_dcs=...)``; column 0 of ``X_diffmap`` is the stationary (trivial) one, so DC1 is
   column 1.
2. The root of a root subtype is, as in the scanpy recipe, an extreme cell of DC1: the cell of
   that subtype lying furthest along DC1 on the side where the subtype's median lies relative to
   all cells. An extreme cell is a tip of the diffusion map, so every other cell is downstream of
   it; a cell in the middle of its cluster would give a pseudotime that runs both ways.
3. Pseudotime is the DPT distance from the root (``Neighbors.distances_dpt``, the distance
   ``sc.tl.dpt`` uses). With several roots (Kupffer3 and MAC3), as with Monocle3's several root
   nodes, a cell's pseudotime is its distance from the nearest root. Distances are divided by the
   largest finite one, as ``sc.tl.dpt`` does, so pseudotime runs 0..1; cells in a graph component
   without a root have no pseudotime (NaN).

Bins (Fig 3I, 3J) are equal-width pseudotime intervals on 0..1. For each bin the table gives each
subtype's and each condition's cell count, its share of the bin (Fig 3I: the subtype mix along
pseudotime) and its share of its own group (Fig 3J: where along pseudotime each condition's cells
lie, independent of how many cells each condition has).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import anndata as ad
import numpy as np
import pandas as pd
import scanpy as sc

from livermet.errors import InputError
from livermet.numerics import import_umap_with_cached_kernels

log = logging.getLogger(__name__)

CELL_COLUMNS = ["cell", "sample", "condition", "subtype", "pseudotime", "is_root", "dc1", "dc2"]
BIN_COLUMNS = [
    "kind",
    "group",
    "bin",
    "bin_start",
    "bin_end",
    "n_cells",
    "share_of_bin",
    "share_of_group",
]


def ensure_graph(
    adata: ad.AnnData, n_neighbors: int, n_pcs: int, seed: int, use_rep: str = "X_pca_harmony"
) -> None:
    """Keep the stored lineage kNN graph; build one on ``use_rep`` only when there is none."""
    if "neighbors" in adata.uns and "connectivities" in adata.obsp:
        return
    if use_rep not in adata.obsm:
        raise InputError(f"AnnData has no kNN graph and no obsm[{use_rep!r}] to build one from")
    n_pcs = min(n_pcs, adata.obsm[use_rep].shape[1])
    log.info("no stored kNN graph: building one on %s (%d dims, k=%d)", use_rep, n_pcs, n_neighbors)
    import_umap_with_cached_kernels()
    sc.pp.neighbors(
        adata,
        n_neighbors=n_neighbors,
        n_pcs=n_pcs,
        use_rep=use_rep,
        transformer="sklearn",  # exact, as in livermet.atlas.leiden_clusters
        random_state=seed,
    )


def root_cell(dc1: np.ndarray, in_root: np.ndarray) -> int:
    """Index of the root-subtype cell at the end of DC1 on the side where that subtype lies."""
    side = 1.0 if np.median(dc1[in_root]) >= np.median(dc1) else -1.0
    candidates = np.flatnonzero(in_root)
    return int(candidates[np.argmax(side * dc1[candidates])])


def diffusion_pseudotime(
    adata: ad.AnnData,
    root_subtypes: Sequence[str],
    n_dcs: int = 10,
    n_neighbors: int = 20,
    n_pcs: int = 20,
    seed: int = 0,
    subtype_key: str = "subtype",
) -> pd.DataFrame:
    """Per-cell table: cell, sample, condition, subtype, pseudotime (0..1), is_root, dc1, dc2.

    ``adata`` gains ``obsm["X_diffmap"]`` (and a kNN graph if it had none).
    """
    _check_obs(adata, ["sample", "condition", subtype_key])
    subtypes = adata.obs[subtype_key].astype(str).to_numpy()
    if not root_subtypes:
        raise InputError("no pseudotime root subtype given (config pseudotime.roots)")
    absent = [s for s in root_subtypes if s not in set(subtypes)]
    if absent:
        raise InputError(
            f"pseudotime root subtype(s) {absent} not found among "
            f"obs[{subtype_key!r}] values {sorted(set(subtypes))}"
        )
    if n_dcs < 3:
        raise InputError(f"pseudotime.n_dcs must be at least 3, got {n_dcs}")
    if adata.n_obs <= n_dcs:
        raise InputError(f"{adata.n_obs} cells: too few for {n_dcs} diffusion components")
    ensure_graph(adata, n_neighbors, n_pcs, seed)
    sc.tl.diffmap(adata, n_comps=n_dcs, random_state=seed)
    dcs = adata.obsm["X_diffmap"]
    roots = [root_cell(dcs[:, 1], subtypes == s) for s in root_subtypes]
    distance = _nearest_root_distance(adata, roots, n_dcs)
    finite = np.isfinite(distance)
    pseudotime = np.where(finite, distance / distance[finite].max(), np.nan)
    if (~finite).any():
        log.info("%d cells are in graph components without a root: no pseudotime", (~finite).sum())
    for subtype, root in zip(root_subtypes, roots, strict=True):
        log.info("root of %s: cell %s (DC1 %.4g)", subtype, adata.obs_names[root], dcs[root, 1])
    table = pd.DataFrame(
        {
            "cell": adata.obs_names.astype(str),
            "sample": adata.obs["sample"].astype(str).to_numpy(),
            "condition": adata.obs["condition"].astype(str).to_numpy(),
            "subtype": subtypes,
            "pseudotime": pseudotime,
            "is_root": np.isin(np.arange(adata.n_obs), roots),
            "dc1": dcs[:, 1],
            "dc2": dcs[:, 2],
        }
    )
    medians = table.groupby("subtype")["pseudotime"].median().sort_values()
    log.info("median pseudotime per subtype: %s", medians.round(3).to_dict())
    return table[CELL_COLUMNS]


def _nearest_root_distance(adata: ad.AnnData, roots: Sequence[int], n_dcs: int) -> np.ndarray:
    """DPT distance of every cell from its nearest root (scanpy's ``distances_dpt`` rows)."""
    neighbors = sc.Neighbors(adata, n_dcs=n_dcs)
    rows = np.vstack([np.asarray(neighbors.distances_dpt[root], dtype=float) for root in roots])
    return rows.min(axis=0)


def _check_obs(adata: ad.AnnData, keys: Sequence[str]) -> None:
    missing = [k for k in keys if k not in adata.obs]
    if missing:
        raise InputError(f"AnnData obs lacks column(s) {missing}")


def pseudotime_bins(
    cells: pd.DataFrame, n_bins: int, group_orders: dict[str, Sequence[str]] | None = None
) -> pd.DataFrame:
    """Counts and shares of each subtype and condition in equal-width pseudotime bins.

    ``group_orders`` fixes the order (and completeness) of the groups of each kind, e.g. all
    three conditions even where one has no cells; groups absent from it follow, sorted. Every
    bin x group pair has a row (zeros included). Cells without pseudotime are left out.
    """
    if n_bins < 1:
        raise InputError(f"pseudotime.n_bins must be at least 1, got {n_bins}")
    timed = cells.dropna(subset=["pseudotime"])
    if timed.empty:
        raise InputError("no cell has a pseudotime to bin")
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    bin_of = np.clip(np.digitize(timed["pseudotime"].to_numpy(), edges[1:-1]), 0, n_bins - 1)
    blocks = []
    for kind, column in (("subtype", "subtype"), ("condition", "condition")):
        order = _group_order(timed[column], (group_orders or {}).get(kind, ()))
        counts = pd.crosstab(pd.Categorical(bin_of, categories=range(n_bins)), timed[column])
        counts = counts.reindex(index=range(n_bins), columns=order, fill_value=0)
        long = counts.stack().rename("n_cells").reset_index()
        long.columns = ["bin", "group", "n_cells"]
        bin_total = long.groupby("bin")["n_cells"].transform("sum")
        group_total = long.groupby("group")["n_cells"].transform("sum")
        long["share_of_bin"] = (long["n_cells"] / bin_total.replace(0, np.nan)).fillna(0.0)
        long["share_of_group"] = (long["n_cells"] / group_total.replace(0, np.nan)).fillna(0.0)
        long["kind"] = kind
        blocks.append(long)
    table = pd.concat(blocks, ignore_index=True)
    table["bin_start"] = edges[table["bin"]]
    table["bin_end"] = edges[table["bin"] + 1]
    table["bin"] = table["bin"] + 1
    return table[BIN_COLUMNS]


def _group_order(values: pd.Series, preferred: Sequence[str]) -> list[str]:
    present = set(values.astype(str))
    return [*preferred, *sorted(present - set(preferred))]
