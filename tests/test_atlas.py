"""livermet.atlas: the scaled PCA and the kNN graph behind every clustering."""

from __future__ import annotations

import logging
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import scanpy as sc
import scipy.sparse as sp
from sklearn.decomposition import PCA
from sklearn.metrics import adjusted_rand_score, silhouette_score
from sklearn.neighbors import NearestNeighbors

from livermet.atlas import (
    VST_SPANS,
    AtlasSettings,
    atlas_umap,
    leiden_clusters,
    normalise,
    scaled_pca,
    umap_layout,
    vst_variable_genes,
)
from livermet.errors import InputError
from livermet.io import write_h5ad

NEAR_SINGULAR = Path(__file__).parent / "fixtures" / "vst" / "near_singular_counts.npz"


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

    pcs, info = scaled_pca(adata, genes, n_comps=10)

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


@pytest.mark.parametrize("init", ["pca", "spectral"])
def test_the_atlas_umap_from_the_clustered_file_is_the_layout_of_its_graph(tmp_path, init):
    """The UMAP step reads only the graph and the corrected PCs of the clustered atlas, and
    lays out exactly what a UMAP of the in-memory atlas would, from either start."""
    rng = np.random.default_rng(2)
    truth = rng.integers(3, size=600)
    embedding = (rng.normal(0, 8, (3, 10))[truth] + rng.normal(0, 1, (600, 10))).astype(np.float32)
    adata = ad.AnnData(
        X=sp.random(600, 40, density=0.2, format="csr", random_state=0, dtype=np.float32),
        obs=pd.DataFrame(index=[f"c{i}" for i in range(600)]),
        obsm={"X_pca_harmony": embedding},
    )
    settings = AtlasSettings(graph_pcs=10, n_neighbors=15, umap_init=init, seed=7)
    leiden_clusters(adata, settings)
    write_h5ad(adata, tmp_path / "clustered.h5ad")

    table = atlas_umap(str(tmp_path / "clustered.h5ad"), settings)

    umap_layout(adata, settings)
    assert list(table.index) == list(adata.obs_names)
    np.testing.assert_array_equal(table[["UMAP1", "UMAP2"]].to_numpy(), adata.obsm["X_umap"])
    assert silhouette_score(table.to_numpy(), truth) > 0.5  # the three groups lie apart


def test_the_umap_start_is_the_configured_one():
    """umap_init reaches the layout: the PCA and the spectral starts give different layouts."""
    rng = np.random.default_rng(3)
    embedding = rng.normal(0, 1, (300, 10)).astype(np.float32)
    layouts = {}
    for init in ("pca", "spectral"):
        adata = ad.AnnData(obs=pd.DataFrame(index=[f"c{i}" for i in range(300)]))
        adata.obsm["X_pca_harmony"] = embedding
        settings = AtlasSettings(graph_pcs=10, n_neighbors=15, umap_init=init, seed=7)
        leiden_clusters(adata, settings)
        umap_layout(adata, settings)
        layouts[init] = adata.obsm["X_umap"]
    assert not np.allclose(layouts["pca"], layouts["spectral"])


def test_fig1e_draws_every_cell_of_the_cell_table_at_its_umap_position():
    """Fig 1E reads two tables (cell types, UMAP), not the atlas; cells are matched by name."""
    from livermet.figures.fig1 import umap_by_type

    cells = [f"c{i}" for i in range(6)]
    cell_types = pd.DataFrame({"cell": cells, "cell_type": ["TNK", "B", "Myeloid"] * 2})
    layout = pd.DataFrame({"cell": cells[::-1], "UMAP1": range(6), "UMAP2": range(6, 12)})
    fig = umap_by_type(cell_types, layout)
    scatter = fig.axes[0].collections[0]
    points = [tuple(point) for point in np.asarray(scatter.get_offsets()).tolist()]
    assert sorted(points) == [(i, i + 6) for i in range(6)]
    colour = {
        point: tuple(rgba) for point, rgba in zip(points, scatter.get_facecolors(), strict=True)
    }
    # c0 and c3 (T/NK) lie at (5, 11) and (2, 8): one colour, unlike c1 (B) at (4, 10)
    assert colour[(5, 11)] == colour[(2, 8)] != colour[(4, 10)]
    legend = {text.get_text() for text in fig.axes[0].get_legend().get_texts()}
    assert legend == {"T/NK", "B", "Myeloid"}


def near_singular_subset() -> ad.AnnData:
    counts = sp.load_npz(NEAR_SINGULAR).tocsr()
    return ad.AnnData(X=counts.astype(np.float32), layers={"counts": counts})


def test_a_near_singular_vst_fit_is_retried_with_a_wider_span(caplog):
    subset = near_singular_subset()
    with pytest.raises(ValueError, match="near singularities"):  # scanpy at Seurat's span
        sc.pp.highly_variable_genes(
            subset, n_top_genes=50, flavor="seurat_v3", layer="counts", inplace=False
        )
    with caplog.at_level(logging.WARNING, logger="livermet.atlas"):
        genes = vst_variable_genes(subset, 50, 3, "subset neutrophil")
    assert "subset neutrophil: vst loess failed at span 0.3" in caplog.text
    wider = sc.pp.highly_variable_genes(
        subset, n_top_genes=50, flavor="seurat_v3", layer="counts", span=0.5, inplace=False
    )
    assert list(genes) == list(subset.var_names[wider["highly_variable"].to_numpy()])


def test_a_vst_fit_failing_at_every_span_names_the_data(monkeypatch):
    def singular(*args, **kwargs):
        raise ValueError("There are other near singularities as well.")

    monkeypatch.setattr(sc.pp, "highly_variable_genes", singular)
    with pytest.raises(InputError, match=r"subset neutrophil: the vst loess .* every span") as err:
        vst_variable_genes(near_singular_subset(), 50, 3, "subset neutrophil")
    assert str(VST_SPANS) in str(err.value) and "last: There are other near" in str(err.value)
