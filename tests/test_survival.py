"""livermet.survival: R parity (survminer, maxstat, survival), synthetic cohorts, the figure."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest
from conftest import shared_file

from livermet import survival as surv
from livermet.errors import InputError

matplotlib.use("Agg")

FIXTURES = Path(__file__).parent / "fixtures" / "survival"


def simulate_cohort(n: int, beta: float, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Exponential survival with hazard 0.05 * exp(beta * x), x ~ N(0, 1), uniform(0, 60) censoring.

    About 65 % of patients have an event, similar to a metastatic CRC cohort.
    """
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    event_time = rng.exponential(1 / (0.05 * np.exp(beta * x)))
    censor_time = rng.uniform(0, 60, size=n)
    return np.minimum(event_time, censor_time), (event_time <= censor_time).astype(float), x


# --- exact agreement with the R building blocks on tiny inputs --------------------------------


def test_logrank_scores_match_exactranktests_tie_convention():
    # exactRankTests::cscores(Surv(time, event), type = "LogRank") in R 4.2.2 (0.8-35).
    time = np.array([1, 2, 2, 2, 3, 4, 4, 5], dtype=float)
    event = np.array([1, 1, 0, 1, 1, 0, 1, 0], dtype=float)
    expected = [0.875, 0.475, -0.525, 0.475, 0.225, -1.275, -0.275, -1.275]
    np.testing.assert_allclose(surv.logrank_scores(time, event), expected, rtol=1e-12)


def test_maxstat_candidates_and_statistics_match_r_with_ties():
    # maxstat.test(Surv ~ x, smethod = "LogRank", pmethod = "none", minprop = .1, maxprop = .9)
    x = np.array([1, 1, 2, 2, 2, 3, 4, 5, 5, 6], dtype=float)
    time = np.array([5, 3, 8, 2, 9, 4, 4, 7, 1, 6], dtype=float)
    event = np.array([1, 0, 1, 1, 0, 1, 1, 0, 1, 1], dtype=float)
    result = surv.maxstat_logrank(time, event, x)
    np.testing.assert_array_equal(result.cuts, [1, 2, 3, 4, 5])
    r_stats = [
        0.11326643360318057,
        0.80645700725464586,
        0.41616745096893409,
        0.0098867048701764618,
        0.052857669014817567,
    ]
    np.testing.assert_allclose(result.stats, r_stats, rtol=1e-12)
    assert result.cutpoint == 2.0
    groups = surv.surv_categorize(x, result.cutpoint)
    assert list(groups[x <= 2]) == ["low"] * 5 and list(groups[x > 2]) == ["high"] * 5


@pytest.mark.parametrize(
    ("statistic", "minprop", "r_value"),
    [
        (0.5, 0.1, 1.0),
        (1.5, 0.1, 0.81967899576669856),
        (2.5, 0.1, 0.1898024538920039),
        (3.5, 0.1, 0.013324007931434427),
        (3.0, 0.2, 0.038676312350892292),
    ],
)
def test_p_lausen92_matches_maxstat(statistic, minprop, r_value):
    assert surv.p_lausen92(statistic, minprop) == pytest.approx(r_value, rel=1e-12)


# --- R parity on a real cohort -------------------------------------------------------------------


@pytest.mark.realdata
def test_parity_with_r_on_gse17538():
    # Only the R output table is committed; the cohort itself lives in ../shared/data.
    cohort = pd.read_csv(shared_file("gse17538_colon_cancer_survival.tsv.gz"), sep="\t")
    cohort["MAP4K4_q"] = np.floor(4 * cohort["MAP4K4"]) / 4  # same tie-heavy score as the R script
    r = pd.read_csv(FIXTURES / "r_reference.tsv", sep="\t").set_index("variable")
    py = surv.cutpoint_survival_table(cohort, list(r.index)).set_index("variable")

    np.testing.assert_array_equal(py["cutpoint"], r["cutpoint"])
    np.testing.assert_array_equal(py["n_high"], r["n_high"])
    np.testing.assert_array_equal(py["n_low"], r["n_low"])
    np.testing.assert_allclose(py["maxstat_stat"], r["maxstat_stat"], rtol=1e-12)
    np.testing.assert_allclose(py["logrank_p"], r["logrank_p"], rtol=1e-6)
    for column in ("hr", "hr_low95", "hr_high95"):
        np.testing.assert_allclose(py[column], r[column], rtol=1e-6)
    np.testing.assert_allclose(py["cox_p"], r["cox_p"], rtol=1e-6)
    np.testing.assert_allclose(py["adjusted_p"], r["lau92_p"], rtol=1e-9)
    assert r.loc["MAP4K4", "logrank_p"] < 1e-6  # the fixture keeps one strong effect ...
    assert r.loc["SOS1", "logrank_p"] > 0.05  # ... and one null one


# --- synthetic cohorts ---------------------------------------------------------------------------


def test_prognostic_variable_gives_hr_above_one_and_small_adjusted_p():
    time, event, x = simulate_cohort(200, 0.5, 1)
    cohort = pd.DataFrame({"OS_time": time, "OS_event": event, "score": x})
    row = surv.cutpoint_survival_row(cohort, "score", n_perm=200, seed=3)
    assert row["hr"] > 1.5 and row["hr_low95"] > 1
    assert row["logrank_p"] < 0.05 and row["cox_p"] < 0.05
    assert row["adjusted_p"] < 0.05 and row["perm_p"] < 0.05
    assert row["n_high"] + row["n_low"] == 200
    assert min(row["n_high"], row["n_low"]) >= 20  # minprop = 0.1 of 200


def test_null_variable_naive_p_is_optimistic_but_adjusted_p_is_calibrated():
    naive, adjusted = [], []
    for seed in range(200):
        time, event, x = simulate_cohort(200, 0.0, seed)
        best = surv.maxstat_logrank(time, event, x)
        naive.append(surv.logrank_p(time, event, x > best.cutpoint))
        adjusted.append(surv.p_lausen92(best.statistic))
    naive_rate = np.mean(np.array(naive) < 0.05)
    adjusted_rate = np.mean(np.array(adjusted) < 0.05)
    assert naive_rate > 0.25  # best-of-many cuts: the quoted p rejects far more than 5 %
    assert adjusted_rate < 0.09  # Lau92 keeps close to the nominal 5 %


def test_permutation_p_is_seeded_and_bounded():
    time, event, x = simulate_cohort(120, 0.0, 7)
    best = surv.maxstat_logrank(time, event, x)
    first = surv.permutation_p(time, event, x, best.statistic, n_perm=300, seed=11)
    assert first == surv.permutation_p(time, event, x, best.statistic, n_perm=300, seed=11)
    assert 1 / 301 <= first <= 1
    assert surv.permutation_p(time, event, x, 1e6, n_perm=300, seed=11) == pytest.approx(1 / 301)


# --- inputs and outputs --------------------------------------------------------------------------


def test_rows_with_missing_values_are_dropped_and_bad_events_rejected():
    time, event, x = simulate_cohort(100, 0.5, 2)
    cohort = pd.DataFrame({"OS_time": time, "OS_event": event, "score": x})
    cohort.loc[:4, "score"] = np.nan
    row = surv.cutpoint_survival_row(cohort, "score")
    assert row["n_high"] + row["n_low"] == 95
    with pytest.raises(InputError, match="lacks column"):
        surv.cutpoint_survival_row(cohort, "absent")
    cohort.loc[10, "OS_event"] = 2
    with pytest.raises(InputError, match="0 \\(censored\\) or 1"):
        surv.cutpoint_survival_row(cohort, "score")


def test_table_has_the_documented_columns_in_order():
    time, event, x = simulate_cohort(100, 0.5, 4)
    cohort = pd.DataFrame({"OS_time": time, "OS_event": event, "a": x, "b": -x})
    table = surv.cutpoint_survival_table(cohort, ["a", "b"])
    assert list(table.columns) == list(surv.RESULT_COLUMNS)
    assert list(table["variable"]) == ["a", "b"]
    assert table.loc[0, "hr"] > 1 > table.loc[1, "hr"]  # the sign flips with the variable
    assert table["perm_p"].isna().all()  # not requested


def test_numbers_at_risk_count_patients_still_followed():
    time = np.array([1.0, 2, 3, 4, 5, 6])
    high = np.array([True, True, True, False, False, False])
    table = surv.numbers_at_risk(time, high, [0, 2, 4.5])
    assert table["high"].tolist() == [3, 2, 0]
    assert table["low"].tolist() == [3, 3, 2]


def test_plot_km_draws_both_groups_stats_and_risk_table():
    time, event, x = simulate_cohort(150, 0.5, 5)
    high = x > np.median(x)
    fig = surv.plot_km(time, event, high, title="score")
    curve_ax, table_ax = fig.axes
    legend_text = " ".join(t.get_text() for t in curve_ax.get_legend().get_texts())
    assert "High (n=75)" in legend_text and "Low (n=75)" in legend_text
    assert "log-rank p" in legend_text and "HR" in legend_text
    risk_numbers = [t.get_text() for t in table_ax.texts]
    assert risk_numbers.count("75") == 2  # both groups complete at time 0
    with pytest.raises(InputError, match="both the high and the low group"):
        surv.plot_km(time, event, np.ones_like(high))
    matplotlib.pyplot.close("all")
