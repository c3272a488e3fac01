"""livermet.signature: N1 markers vs other cells, per-gene Cox, their intersection, the score."""

from __future__ import annotations

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from livermet import signature as sg
from livermet.errors import InputError
from livermet.survival import cox_univariate


@pytest.fixture(scope="module")
def atlas_and_labels():
    """400 cells: 60 N1 with genes m0-m4 on (m3 only weakly), the rest without."""
    rng = np.random.default_rng(1)
    n, n_genes = 400, 40
    is_n1 = np.arange(n) < 60
    mean = np.full((n, n_genes), 2.0)
    mean[np.ix_(is_n1, range(3))] = 20.0  # strong N1 markers m0-m2
    mean[np.ix_(is_n1, [3])] = 3.0  # weakly up: below the log2FC threshold
    mean[np.ix_(~is_n1, [4])] = 0.1
    mean[np.ix_(is_n1, [4])] = 15.0  # strong marker m4
    counts = sp.csr_matrix(rng.poisson(mean).astype(np.float32))
    normalised = counts.multiply(1e4 / np.maximum(counts.sum(axis=1), 1)).tocsr()
    normalised.data = np.log1p(normalised.data)
    genes = [f"m{j}" for j in range(5)] + [f"g{j}" for j in range(5, n_genes)]
    cells = [f"c{i}" for i in range(n)]
    atlas = ad.AnnData(
        X=normalised,
        obs=pd.DataFrame(index=cells),
        var=pd.DataFrame(index=genes),
        layers={"counts": counts},
    )
    labels = pd.DataFrame(
        {"subtype": np.where(is_n1, "N1", np.where(np.arange(n) < 120, "N0", "B"))}, index=cells
    )
    return atlas, labels


@pytest.fixture(scope="module")
def cohort():
    """120 patients: hazard rises with m0 and m4 expression, m1 and m2 are flat in outcome."""
    rng = np.random.default_rng(2)
    n = 120
    expression = pd.DataFrame(
        rng.normal(8, 1, (6, n)),
        index=["m0", "m1", "m2", "m4", "g5", "flat"],
        columns=[f"s{i}" for i in range(n)],
    )
    expression.loc["flat"] = 5.0
    risk = 0.8 * (expression.loc["m0"] - 8) + 0.8 * (expression.loc["m4"] - 8)
    death = rng.exponential(1 / (0.03 * np.exp(risk.to_numpy())))
    censor = rng.uniform(20, 80, n)
    clinical = pd.DataFrame(
        {
            "sample": expression.columns,
            "patient": [f"p{i}" for i in range(n)],
            "OS_time": np.minimum(death, censor).round(1),
            "OS_event": (death <= censor).astype(int),
        }
    )
    return expression, clinical


def test_markers_are_the_planted_n1_genes(atlas_and_labels):
    atlas, labels = atlas_and_labels
    settings = sg.SignatureSettings()
    markers = sg.subtype_markers(atlas, labels, settings)
    assert {"gene", "log2fc", "pval", "pct_group", "pct_ref"} <= set(markers.columns)
    up = sg.passing_markers(markers, settings)
    assert set(up["gene"]) == {"m0", "m1", "m2", "m4"}  # m3 is up but by less than 4-fold
    assert (up["log2fc"] > 2).all() and (up["pval"] < 0.05).all()
    assert up["log2fc"].is_monotonic_decreasing


def test_marker_errors_and_a_subtype_without_cells(atlas_and_labels):
    atlas, labels = atlas_and_labels
    with pytest.raises(InputError, match="no column 'lineage'"):
        sg.subtype_markers(atlas, labels, sg.SignatureSettings(label="lineage"))
    none = sg.subtype_markers(atlas, labels, sg.SignatureSettings(subtype="N9"))
    assert none.empty and {"gene", "log2fc", "pval"} <= set(none.columns)


def test_cox_per_gene_matches_lifelines_and_marks_missing_genes(cohort):
    expression, clinical = cohort
    table = sg.cox_per_gene(expression, clinical, ["m0", "absent", "flat"]).set_index("gene")
    direct = cox_univariate(
        clinical["OS_time"].to_numpy(), clinical["OS_event"].to_numpy(), expression.loc["m0"]
    )
    assert table.loc["m0", "hr"] == pytest.approx(direct["hr"])
    assert table.loc["m0", "cox_p"] == pytest.approx(direct["cox_p"])
    assert table.loc[["absent", "flat"], "hr"].isna().all()


def test_signature_is_the_intersection_of_markers_and_prognostic_genes(atlas_and_labels, cohort):
    atlas, labels = atlas_and_labels
    expression, clinical = cohort
    settings = sg.SignatureSettings()
    markers = sg.subtype_markers(atlas, labels, settings)
    candidates, signature = sg.n1_signature(markers, expression, clinical, settings)
    assert set(candidates["gene"]) == {"m0", "m1", "m2", "m4"}
    assert list(signature.columns) == sg.SIGNATURE_COLUMNS
    assert set(signature["gene"]) == {"m0", "m4"}  # g5 is prognostic-free, m3 no marker
    assert (signature["hr"] > 1).all() and (signature["cox_p"] < 0.05).all()
    assert candidates.set_index("gene").loc[["m1", "m2"], "prognostic"].eq(False).all()


def test_score_is_the_mean_z_score_and_survival_by_score(cohort):
    expression, clinical = cohort
    score = sg.signature_score(expression, ["m0", "m4", "absent"])
    z = expression.loc[["m0", "m4"]]
    z = z.sub(z.mean(axis=1), axis=0).div(z.std(axis=1), axis=0)
    np.testing.assert_allclose(score.to_numpy(), z.mean(axis=0).to_numpy())
    cutpoints, patients = sg.signature_survival(["m0", "m4"], expression, clinical)
    row = cutpoints.iloc[0]
    assert row["variable"] == "score" and row["hr"] > 1 and row["logrank_p"] < 0.05
    assert set(patients["score_group"]) == {"high", "low"}
    empty, no_groups = sg.signature_survival([], expression, clinical)
    assert np.isnan(empty.loc[0, "cutpoint"]) and (no_groups["score_group"] == "").all()
