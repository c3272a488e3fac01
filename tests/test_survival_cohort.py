"""livermet.survival_cohort: a GEO survival cohort read end to end; the fraction survival table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from livermet import survival_cohort as sc
from livermet.demo_survival import CLINICAL_KEYS, write_platform_soft, write_series_matrix
from livermet.errors import InputError
from livermet.survival import RESULT_COLUMNS

HUMAN = ["PROK2", "APP", "ALB", "CXCL1", "S100A8", "GAPDH", "SOD1", "XIST", "CCL3L1"]
# XIST and CCL3L1 have no mouse ortholog in the table: they are the genes lost.


def small_cohort(tmp_path, n: int = 8) -> tuple:
    """Series matrix + platform: one probe per gene, a flat duplicate probe of ALB, a probe naming
    two genes and one naming none; patient P1 has two lesions (GSM100, GSM101), P7 (GSM107) has
    no overall survival."""
    rng = np.random.default_rng(0)
    gsms = [f"GSM{100 + i}" for i in range(n)]
    values = rng.normal(8, 1, (len(HUMAN), n))
    probes = [f"TC{i:02d}.hg.1" for i in range(len(HUMAN))]
    alb = HUMAN.index("ALB")
    extra = np.vstack([np.full(n, values[alb].mean()), rng.normal(5, 1, (2, n))])
    expression = pd.DataFrame(
        np.vstack([values, extra]), index=probes + ["TCdup.hg.1", "TCtwo.hg.1", "TCnone.hg.1"]
    ).set_axis(gsms, axis=1)
    platform = pd.DataFrame(
        {
            "ID": expression.index,
            "gene_assignment": [f"NM_{i} // {g} // name // --- // {i}" for i, g in enumerate(HUMAN)]
            + [
                "NM_9 // ALB // albumin // --- // 9",
                "NM_1 // APP // a /// NM_2 // SOD1 // b",
                "---",
            ],
        }
    )
    patients = ["P1", "P1"] + [f"P{i}" for i in range(2, n)]
    time = [f"{t:.1f}" for t in rng.uniform(1, 60, n)]
    status = [str(s) for s in rng.integers(0, 2, n)]
    time[-1], status[-1] = "NA", "NA"
    clinical = pd.DataFrame(
        {
            "title": [f"{p} lesion" for p in patients],
            CLINICAL_KEYS["patient"]: patients,
            CLINICAL_KEYS["os_time"]: time,
            CLINICAL_KEYS["os_status"]: status,
        },
        index=gsms,
    )
    write_series_matrix(expression, clinical, tmp_path / "series_matrix.txt.gz")
    write_platform_soft(platform, tmp_path / "platform.soft.gz")
    return tmp_path / "series_matrix.txt.gz", tmp_path / "platform.soft.gz", expression, clinical


def test_cohort_is_one_sample_per_patient_in_mouse_symbols(tmp_path, caplog):
    matrix, platform, expression, _ = small_cohort(tmp_path)
    with caplog.at_level("INFO", logger="livermet.survival_cohort"):
        mouse, clinical = sc.read_geo_cohort(matrix, platform, CLINICAL_KEYS)
    assert list(clinical.columns) == sc.CLINICAL_COLUMNS
    assert clinical["sample"].tolist() == ["GSM100", *[f"GSM{i}" for i in range(102, 107)]]
    assert clinical["patient"].is_unique and clinical.loc[0, "patient"] == "P1"
    assert list(mouse.columns) == clinical["sample"].tolist()
    assert set(mouse.index) == {"Prok2", "App", "Alb", "Cxcl1", "S100a8", "Gapdh", "Sod1"}
    assert "2 without a one-to-one mouse ortholog (lost)" in caplog.text
    # ALB keeps its varying probe, not the flat duplicate
    alb = expression.loc[f"TC{HUMAN.index('ALB'):02d}.hg.1", mouse.columns].to_numpy()
    np.testing.assert_allclose(mouse.loc["Alb"].to_numpy(), alb, atol=1e-4)
    assert clinical["OS_event"].isin([0, 1]).all()


def test_cohort_errors_name_the_field(tmp_path):
    matrix, platform, _, _ = small_cohort(tmp_path)
    with pytest.raises(InputError, match="'os_time' is not set"):
        sc.read_geo_cohort(matrix, platform, {**CLINICAL_KEYS, "os_time": None})
    with pytest.raises(InputError, match="no clinical field 'overall survival'"):
        sc.read_geo_cohort(matrix, platform, {**CLINICAL_KEYS, "os_time": "overall survival"})
    with pytest.raises(InputError, match="no clinical field 'patient'"):
        sc.read_geo_cohort(matrix, platform, {**CLINICAL_KEYS, "patient": "patient"})


def clinical_with_hazard(risk: np.ndarray, rng: np.random.Generator) -> pd.DataFrame:
    """One patient per value of ``risk``: exponential death times with hazard 0.03 x exp(2 x
    risk), censored uniformly between 10 and 80."""
    death = rng.exponential(1 / (0.03 * np.exp(2 * risk)))
    censor = rng.uniform(10, 80, len(risk))
    return pd.DataFrame(
        {
            "sample": [f"s{i}" for i in range(len(risk))],
            "patient": [f"p{i}" for i in range(len(risk))],
            "OS_time": np.minimum(death, censor).round(1),
            "OS_event": (death <= censor).astype(int),
        }
    )


def test_fraction_survival_splits_at_the_cut_and_finds_the_prognostic_fraction():
    rng = np.random.default_rng(4)
    n = 150
    risky = rng.uniform(0, 1, n)
    neutral = rng.uniform(0, 1, n)
    clinical = clinical_with_hazard(risky, rng)
    fractions = pd.concat(
        [
            pd.DataFrame(
                {
                    "sample": clinical["sample"],
                    "group": "",
                    "scope": "all",
                    "cell_type": name,
                    "proportion": values,
                }
            )
            for name, values in (("N1", risky), ("N2", neutral))
        ]
        + [
            pd.DataFrame(
                {
                    "sample": ["s0"],
                    "group": "",
                    "scope": "x",
                    "cell_type": "N1",
                    "proportion": [9.0],
                }
            )
        ]
    )
    table, patients = sc.fraction_survival(clinical, fractions, ["N1", "N2"])
    assert list(table.columns) == list(RESULT_COLUMNS)
    rows = table.set_index("variable")
    assert rows.loc["N1", "hr"] > 1 and rows.loc["N1", "adjusted_p"] < 0.05
    assert rows.loc["N2", "adjusted_p"] > 0.05
    for variable in ("N1", "N2"):
        high = patients[variable] > rows.loc[variable, "cutpoint"]
        assert (patients.loc[high, f"{variable}_group"] == "high").all()
        assert (patients.loc[~high, f"{variable}_group"] == "low").all()
        assert high.sum() == rows.loc[variable, "n_high"]
    with pytest.raises(InputError, match="no fraction of N3 in scope 'all'"):
        sc.fraction_survival(clinical, fractions, ["N1", "N3"])
    # a subtype the reference lacked (NaN fractions): a NaN row, no groups, the others unchanged
    lacking = pd.concat(
        [
            fractions,
            fractions[fractions["cell_type"] == "N2"].assign(cell_type="N3", proportion=np.nan),
        ]
    )
    table, patients = sc.fraction_survival(clinical, lacking, ["N1", "N3"])
    assert table["variable"].tolist() == ["N1", "N3"]
    assert table.iloc[1, 1:].isna().all() and (patients["N3_group"] == "").all()
    assert table.loc[0, "cutpoint"] == rows.loc["N1", "cutpoint"]


def test_km_panels_and_the_signature_panels(tmp_path):
    from livermet.figures import draw_panel
    from livermet.signature import signature_survival

    rng = np.random.default_rng(8)
    n1 = rng.uniform(0, 1, 80)
    clinical = clinical_with_hazard(n1, rng)
    fractions = pd.DataFrame(
        {"sample": clinical["sample"], "group": "", "scope": "all", "cell_type": "N1"}
    ).assign(proportion=n1)
    cutpoints, patients = sc.fraction_survival(clinical, fractions, ["N1"])
    cutpoints.to_csv(tmp_path / "cut.tsv", sep="\t", index=False)
    patients.to_csv(tmp_path / "patients.tsv", sep="\t", index=False)
    fig = draw_panel(
        "fig3L",
        {
            "survival_patients": tmp_path / "patients.tsv",
            "survival_cutpoints": tmp_path / "cut.tsv",
        },
    )
    legend = " ".join(t.get_text() for t in fig.axes[0].get_legend().get_texts())
    assert f"N1 high (n={cutpoints.loc[0, 'n_high']})" in legend
    assert "maxstat-adjusted p" in fig.axes[0].get_title()
    candidates = pd.DataFrame(
        {"gene": ["a", "b"], "log2fc": [3.0, 2.5], "hr": [2.0, 0.8], "prognostic": [True, False]}
    )
    candidates.to_csv(tmp_path / "candidates.tsv", sep="\t", index=False)
    fig = draw_panel("figS2K", {"n1_candidates": tmp_path / "candidates.tsv"})
    assert fig.axes[0].get_title() == "1 of 2 N1 markers predict worse survival"
    empty_cut, empty_patients = signature_survival(
        [], pd.DataFrame(columns=clinical["sample"]), clinical
    )
    empty_cut.to_csv(tmp_path / "sig_cut.tsv", sep="\t", index=False)
    empty_patients.to_csv(tmp_path / "sig_patients.tsv", sep="\t", index=False)
    fig = draw_panel(
        "figS2L",
        {
            "signature_patients": tmp_path / "sig_patients.tsv",
            "signature_cutpoints": tmp_path / "sig_cut.tsv",
        },
    )
    assert "no cutpoint" in fig.axes[0].texts[0].get_text()
