"""livermet.atlas: the scaled PCA and the kNN graph behind every clustering."""

from __future__ import annotations

import anndata as ad
import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.decomposition import PCA
from sklearn.metrics import adjusted_rand_score
from sklearn.neighbors import NearestNeighbors

from livermet.atlas import AtlasSettings, leiden_clusters, normalise, scaled_pca


def test_scaled_pca_is_the_exact_pca_of_the_clipped_scaled_genes():
    # Seurat's ScaleData clips at 10; rare genes (5 of 800 cells) exceed it, so the clipping
    # changes the PCs and a solver that ignored it would fail here
    rng = np.random.default_rng(0)
    groups = rng.integers(3, size=800)
    rate = rng.lognormal(0, 1, (3, 120))
    rate[:, :5] = 0.01
    counts = rng.poisson(rate[groups] * 2)
    counts[:5, :5] += rng.poisson(30, (5, 5))
    adata = ad.AnnData(X=sp.csr_matrix(counts.astype(np.float32)))
    adata.layers["counts"] = adata.X.copy()
    normalise(adata, 1e4)
    genes = np.ones(adata.n_vars, dtype=bool)

    pcs, info = scaled_pca(adata, genes, n_comps=10, seed=0)

    dense = adata.X.toarray()
    z = (dense - dense.mean(0)) / dense.std(0, ddof=1)
    assert z.max() > 10
    expected = PCA(10, svd_solver="arpack", random_state=0).fit_transform(np.minimum(z, 10))
    signs = np.sign((pcs * expected).sum(0))
    np.testing.assert_allclose(pcs * signs, expected, rtol=0, atol=1e-3 * np.abs(expected).max())
    unclipped = PCA(10, svd_solver="arpack", random_state=0).fit_transform(z)
    assert np.abs(np.abs(unclipped) - np.abs(pcs)).max() > 0.1
    assert len(info["variance_ratio"]) == 10


def test_the_graph_is_the_exact_knn_above_scanpys_dense_limit():
    # scanpy searches exactly only below 8192 cells; above, its default (pynndescent) is
    # approximate, so exact neighbours at 9000 cells show the exact search is used
    rng = np.random.default_rng(1)
    truth = rng.integers(4, size=9000)
    centres = rng.normal(0, 6, (4, 10))
    embedding = (centres[truth] + rng.normal(0, 1, (9000, 10))).astype(np.float32)
    adata = ad.AnnData(
        obs=pd.DataFrame(index=[f"c{i}" for i in range(9000)]),
        obsm={"X_pca_harmony": embedding},
    )

    leiden_clusters(adata, AtlasSettings(graph_pcs=10, n_neighbors=15, leiden_resolution=0.1))

    graph = adata.obsp["distances"].tocsr()
    _, exact = NearestNeighbors(n_neighbors=15).fit(embedding).kneighbors(embedding)
    found = [set(graph[i].indices) | {i} for i in range(adata.n_obs)]
    assert all(found[i] == set(exact[i]) for i in range(adata.n_obs))
    assert adjusted_rand_score(truth, adata.obs["leiden"]) > 0.95
