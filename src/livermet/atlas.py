"""Integration and clustering: the QC'd samples -> one Harmony-corrected, clustered atlas.

Mirrors the paper's Seurat steps with scanpy: normalise to 10,000 per cell and log1p, 4,000
variable genes (Seurat's vst = scanpy's ``seurat_v3``), scale, 50 PCs, Harmony on sample, a k=20
graph on the first 20 corrected PCs, Leiden clusters; the UMAP of that graph separately.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass

import anndata as ad
import harmonypy
import numpy as np
import pandas as pd
import scanpy as sc
import scipy.linalg
import scipy.sparse as sp

from livermet import CONDITIONS
from livermet.errors import InputError
from livermet.numerics import import_umap_with_cached_kernels

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AtlasSettings:
    """Parameters of integration and clustering, defaults as in the paper (or Seurat's)."""

    target_sum: float = 1e4
    n_hvg: int = 4000
    n_pcs: int = 50
    harmony_key: str = "sample"
    graph_pcs: int = 20
    n_neighbors: int = 20
    leiden_resolution: float = 0.8
    umap_min_dist: float = 0.3
    umap_init: str = "pca"
    seed: int = 0


def concatenate_samples(samples: list[ad.AnnData]) -> ad.AnnData:
    """Stack samples on shared genes; ``condition`` stays an ordered categorical."""
    adata = ad.concat(samples, join="inner", merge="same")
    adata.obs["condition"] = pd.Categorical(adata.obs["condition"], CONDITIONS, ordered=True)
    for key in ("sample", "batch"):
        adata.obs[key] = adata.obs[key].astype("category")
    return adata


def normalise(adata: ad.AnnData, target_sum: float) -> None:
    """``X`` = log1p(counts scaled to ``target_sum`` per cell); counts stay in ``layers``."""
    adata.X = adata.layers["counts"].astype(np.float32)
    sc.pp.normalize_total(adata, target_sum=target_sum)
    sc.pp.log1p(adata)


VST_SPANS = (0.3, 0.5, 0.8)
"""Loess spans of the vst fit, tried in turn: Seurat's 0.3 first. Where the fit is near-singular,
R's loess warns and goes on with a pseudoinverse while skmisc's (scanpy's) raises
(scverse/scanpy#1504); a wider span smooths over the near-singular neighbourhood instead."""


def vst_variable_genes(adata: ad.AnnData, n_top: int, min_gene_cells: int, name: str) -> pd.Index:
    """Seurat vst variable genes (scanpy ``seurat_v3`` on ``layers["counts"]``) among the genes
    with counts in at least ``min_gene_cells`` cells.

    A subset of a few hundred cells leaves thousands of genes seen once or twice: they carry no
    variance signal and make the loess singular, so they are left out first. Where the fit is
    still near-singular (a 157-cell neutrophil subset did), the next of :data:`VST_SPANS` is
    tried, with a warning naming ``name``.
    """
    detected = np.asarray((adata.layers["counts"] > 0).sum(axis=0)).ravel() >= min_gene_cells
    candidates = adata[:, detected]
    last_error = None
    for span in VST_SPANS:
        try:
            hvg = sc.pp.highly_variable_genes(
                candidates,
                n_top_genes=min(n_top, candidates.n_vars),
                flavor="seurat_v3",
                layer="counts",
                span=span,
                inplace=False,
            )
            return candidates.var_names[hvg["highly_variable"].to_numpy()]
        except ValueError as error:  # skmisc's loess: "... near singularities ..."
            log.warning("%s: vst loess failed at span %s (%s)", name, span, error)
            last_error = error
    raise InputError(
        f"{name}: the vst loess of variable genes failed at every span {VST_SPANS} "
        f"({candidates.n_obs} cells, {candidates.n_vars} genes); last: {last_error}"
    )


def embed(adata: ad.AnnData, settings: AtlasSettings) -> None:
    """Variable genes, scaled PCA and Harmony; writes ``X_pca`` and ``X_pca_harmony``."""
    genes = vst_variable_genes(adata, settings.n_hvg, 0, "atlas")
    adata.var["highly_variable"] = adata.var_names.isin(genes)
    adata.obsm["X_pca"], adata.uns["pca"] = scaled_pca(adata, genes, settings.n_pcs)
    adata.obsm["X_pca_harmony"] = run_harmony(
        adata.obsm["X_pca"], adata.obs, settings.harmony_key, settings.seed
    )


def scaled_pca(
    adata: ad.AnnData, genes: np.ndarray | pd.Index, n_comps: int
) -> tuple[np.ndarray, dict]:
    """PCs of ``genes`` scaled to unit variance and clipped at 10 (Seurat's ScaleData, RunPCA),
    at most one fewer than cells or genes; returns the PCs and scanpy's ``uns["pca"]``.

    Exact, as ARPACK is: the top eigenvectors of the genes' covariance (:func:`top_eigenvectors`).
    """
    subset = adata[:, genes].X
    scaled = ad.AnnData(subset.toarray() if sp.issparse(subset) else np.array(subset))
    sc.pp.scale(scaled, max_value=10)
    values = scaled.X
    n_comps = min(n_comps, values.shape[0] - 1, values.shape[1] - 1)
    mean = values.mean(axis=0)
    covariance = values.T @ values
    covariance -= values.shape[0] * np.outer(mean, mean)
    covariance /= values.shape[0] - 1
    variance, components = top_eigenvectors(covariance, n_comps)
    pcs = values @ components.T - mean @ components.T
    info = {
        "params": {"zero_center": True, "use_highly_variable": False, "mask_var": None},
        "variance": variance,
        "variance_ratio": variance / np.trace(covariance),
    }
    return pcs, info


def top_eigenvectors(covariance: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``n`` largest eigenvalues of a covariance matrix (descending, negatives from rounding
    set to 0) and their eigenvectors as rows, each signed so that its largest entry is positive
    (scikit-learn's convention for PCA components).

    Only the wanted eigenpairs are computed (LAPACK's MRRR): 3 times faster than the full
    decomposition scikit-learn's ``covariance_eigh`` does, for 50 of 4000 genes; at 45k cells
    that one decomposition was half of the PCA.
    """
    p = covariance.shape[0]
    values, vectors = scipy.linalg.eigh(covariance, subset_by_index=[p - n, p - 1], driver="evr")
    values, rows = np.maximum(values[::-1], 0), vectors[:, ::-1].T
    largest = np.abs(rows).argmax(axis=1)
    rows *= np.sign(rows[np.arange(n), largest])[:, None]
    return values, np.ascontiguousarray(rows)


def run_harmony(pcs: np.ndarray, obs: pd.DataFrame, key: str, seed: int) -> np.ndarray:
    """Harmony through harmonypy directly (2.x returns cells x PCs; scanpy's wrapper assumes
    the 1.x orientation and transposes it wrongly)."""
    corrected = np.asarray(harmonypy.run_harmony(pcs, obs, key, random_state=seed).Z_corr)
    if corrected.shape != pcs.shape:
        corrected = corrected.T
    return corrected.astype(np.float32)


def cluster(adata: ad.AnnData, settings: AtlasSettings) -> None:
    """kNN graph on the first ``graph_pcs`` corrected PCs, Leiden and UMAP."""
    leiden_clusters(adata, settings)
    umap_layout(adata, settings)


def umap_layout(adata: ad.AnnData, settings: AtlasSettings) -> None:
    """UMAP of the kNN graph into ``obsm["X_umap"]``, started from ``settings.umap_init``.

    The default start is the first two principal components of the graph's PCs ("pca", as
    uwot and umap-learn offer it), not scanpy's spectral embedding: on the 45k-cell atlas the
    spectral start of the many-component graph took 9.9 of the layout's 50.8 s, and the
    clusters lie as far apart either way (silhouette of the Leiden clusters 0.77 and 0.76)."""
    import_umap_with_cached_kernels()
    sc.tl.umap(
        adata,
        min_dist=settings.umap_min_dist,
        init_pos=settings.umap_init,
        random_state=settings.seed,
    )


def atlas_umap(path: str, settings: AtlasSettings) -> pd.DataFrame:
    """UMAP of a clustered atlas file (:func:`build_atlas`'s output) as a table: cell, UMAP1, UMAP2.

    The layout is drawn only in figures, so it is its own step, beside annotation rather than
    before it: umap-learn lays out with one thread when seeded (45k cells, 2 cores: 55 s, half of
    the integration). Only the graph and the corrected PCs are read, not the expression matrix."""
    clustered = ad.read_h5ad(path, backed="r")
    graph = ad.AnnData(
        obs=clustered.obs[[]],
        obsm={"X_pca_harmony": clustered.obsm["X_pca_harmony"]},
        obsp=dict(clustered.obsp),
        uns={"neighbors": clustered.uns["neighbors"]},
    )
    clustered.file.close()
    umap_layout(graph, settings)
    return pd.DataFrame(graph.obsm["X_umap"], index=graph.obs_names, columns=["UMAP1", "UMAP2"])


def leiden_clusters(adata: ad.AnnData, settings: AtlasSettings) -> None:
    """kNN graph on the corrected PCs (at most ``graph_pcs``) and Leiden clusters in
    ``obs["leiden"]``; no UMAP, for callers that only need the clusters.

    The kNN search is exact (scikit-learn, brute force), as scanpy's own below 8192 cells; above,
    scanpy's default pynndescent is approximate and numba compiles it in every fresh process
    (44k cells, 2 cores: neighbours 20 s against 60 s, Leiden ARI 0.9996 between the two).
    """
    import_umap_with_cached_kernels()  # scanpy weighs the graph with umap's kernels
    sc.pp.neighbors(
        adata,
        use_rep="X_pca_harmony",
        n_pcs=min(settings.graph_pcs, adata.obsm["X_pca_harmony"].shape[1]),
        n_neighbors=settings.n_neighbors,
        transformer="sklearn",
        random_state=settings.seed,
    )
    sc.tl.leiden(
        adata,
        resolution=settings.leiden_resolution,
        flavor="igraph",
        n_iterations=-1,
        directed=False,
        random_state=settings.seed,
    )


def build_atlas(samples: list[ad.AnnData], settings: AtlasSettings) -> ad.AnnData:
    """The whole integration stage but the UMAP (:func:`atlas_umap`); parameters as run are kept
    in ``uns["atlas"]``."""
    adata = concatenate_samples(samples)
    log.info("atlas: %d cells x %d genes from %d samples", *adata.shape, len(samples))
    normalise(adata, settings.target_sum)
    embed(adata, settings)
    leiden_clusters(adata, settings)
    adata.uns["atlas"] = asdict(settings)
    log.info("atlas: %d Leiden clusters", adata.obs["leiden"].nunique())
    return adata
