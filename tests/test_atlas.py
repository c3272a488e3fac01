"""livermet.atlas: the scaled PCA and the kNN graph behind every clustering."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import anndata as ad
import h5py
import numpy as np
import pandas as pd
import pytest
import scanpy as sc
import scipy.sparse as sp
from sklearn.decomposition import PCA
from sklearn.metrics import adjusted_rand_score, silhouette_score
from sklearn.neighbors import NearestNeighbors

from livermet import atlas, io
from livermet.atlas import (
    VST_SPANS,
    AtlasSettings,
    atlas_umap,
    build_atlas,
    concatenate_samples,
    leiden_clusters,
    log_normalised,
    normalise,
    scaled_pca,
    scaled_pca_of_blocks,
    umap_layout,
    vst_gene_positions,
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


def test_a_graph_above_the_exact_limit_is_pynndescents_the_same_in_every_run():
    rng = np.random.default_rng(1)
    truth = rng.integers(4, size=3000)
    # 20 dimensions: pynndescent misses ~1 % of the exact neighbours (~0.1 % in 10)
    embedding = (rng.normal(0, 3, (4, 20))[truth] + rng.normal(0, 1, (3000, 20))).astype(np.float32)
    settings = AtlasSettings(graph_pcs=20, n_neighbors=15, leiden_resolution=0.1)
    graphs = []
    for limit in (3000, 2999, 2999):  # exact at the limit, approximate above it
        adata = ad.AnnData(
            obs=pd.DataFrame(index=[f"c{i}" for i in range(3000)]),
            obsm={"X_pca_harmony": embedding},
        )
        leiden_clusters(adata, dataclasses.replace(settings, exact_knn_max_cells=limit))
        graphs.append(adata)
    exact, approximate, again = (graph.obsp["distances"].tocsr() for graph in graphs)
    assert (approximate != again).nnz == 0
    assert (graphs[1].obs["leiden"] == graphs[2].obs["leiden"]).all()
    recall = np.mean(
        [len(set(approximate[i].indices) & set(exact[i].indices)) / 14 for i in range(3000)]
    )
    assert 0.9 < recall < 0.999  # approximate, and close
    assert adjusted_rand_score(truth, graphs[1].obs["leiden"]) > 0.95


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

    monkeypatch.setattr(atlas, "vst_loess", singular)
    with pytest.raises(InputError, match=r"subset neutrophil: the vst loess .* every span") as err:
        vst_variable_genes(near_singular_subset(), 50, 3, "subset neutrophil")
    assert str(VST_SPANS) in str(err.value) and "last: There are other near" in str(err.value)


def grouped_counts(n_cells: int, n_genes: int, seed: int) -> sp.csr_matrix:
    """Negative binomial counts of four groups of cells, each with its own gene means; a tenth of
    the genes rare."""
    rng = np.random.default_rng(seed)
    groups = rng.integers(4, size=n_cells)
    means = rng.lognormal(-1, 1.5, (4, n_genes))
    means[:, : n_genes // 10] /= 500  # genes seen in a few cells only
    counts = rng.negative_binomial(2, 2 / (2 + means[groups] * rng.lognormal(0, 0.3, (n_cells, 1))))
    return sp.csr_matrix(counts.astype(np.int32))


@pytest.mark.parametrize("min_gene_cells", [0, 5])
def test_vst_genes_summed_over_blocks_are_scanpys_seurat_v3(min_gene_cells):
    counts = grouped_counts(900, 400, seed=2)
    adata = ad.AnnData(X=counts.astype(np.float32), layers={"counts": counts})
    detected = np.asarray((counts > 0).sum(axis=0)).ravel() >= min_gene_cells
    assert 0 < detected.sum() < 400 if min_gene_cells else detected.all()
    candidates = adata[:, detected]
    expected = sc.pp.highly_variable_genes(
        candidates, n_top_genes=100, flavor="seurat_v3", layer="counts", inplace=False
    )
    expected_genes = list(candidates.var_names[expected["highly_variable"].to_numpy()])

    assert list(vst_variable_genes(adata, 100, min_gene_cells, "test")) == expected_genes
    blocks = lambda: [counts[:250], counts[250:251], counts[251:]]  # noqa: E731
    positions = vst_gene_positions(blocks, 100, min_gene_cells, "test")
    assert list(adata.var_names[positions]) == expected_genes


def test_the_scaled_pca_of_row_blocks_is_that_of_the_whole(monkeypatch):
    values = log_normalised(grouped_counts(700, 60, seed=3), 1e4)
    whole, whole_info = scaled_pca_of_blocks([values], 8)
    monkeypatch.setattr(atlas, "ROWS_PER_CHUNK", 64)  # chunks within blocks too
    parts, parts_info = scaled_pca_of_blocks([values[:300], values[300:301], values[301:]], 8)
    np.testing.assert_allclose(parts, whole, rtol=0, atol=1e-4 * np.abs(whole).max())
    np.testing.assert_allclose(parts_info["variance"], whole_info["variance"], rtol=1e-6)


def write_sample(folder: Path, name: str, condition: str, counts, genes) -> Path:
    obs = pd.DataFrame(
        {"sample": name, "condition": condition, "batch": f"b{name[-1]}"},
        index=[f"{name}_{i}" for i in range(counts.shape[0])],
    )
    var = pd.DataFrame({"gene_ids": [f"ENS{g}" for g in genes]}, index=genes)
    sample = ad.AnnData(X=counts, obs=obs, var=var, layers={"counts": counts})
    write_h5ad(sample, folder / f"{name}.h5ad")
    return folder / f"{name}.h5ad"


def three_sample_files(folder: Path) -> list[Path]:
    """Three samples of 300 cells; the third lacks one gene and lists the others in reverse."""
    counts = grouped_counts(900, 120, seed=4)
    genes = [f"g{i}" for i in range(120)]
    first = write_sample(folder, "s_1", "control", counts[:300], genes)
    second = write_sample(folder, "s_2", "PMN", counts[300:600], genes)
    third = write_sample(folder, "s_3", "MN", counts[600:, 1:][:, ::-1], genes[1:][::-1])
    return [first, second, third]


def test_the_atlas_built_a_sample_at_a_time_is_the_atlas_of_the_stacked_samples(tmp_path):
    paths = three_sample_files(tmp_path)
    settings = AtlasSettings(n_hvg=60, n_pcs=10, graph_pcs=10, n_neighbors=10, seed=1)
    build_atlas(paths, settings, tmp_path / "atlas.h5ad")
    built = ad.read_h5ad(tmp_path / "atlas.h5ad")

    stacked = concatenate_samples([ad.read_h5ad(path) for path in paths])
    assert list(built.var_names) == [f"g{i}" for i in range(1, 120)] == list(stacked.var_names)
    assert list(built.var["gene_ids"]) == list(stacked.var["gene_ids"])
    pd.testing.assert_frame_equal(built.obs.drop(columns="leiden"), stacked.obs)
    assert built.obs["condition"].cat.ordered and (built.layers["counts"] != stacked.X).nnz == 0
    normalise(stacked, settings.target_sum)
    assert (built.X != stacked.X).nnz == 0
    genes = vst_variable_genes(stacked, 60, 0, "stacked")
    assert list(built.var_names[built.var["highly_variable"]]) == list(genes)
    pcs, _ = scaled_pca(stacked, genes, 10)
    np.testing.assert_allclose(built.obsm["X_pca"], pcs, atol=1e-4 * np.abs(pcs).max())
    assert built.obsm["X_pca_harmony"].shape == (900, 10) and built.obs["leiden"].nunique() > 1
    assert built.uns["atlas"]["n_hvg"] == 60 and "connectivities" in built.obsp


def test_row_pointers_widen_when_a_matrix_outgrows_32_bits(tmp_path, monkeypatch):
    paths = three_sample_files(tmp_path)
    settings = AtlasSettings(n_hvg=60, n_pcs=10, graph_pcs=10, n_neighbors=10, seed=1)
    build_atlas(paths, settings, tmp_path / "narrow.h5ad")
    monkeypatch.setattr(io, "INT32_MAX", 5000)  # the first sample holds more non-zeros
    build_atlas(paths, settings, tmp_path / "wide.h5ad")

    with h5py.File(tmp_path / "wide.h5ad") as wide, h5py.File(tmp_path / "narrow.h5ad") as narrow:
        assert wide["X/indptr"].dtype == np.int64 and narrow["X/indptr"].dtype == np.int32
        assert (wide["X/indptr"][...] == narrow["X/indptr"][...]).all()
    assert (
        ad.read_h5ad(tmp_path / "wide.h5ad").X != ad.read_h5ad(tmp_path / "narrow.h5ad").X
    ).nnz == 0


def test_a_sample_without_raw_counts_is_named(tmp_path):
    paths = three_sample_files(tmp_path)
    sample = ad.read_h5ad(paths[1])
    del sample.layers["counts"]
    write_h5ad(sample, paths[1])
    with pytest.raises(InputError, match=r"s_2.h5ad: no layers\['counts'\]"):
        build_atlas(paths, AtlasSettings(), tmp_path / "atlas.h5ad")
    assert not (tmp_path / "atlas.h5ad").exists()
