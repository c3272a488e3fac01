"""QC: the paper's filters remove exactly the cells that break them; scrublet flags doublets."""

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from sklearn.metrics import roc_auc_score

from livermet.errors import InputError
from livermet.qc import (
    DoubletSettings,
    QCThresholds,
    add_qc_metrics,
    expected_rate_threshold,
    failed_filters,
    filter_sample,
    random_parts,
    score_doublets,
    scrublet_scores,
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


def with_planted_doublets(adata, labels, n=15):
    """``adata`` and ``n`` heterotypic doublets (one cell of each type summed), named d0.."""
    rng = np.random.default_rng(2)
    a, b = rng.choice(np.flatnonzero(labels == 0), n), rng.choice(np.flatnonzero(labels == 1), n)
    doublets = ad.AnnData(adata.X[a] + adata.X[b], var=adata.var)
    doublets.obs_names = [f"d{i}" for i in range(n)]
    doublets.obs["sample"] = "s1"
    doublets.layers["counts"] = doublets.X.copy()
    return ad.concat([adata, doublets])


def test_planted_heterotypic_doublets_score_highest():
    mixed = with_planted_doublets(*two_type_sample())
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


def test_random_parts_cover_every_cell_once_in_the_fewest_even_parts():
    parts = random_parts(1001, 300, seed=7)
    assert len(parts) == 4 and sorted(len(part) for part in parts) == [250, 250, 250, 251]
    assert all((np.diff(part) > 0).all() for part in parts)  # each part in sample order
    np.testing.assert_array_equal(np.sort(np.concatenate(parts)), np.arange(1001))
    assert all((a == b).all() for a, b in zip(parts, random_parts(1001, 300, seed=7), strict=True))
    assert not (parts[0] == random_parts(1001, 300, seed=8)[0]).all()
    np.testing.assert_array_equal(random_parts(300, 300, seed=7)[0], np.arange(300))


def test_a_sample_scored_in_parts_still_ranks_its_planted_doublets_first():
    mixed = with_planted_doublets(*two_type_sample(n_per_type=300), n=30)
    doublet = mixed.obs_names.str.startswith("d")
    whole, _, _ = score_doublets(mixed, DoubletSettings(seed=0))
    in_parts, calls, _ = score_doublets(mixed, DoubletSettings(seed=0, max_cells=220))
    assert not np.allclose(whole, in_parts)  # three parts, each with its own simulated doublets
    for scores in (whole, in_parts):
        assert roc_auc_score(doublet, scores) > 0.95
    assert calls[doublet].mean() >= 0.6


def test_auto_threshold_in_parts_is_the_median_of_the_parts_thresholds():
    mixed = with_planted_doublets(*two_type_sample(n_per_type=300), n=30)
    settings = DoubletSettings(seed=0, threshold="auto", max_cells=220)
    scores, calls, used = score_doublets(mixed, settings)
    counts = mixed.layers["counts"]
    parts = random_parts(mixed.n_obs, 220, seed=0)
    thresholds = [scrublet_scores(counts[part], settings)[1] for part in parts]
    assert None not in thresholds and used == np.median(thresholds)
    np.testing.assert_array_equal(calls, scores > used)
