"""livermet.demo_survival: the demo's GSE159216 stand-in, in GEO formats, with its planted truth."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from livermet import demo_survival as ds
from livermet import geo
from livermet.demo_engine import DEFAULT_PARAMS_DIR, study_model
from livermet.errors import InputError
from livermet.orthologs import map_genes
from livermet.survival import cox_univariate
from livermet.survival_cohort import EVENT, TIME, cutpoint_analysis

SEED = 20250336  # config/config.yaml


@pytest.fixture(scope="module")
def cohort() -> ds.SurvivalCohort:
    return ds.simulate_survival_cohort(171, SEED, second_lesion_rate=0.3)


@pytest.fixture(scope="module")
def written(cohort, tmp_path_factory):
    folder = tmp_path_factory.mktemp("demo_survival")
    paths = [folder / name for name in ("sm.txt.gz", "gpl.soft.gz", "truth.tsv", "genes.tsv")]
    ds.write_survival_cohort(cohort, *paths)
    return paths


def test_files_read_back_with_the_geo_readers(cohort, written):
    matrix = geo.read_series_matrix(written[0])
    assert matrix.accession == ds.ACCESSION
    assert list(matrix.clinical.index) == list(cohort.truth["gsm"])
    assert set(ds.CLINICAL_KEYS.values()) <= set(matrix.clinical.columns)
    np.testing.assert_allclose(
        matrix.clinical[ds.CLINICAL_KEYS["os_time"]], cohort.truth["os_time"]
    )
    np.testing.assert_allclose(
        matrix.expression.to_numpy(), cohort.expression.to_numpy(), atol=1e-4
    )
    genes = geo.probe_to_gene(geo.read_platform_table(written[1]))
    # decoys (no gene, two genes) are dropped; duplicated genes keep their varying probe
    assert len(genes) == len(cohort.expression) - 2 * ds.N_DECOY_PROBES
    collapsed = geo.collapse_to_genes(matrix.expression, genes)
    assert collapsed.index.is_unique and len(collapsed) > 15_000
    prok2 = cohort.platform.loc[
        cohort.platform["gene_assignment"].str.contains("// PROK2 //"), "ID"
    ]
    assert len(prok2) in (1, 2)
    first = prok2.iloc[0]
    np.testing.assert_allclose(collapsed.loc["PROK2"], matrix.expression.loc[first], atol=1e-9)


def test_same_seed_same_bytes(tmp_path):
    def write(folder):
        folder.mkdir()
        paths = [folder / n for n in ("sm.txt.gz", "gpl.soft.gz", "truth.tsv", "genes.tsv")]
        ds.write_survival_cohort(ds.simulate_survival_cohort(25, SEED), *paths)
        return [p.read_bytes() for p in paths]

    assert write(tmp_path / "a") == write(tmp_path / "b")


def test_lesions_of_a_patient_share_survival_and_neighbour_compositions(cohort):
    truth = cohort.truth
    per_patient = truth.groupby("patient")
    assert per_patient.ngroups == 171
    assert 0.15 < (per_patient.size() == 2).mean() < 0.45  # second_lesion_rate 0.3
    assert (per_patient[["os_time", "os_event", "risk"]].nunique() == 1).all().all()
    twice = truth[truth["patient"].duplicated(keep=False)].sort_values(["patient", "lesion"])
    first, second = twice.iloc[::2], twice.iloc[1::2]
    assert np.corrcoef(first["N1"], second["N1"])[0, 1] > 0.75
    np.testing.assert_allclose(truth[list(ds.NEUTROPHIL_SUBTYPES)].sum(axis=1), 1)
    assert 0.5 < truth.drop_duplicates("patient")["os_event"].mean() < 0.75


def test_hazard_rises_with_planted_n1(cohort):
    patients = cohort.truth.drop_duplicates("patient")
    time, event = patients["os_time"].to_numpy(), patients["os_event"].to_numpy()
    n1 = cox_univariate(time, event, patients[ds.HAZARD_SUBTYPE])
    assert n1["hr"] > 1 and n1["cox_p"] < 1e-4


def planted_patients(seed: int) -> pd.DataFrame:
    """The truth's patients of the configured cohort as the pipeline keeps them (the lowest GSM),
    with the survival columns it reads; drawn without the costly expression of the cohort."""
    truth = ds.planted_truth(171, seed, 0.3).drop_duplicates("patient")
    return truth.rename(columns={"os_time": TIME, "os_event": EVENT})


def test_only_planted_n1_has_a_detectable_survival_link_across_seeds():
    """The optimal-cut survival of the planted fractions, with the permutation p of the scorecard:
    N1 predicts worse survival in every cohort; N0, N2 and N3 lose to N1 only what it gains, a
    small part of their own spread, so they reject at 0.05 about as rarely as a null should (the
    earlier draw, where N0 and N3 split what N1 and N2 left, rejected for N0 and N3 in ~9 of 10)."""
    seeds = range(1, 9)
    tables = [
        cutpoint_analysis(planted_patients(seed), ds.NEUTROPHIL_SUBTYPES, n_perm=1000, seed=seed)[0]
        for seed in seeds
    ]
    rows = pd.concat(tables).set_index("variable")
    n1 = rows.loc[ds.HAZARD_SUBTYPE]
    assert ((n1["hr"] > 1) & (n1["perm_p"] < 0.05)).all()
    nulls = rows.loc[list(ds.NULL_SUBTYPES)]
    assert (nulls["perm_p"] < 0.05).sum() <= 4, nulls  # of 24 tests: ~1 expected, ~15 before


def test_truth_genes_are_n1_markers_that_carry_the_hazard(cohort):
    genes = cohort.truth_genes
    assert list(genes.columns) == list(ds.TRUTH_GENE_COLUMNS)
    assert len(genes) >= 4 and "Prok2" in set(genes["gene"])  # Prok2 is the N1 marker
    assert (genes["n1_log2fc"] >= ds.TRUTH_MIN_LOG2FC).all()
    assert (genes["risk_correlation"] >= ds.TRUTH_MIN_RISK_CORRELATION).all()
    back, _ = map_genes(genes["human_gene"], "human_to_mouse")
    assert (genes["human_gene"].map(back) == genes["gene"]).all()


def test_single_cell_log2fc_ranks_the_planted_n1_marker_near_the_top():

    model = study_model(SEED, None, DEFAULT_PARAMS_DIR)
    log2fc = pd.Series(ds.single_cell_log2fc(model, "N1"), index=model.universe.symbols)
    assert log2fc["Prok2"] > ds.TRUTH_MIN_LOG2FC
    assert (log2fc > log2fc["Prok2"]).mean() < 0.001  # among the top 0.1 % of genes
    assert log2fc["Alb"] < 0  # a hepatocyte gene


def test_the_planted_truth_alone_is_the_cohorts_truth(cohort):
    pd.testing.assert_frame_equal(ds.planted_truth(171, SEED, 0.3), cohort.truth)


def test_bad_settings_raise_input_errors():
    with pytest.raises(InputError, match="at least 20 patients"):
        ds.simulate_survival_cohort(5, SEED)
    with pytest.raises(InputError, match="second_lesion_rate"):
        ds.simulate_survival_cohort(30, SEED, second_lesion_rate=1.5)
    with pytest.raises(InputError, match="at least 20 patients"):
        ds.planted_truth(5, SEED)
