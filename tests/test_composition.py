"""Composition by condition: planted shifts and nulls, parity with R limma on speckle's propeller
code, the cell-level Wilcoxon's overconfidence, input errors and the Fig 3C/3E/4D/5C panels."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import REPO

from livermet import CONDITIONS
from livermet.annotate import composition
from livermet.composition import (
    composition_test,
    count_matrix,
    fit_f_dist_robustly,
    result_columns,
)
from livermet.demo_biology import WITHIN_SHARES
from livermet.demo_composition import COMPOSITION_CONCENTRATION
from livermet.errors import InputError

FIXTURES = REPO / "tests" / "fixtures" / "propeller"
DATASETS = ("myeloid", "neutrophil", "tnk", "myeloid_tnk", "two_labels")


def simulate_composition(
    shares: dict[str, dict[str, float]],
    seed: int,
    cells: int,
    animals: int = 2,
    concentration: float = COMPOSITION_CONCENTRATION,
    key: str = "subtype",
) -> pd.DataFrame:
    """Per-animal counts as the demo draws them: Dirichlet shares around the condition's (the
    demo's animal-to-animal variation), then ``cells`` cells drawn multinomially per animal."""
    rng = np.random.default_rng(seed)
    rows = []
    for condition in CONDITIONS:
        labels = list(shares[condition])
        alpha = [concentration * shares[condition][label] for label in labels]
        for animal in range(1, animals + 1):
            counts = rng.multinomial(cells, rng.dirichlet(alpha))
            rows += [
                (f"{condition}_{animal}", condition, x, int(n))
                for x, n in zip(labels, counts, strict=True)
            ]
    table = pd.DataFrame(rows, columns=["sample", "condition", key, "n_cells"])
    return with_proportions(table)


def with_proportions(table: pd.DataFrame) -> pd.DataFrame:
    table = table.copy()
    table["proportion"] = table["n_cells"] / table.groupby("sample")["n_cells"].transform("sum")
    return table


def fixture_tables() -> dict[str, pd.DataFrame]:
    """The inputs of the R parity fixture (written by tests/fixtures/propeller/make_inputs.py).

    myeloid: the 7 myeloid lineages, 2000 cells per animal. neutrophil: N0-N3, 400 cells.
    tnk: the 9 T/NK subtypes plus a hypervariable ``Unassigned`` (10 labels, so limma's robust
    prior really Winsorizes) and one animal without gdT cells. myeloid_tnk: the 16 myeloid and
    T/NK labels plus a hypervariable Unassigned, 3000 cells, where the robust prior df is found by
    root search (logit) or is infinite (asin). two_labels: speckle turns robust off.
    """
    tnk_shares = {
        c: {**{k: v * 0.97 for k, v in s.items()}, "Unassigned": 0.03}
        for c, s in WITHIN_SHARES["TNK"].items()
    }
    tnk = simulate_composition(tnk_shares, seed=3, cells=1500)
    tnk.loc[tnk["subtype"] == "Unassigned", "n_cells"] = [2, 60, 15, 1, 45, 8]
    tnk.loc[(tnk["subtype"] == "gdT") & (tnk["sample"] == "PMN_1"), "n_cells"] = 0
    mixed_shares = {
        c: {
            **{k: 0.49 * v for k, v in WITHIN_SHARES["TNK"][c].items()},
            **{k: 0.49 * v for k, v in WITHIN_SHARES["Myeloid"][c].items()},
            "Unassigned": 0.02,
        }
        for c in CONDITIONS
    }
    mixed = simulate_composition(mixed_shares, seed=2, cells=3000)
    mixed.loc[mixed["subtype"] == "Unassigned", "n_cells"] = [5, 150, 40, 2, 110, 20]
    two = {
        c: {"Neutrophil": s["Neutrophil"], "Other": 1 - s["Neutrophil"]}
        for c, s in WITHIN_SHARES["Myeloid"].items()
    }
    return {
        "myeloid": simulate_composition(WITHIN_SHARES["Myeloid"], seed=1, cells=2000),
        "neutrophil": simulate_composition(WITHIN_SHARES["Neutrophil"], seed=2, cells=400),
        "tnk": with_proportions(tnk),
        "myeloid_tnk": with_proportions(mixed),
        "two_labels": simulate_composition(two, seed=4, cells=2000),
    }


def p_of(table: pd.DataFrame, subtype: str, contrast: str, method: str = "propeller") -> float:
    row = table[
        (table["subtype"] == subtype)
        & (table["contrast"] == contrast)
        & (table["method"] == method)
    ]
    assert len(row) == 1
    return float(row["p"].iloc[0])


@pytest.fixture(scope="module")
def myeloid_tests() -> list[pd.DataFrame]:
    """40 simulated studies of the myeloid lineages at the paper's scale (2 animals per condition,
    ~2000 myeloid cells per animal, the demo's within-myeloid shares and animal variation)."""
    return [
        composition_test(simulate_composition(WITHIN_SHARES["Myeloid"], seed, cells=2000))
        for seed in range(40)
    ]


def test_planted_shift_is_found_and_planted_null_is_not(myeloid_tests):
    """Neutrophils rise 0.15 -> 0.24 -> 0.36 of myeloid cells; DC2 and basophils keep their share
    from control to PMN. One study's null p-value is a uniform draw, so the null is judged over
    the 40 studies: p > 0.2 in most of them, p < 0.05 near the nominal rate."""
    for contrast in ("overall", "MN_vs_control"):
        shift = np.array([p_of(t, "Neutrophil", contrast) for t in myeloid_tests])
        assert np.mean(shift < 0.05) >= 0.95
    for contrast in ("PMN_vs_control", "MN_vs_PMN"):  # the smaller steps, 0.15 -> 0.24 -> 0.36
        step = np.array([p_of(t, "Neutrophil", contrast) for t in myeloid_tests])
        assert np.mean(step < 0.05) >= 0.8
    nulls = np.array(
        [p_of(t, n, "PMN_vs_control") for t in myeloid_tests for n in ("DC2", "Basophil")]
    )
    assert np.median(nulls) > 0.4
    assert np.mean(nulls > 0.2) >= 0.65
    assert np.mean(nulls < 0.05) <= 0.125  # 8 of 80 here; rare labels run a little hot on logit


def test_cell_level_wilcoxon_is_overconfident_with_two_animals(myeloid_tests):
    """Animals differ beyond binomial noise, so pooling ~4000 cells per condition calls the
    planted null DC2/basophil differences significant far more often than 5 %."""
    nulls = np.array(
        [
            p_of(t, n, "PMN_vs_control", "wilcoxon_cells")
            for t in myeloid_tests
            for n in ("DC2", "Basophil")
        ]
    )
    propeller = np.array(
        [p_of(t, n, "PMN_vs_control") for t in myeloid_tests for n in ("DC2", "Basophil")]
    )
    assert np.mean(nulls < 0.05) >= 0.3
    assert np.mean(nulls < 0.05) >= 2.5 * np.mean(propeller < 0.05)
    assert p_of(myeloid_tests[0], "Neutrophil", "MN_vs_control", "wilcoxon_cells") < 1e-10


def test_neutrophil_subtypes_n1_and_n3_rise():
    """N1 0.15 -> 0.36 and N3 0.10 -> 0.20 of neutrophils (400 cells per animal)."""
    table = composition_test(simulate_composition(WITHIN_SHARES["Neutrophil"], 0, cells=400))
    assert p_of(table, "N1", "MN_vs_control") < 0.05
    assert p_of(table, "N1", "overall") < 0.05
    row = table[(table["subtype"] == "N1") & (table["contrast"] == "MN_vs_control")].iloc[0]
    assert row["prop_diff"] == pytest.approx(0.21, abs=0.06)
    assert row["prop_ratio"] > 1.8


def test_table_columns_effects_and_fdr():
    table = fixture_tables()["myeloid"]
    result = composition_test(table)
    assert list(result.columns) == result_columns("subtype")
    assert set(result["method"]) == {"propeller", "wilcoxon_cells"}
    assert len(result) == 2 * 4 * 7
    means = table.groupby(["subtype", "condition"])["proportion"].mean()
    row = result[(result["subtype"] == "pDC") & (result["contrast"] == "MN_vs_PMN")].iloc[0]
    assert row["mean_MN"] == pytest.approx(means["pDC", "MN"])
    assert row["prop_diff"] == pytest.approx(means["pDC", "MN"] - means["pDC", "PMN"])
    assert row["prop_ratio"] == pytest.approx(means["pDC", "MN"] / means["pDC", "PMN"])
    overall = result[result["contrast"] == "overall"]
    assert overall[["prop_diff", "prop_ratio"]].isna().all().all()
    block = result[(result["method"] == "propeller") & (result["contrast"] == "MN_vs_control")]
    p = block["p"].to_numpy()
    order = np.argsort(p)
    expected = np.minimum.accumulate((p[order] * len(p) / np.arange(1, len(p) + 1))[::-1])[::-1]
    assert block["fdr"].to_numpy()[order] == pytest.approx(np.minimum(expected, 1))
    assert result.equals(composition_test(table))  # deterministic


def test_reads_the_table_that_annotate_composition_writes():
    """From cells to the contract table (livermet.annotate.composition) to the test; a label
    that no animal has is not tested, a label absent from two conditions gets no p."""
    rng = np.random.default_rng(5)
    obs = []
    for condition, tumour in (("control", 0), ("PMN", 0), ("MN", 30)):
        for animal in (1, 2):
            labels = ["Myeloid"] * int(rng.integers(200, 260)) + ["TNK"] * 300 + ["Tumour"] * tumour
            obs += [(f"{condition}{animal}", condition, label) for label in labels]
    obs = pd.DataFrame(obs, columns=["sample", "condition", "cell_type"])
    obs["cell_type"] = pd.Categorical(
        obs["cell_type"], categories=["Myeloid", "TNK", "Tumour", "B"]
    )
    table = composition(obs, "cell_type")
    result = composition_test(table, key="cell_type")
    assert "B" not in set(result["cell_type"])
    tumour = result[result["cell_type"] == "Tumour"].set_index(["method", "contrast"])
    assert np.isnan(tumour.loc[("wilcoxon_cells", "PMN_vs_control"), "p"])
    assert tumour.loc[("wilcoxon_cells", "MN_vs_control"), "p"] < 1e-6
    assert tumour.loc[("propeller", "MN_vs_control"), "p"] < 0.05
    assert result["fdr"].notna().sum() == result["p"].notna().sum()


@pytest.mark.parametrize("dataset", DATASETS)
@pytest.mark.parametrize("transform", ["logit", "asin"])
def test_propeller_matches_r(dataset, transform):
    """R 4.2 limma 3.54.1 running speckle's propeller code (tests/fixtures/propeller/propeller.R)
    on the same counts: F and t statistics and p-values to 1e-6 relative."""
    reference = pd.read_csv(FIXTURES / "propeller_R.tsv", sep="\t")
    reference = reference[(reference["dataset"] == dataset) & (reference["transform"] == transform)]
    table = pd.read_csv(FIXTURES / f"{dataset}.tsv", sep="\t")
    ours = composition_test(table, methods=["propeller"], transform=transform)
    merged = reference.merge(
        ours, left_on=["label", "contrast"], right_on=["subtype", "contrast"], validate="1:1"
    )
    assert len(merged) == len(reference) == len(ours) > 0
    np.testing.assert_allclose(merged["statistic_y"], merged["statistic_x"], rtol=1e-6)
    np.testing.assert_allclose(merged["p_y"], merged["p_x"], rtol=1e-6)


def test_robust_prior_discounts_the_hypervariable_label():
    """In the tnk fixture the two planted outliers (the hypervariable Unassigned label, and gdT
    with one animal at zero) get a smaller prior df than the rest (their own variance counts for
    more of their test), as limma's robust eBayes intends."""
    from livermet.composition import transform_proportions

    counts, groups = count_matrix(pd.read_csv(FIXTURES / "tnk.tsv", sep="\t"))
    trans = transform_proportions(counts)
    design = pd.get_dummies(groups).to_numpy(dtype=float)
    beta, *_ = np.linalg.lstsq(design, trans.T.to_numpy(), rcond=None)
    residual = trans.T.to_numpy() - design @ beta
    variances = (residual**2).sum(axis=0) / 3
    fit = fit_f_dist_robustly(variances, 3.0)
    shrunk = pd.Series(fit["df2_shrunk"], index=counts.index)
    assert set(shrunk.nsmallest(2).index) == {"Unassigned", "gdT"}
    assert shrunk[["Unassigned", "gdT"]].max() < shrunk.drop(["Unassigned", "gdT"]).min()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda t: t.drop(columns="n_cells"),
            "table: composition table lacks column(s) ['n_cells']",
        ),
        (
            lambda t: t.drop(columns="subtype"),
            "table: composition table lacks column(s) ['subtype']",
        ),
        (
            lambda t: t.replace({"condition": {"MN": "tumour"}}),
            "table: unknown condition(s) ['tumour']; expected control, PMN, MN",
        ),
        (
            lambda t: t.assign(n_cells=t["n_cells"] - 10_000),
            "table: n_cells must be non-negative whole numbers",
        ),
        (
            lambda t: t[t["sample"] != "PMN_2"],
            "contrast PMN_vs_control: group 'PMN' has 1 sample(s); at least 2 are needed",
        ),
    ],
    ids=["no-n_cells", "no-subtype", "bad-condition", "negative", "one-animal"],
)
def test_bad_tables_are_input_errors(change, message):
    table = change(fixture_tables()["neutrophil"])
    with pytest.raises(InputError) as err:
        composition_test(table)
    assert str(err.value) == message


def test_unknown_method_and_transform_are_input_errors():
    table = fixture_tables()["neutrophil"]
    with pytest.raises(InputError, match="unknown composition method"):
        composition_test(table, methods=["t_test"])
    with pytest.raises(InputError, match="unknown composition transform 'log'"):
        composition_test(table, transform="log")


def test_panel_draws_each_subtype_with_animals_means_and_fdr(tmp_path):
    """fig3E through the panel registry: one plot per subtype, one bar per condition at the mean
    share, one point per animal, and the propeller F-test FDR in the title."""
    from livermet.figures import draw_panel

    table = fixture_tables()["neutrophil"]
    tests = composition_test(table)
    table.to_csv(tmp_path / "composition.tsv", sep="\t", index=False)
    tests.to_csv(tmp_path / "tests.tsv", sep="\t", index=False)
    fig = draw_panel(
        "fig3E",
        {
            "composition_neutrophil": tmp_path / "composition.tsv",
            "composition_test_neutrophil": tmp_path / "tests.tsv",
        },
    )
    axes = [ax for ax in fig.axes if ax.get_visible()]
    assert len(axes) == 4
    fdr = tests[(tests["method"] == "propeller") & (tests["contrast"] == "overall")]
    means = table.groupby(["subtype", "condition"])["proportion"].mean()
    for ax, (_, row) in zip(axes, fdr.iterrows(), strict=True):
        assert ax.get_title() == f"{row['subtype']}\nFDR {row['fdr']:.2g}"
        heights = [bar.get_height() for bar in ax.patches]
        assert heights == pytest.approx([100 * means[row["subtype"], c] for c in CONDITIONS])
        assert sum(len(c.get_offsets()) for c in ax.collections) == 6
