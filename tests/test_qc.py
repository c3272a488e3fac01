"""QC: the paper's filters remove exactly the cells that break them; scrublet flags doublets."""

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from livermet.errors import InputError
from livermet.qc import (
    DoubletSettings,
    QCThresholds,
    add_qc_metrics,
    expected_rate_threshold,
    failed_filters,
    filter_sample,
    score_doublets,
)


def two_type_sample(n_per_type=150, n_genes=300, seed=1):
    """Two distinct cell types, 3 mito genes, 2 haemoglobin genes; sample name 's1'."""
    rng = np.random.default_rng(seed)
    genes = [f"Gene{i}" for i in range(n_genes - 5)] + ["mt-Co1", "mt-Nd1", "mt-Cytb"]
    genes += ["Hba-a1", "Hbb-bs"]
    profile_a = rng.gamma(0.3, 1, n_genes)
    profile_b = profile_a.copy()
    profile_b[:40], profile_b[40:80] = profile_a[40:80] * 8, profile_a[:40] / 8
    for profile in (profile_a, profile_b):
        profile[-5:-2] = profile.sum() * 0.02 / 3  # ~2 % mitochondrial
        profile[-2:] = 0.0
    profiles = np.vstack([profile_a, profile_b])
    profiles /= profiles.sum(axis=1, keepdims=True)
    labels = np.repeat([0, 1], n_per_type)
    counts = rng.poisson(profiles[labels] * 3000)
    adata = ad.AnnData(sp.csr_matrix(counts.astype(np.int32)), var=pd.DataFrame(index=genes))
    adata.obs_names = [f"c{i}" for i in range(adata.n_obs)]
    adata.obs["sample"] = "s1"
    adata.layers["counts"] = adata.X.copy()
    return adata, labels


def test_metrics_match_a_hand_count():
    adata, _ = two_type_sample()
    add_qc_metrics(adata, QCThresholds())
    dense = adata.X.toarray()
    mito = dense[:, -5:-2].sum(1) / dense.sum(1) * 100
    np.testing.assert_allclose(adata.obs["pct_mito"], mito)
    np.testing.assert_array_equal(adata.obs["n_genes"], (dense > 0).sum(1))


def test_each_filter_catches_its_cells():
    obs = pd.DataFrame(
        {
            "pct_mito": [1, 30, 1, 1, 1],
            "pct_erythroid": [0, 0, 2, 0, 0],
            "n_genes": [500, 500, 500, 150, 500],
            "total_counts": [2000, 2000, 2000, 2000, 1000],
        }
    )
    failed = failed_filters(obs, QCThresholds())
    assert failed.to_numpy().nonzero()[0].tolist() == [1, 2, 3, 4]
    assert failed.columns[failed.to_numpy().nonzero()[1]].tolist() == [
        "high_mito",
        "erythroid",
        "low_genes",
        "low_umis",
    ]


def test_planted_heterotypic_doublets_score_highest():
    adata, labels = two_type_sample()
    rng = np.random.default_rng(2)
    a, b = rng.choice(np.flatnonzero(labels == 0), 15), rng.choice(np.flatnonzero(labels == 1), 15)
    doublets = ad.AnnData(adata.X[a] + adata.X[b], var=adata.var)
    doublets.obs_names = [f"d{i}" for i in range(15)]
    doublets.obs["sample"] = "s1"
    doublets.layers["counts"] = doublets.X.copy()
    mixed = ad.concat([adata, doublets])
    kept, cells, summary = filter_sample(
        mixed, QCThresholds(min_umis=100, min_genes=20), DoubletSettings(seed=0)
    )
    assert summary["cells_in"] == 315
    assert summary["doublets"] >= 10
    assert sum(name.startswith("d") for name in kept.obs_names) <= 5
    assert summary["cells_out"] == kept.n_obs == 315 - summary["removed_qc"] - summary["doublets"]
    assert cells["kept"].sum() == kept.n_obs and len(cells) == 315
    assert cells.loc[cells["cell"].str.startswith("d"), "doublet_score"].median() > cells.loc[
        cells["cell"].str.startswith("c"), "doublet_score"
    ].quantile(0.9)


def test_a_sample_with_no_cell_passing_qc_is_an_error():
    adata, _ = two_type_sample()
    with pytest.raises(InputError, match="sample s1: no cells left after QC"):
        filter_sample(adata, QCThresholds(min_umis=10**6), DoubletSettings())


def test_expected_rate_calls_that_share_of_cells():
    scores = np.linspace(0, 1, 200)
    threshold = expected_rate_threshold(scores, 0.05)
    assert (scores >= threshold).sum() == 10
    assert expected_rate_threshold(scores, 0.0) == np.inf


def test_expected_mode_calls_at_least_the_expected_share_and_a_number_is_used_as_given():
    adata, _ = two_type_sample()
    scores, calls, used = score_doublets(adata, DoubletSettings(threshold="expected"))
    n_expected = round(0.06 * adata.n_obs)
    assert used == np.sort(scores)[::-1][n_expected - 1]
    assert calls.sum() >= n_expected and (scores[calls] >= used).all()
    _, calls, used = score_doublets(adata, DoubletSettings(threshold=0.5))
    assert used == 0.5
