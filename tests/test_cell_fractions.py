"""livermet.cell_fractions: the reference from the labels contract, markers, fraction tables."""

from __future__ import annotations

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from scipy.stats import mannwhitneyu

from livermet import cell_fractions as cf
from livermet.errors import InputError

TYPES = ["B", "Hepatocyte", "Myeloid", "TNK"]
SAMPLES = {"c1": "control", "c2": "control", "p1": "PMN", "p2": "PMN", "m1": "MN"}


def profiles(rng: np.random.Generator, n_genes: int = 300) -> np.ndarray:
    """Relative expression per type (rows sum to 1) with 30 strong markers each."""
    base = rng.lognormal(0, 1, n_genes)
    fold = np.ones((len(TYPES), n_genes))
    for k in range(len(TYPES)):
        fold[k, 30 * k : 30 * (k + 1)] = rng.uniform(8, 16, 30)
    out = base * fold
    return out / out.sum(axis=1, keepdims=True)


@pytest.fixture(scope="module")
def atlas_and_labels():
    """A small atlas (counts + log1p CP10k) and its labels table, 'Unassigned' cells included."""
    rng = np.random.default_rng(3)
    expression = profiles(rng)
    blocks, rows = [], []
    for sample, condition in SAMPLES.items():
        types = rng.choice(len(TYPES), size=200, p=rng.dirichlet([20] * len(TYPES)))
        library = rng.lognormal(np.log(2000), 0.3, size=(200, 1))
        blocks.append(rng.poisson(library * expression[types]))
        for i, k in enumerate(types):
            rows.append((f"{sample}_{i}", sample, condition, TYPES[k]))
    counts = sp.csr_matrix(np.vstack(blocks).astype(np.float32))
    labels = pd.DataFrame(rows, columns=["cell", "sample", "condition", "cell_type"])
    labels["subtype"] = labels["cell_type"]
    labels.loc[::50, ["cell_type", "subtype"]] = "Unassigned"
    normalised = counts.multiply(1e4 / counts.sum(axis=1)).tocsr()
    normalised.data = np.log1p(normalised.data)
    atlas = ad.AnnData(
        X=normalised,
        obs=pd.DataFrame(index=labels["cell"].to_numpy()),
        var=pd.DataFrame(index=[f"g{j}" for j in range(expression.shape[1])]),
        layers={"counts": counts},
    )
    return atlas, labels.set_index("cell"), expression


def bulk_mixture(expression: np.ndarray, fractions: np.ndarray, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    bias = rng.lognormal(0, 0.5, expression.shape[1])
    counts = rng.poisson(1e7 * (fractions @ expression) * bias)
    return pd.DataFrame(
        counts.T,
        index=[f"g{j}" for j in range(expression.shape[1])],
        columns=[f"s{i}" for i in range(len(fractions))],
    )


def test_read_labels_checks_columns_and_duplicates(tmp_path):
    good = pd.DataFrame(
        {"cell": ["a", "b"], "sample": "s", "condition": "PMN", "cell_type": "B", "subtype": "B"}
    )
    good.to_csv(tmp_path / "labels.tsv", sep="\t", index=False)
    assert list(cf.read_labels(tmp_path / "labels.tsv").index) == ["a", "b"]
    good.drop(columns="subtype").to_csv(tmp_path / "bad.tsv", sep="\t", index=False)
    with pytest.raises(InputError, match="lacks column\\(s\\) subtype"):
        cf.read_labels(tmp_path / "bad.tsv")
    pd.concat([good, good]).to_csv(tmp_path / "twice.tsv", sep="\t", index=False)
    with pytest.raises(InputError, match="'a' is listed twice"):
        cf.read_labels(tmp_path / "twice.tsv")


def test_reference_keeps_the_level_conditions_and_types_and_drops_unassigned(atlas_and_labels):
    atlas, labels, _ = atlas_and_labels
    level = cf.Level.from_config(
        {"label": "cell_type", "types": ["B", "TNK"], "conditions": ["control", "PMN"]}
    )
    reference = cf.reference_cells(atlas, labels, level)
    rows = labels.loc[reference.obs_names]
    assert set(rows["condition"]) == {"control", "PMN"}
    assert set(reference.obs["reference_label"]) == {"B", "TNK"}
    expected = labels[
        labels["condition"].isin(["control", "PMN"]) & labels["cell_type"].isin(["B", "TNK"])
    ]
    assert reference.n_obs == len(expected)
    everything = cf.reference_cells(atlas, labels, cf.Level("cell_type"))
    assert cf.UNASSIGNED not in set(everything.obs["reference_label"])
    assert everything.n_obs == (labels["cell_type"] != cf.UNASSIGNED).sum()
    assert (everything.obs["reference_sample"] == labels.loc[everything.obs_names, "sample"]).all()


def test_reference_with_others_resolves_the_types_and_keeps_the_rest_coarse(atlas_and_labels):
    atlas, labels, _ = atlas_and_labels
    labels = labels.copy()
    is_b = labels["cell_type"] == "B"
    labels.loc[is_b, "subtype"] = np.where(np.arange(is_b.sum()) % 2, "B1", "B2")
    labels.loc[labels.index[~is_b][:5], "subtype"] = "Unassigned"  # fine label unknown: left out
    level = cf.Level("subtype", types=("B1", "B2"), others="cell_type")
    reference = cf.reference_cells(atlas, labels, level)
    assert set(reference.obs["reference_label"]) == {"B1", "B2", "Hepatocyte", "Myeloid", "TNK"}
    rows = labels.loc[reference.obs_names]
    resolved = reference.obs["reference_label"].isin(["B1", "B2"]).to_numpy()
    assert (rows["subtype"][resolved] == reference.obs["reference_label"][resolved]).all()
    assert (rows["cell_type"][~resolved] == reference.obs["reference_label"][~resolved]).all()
    assert not rows["subtype"].eq("Unassigned").any()
    only = cf.reference_cells(atlas, labels, cf.Level("subtype", types=("B1", "B2")))
    assert set(only.obs["reference_label"]) == {"B1", "B2"}


def test_reference_errors_name_the_problem(atlas_and_labels):
    atlas, labels, _ = atlas_and_labels
    with pytest.raises(InputError, match="no column 'lineage'"):
        cf.reference_cells(atlas, labels, cf.Level("lineage"))
    with pytest.raises(InputError, match="no atlas cell is in the labels table"):
        cf.reference_cells(
            atlas, labels.set_axis([f"x{i}" for i in range(len(labels))]), cf.Level("cell_type")
        )


def test_a_level_type_without_cells_is_reported_as_nan(atlas_and_labels, caplog):
    # an upstream labelling that found no such cell must not stop the other fractions
    atlas, labels, expression = atlas_and_labels
    level = cf.Level("cell_type", types=("B", "TNK", "Myeloid", "N1"), scopes={"x": ("B", "N1")})
    with caplog.at_level("WARNING", logger="livermet.cell_fractions"):
        reference = cf.reference_cells(atlas, labels, level)
    assert "no reference cell labelled N1: fraction(s) NaN" in caplog.text
    bulk = bulk_mixture(expression, np.random.default_rng(0).dirichlet([5] * len(TYPES), 6))
    table = cf.estimate_fractions(bulk, reference, level, None)
    n1 = table[table["cell_type"] == "N1"]
    assert set(n1["scope"]) == {"all", "x"} and n1["proportion"].isna().all()
    b = table[(table["cell_type"] == "B") & (table["scope"] == "x")]
    np.testing.assert_allclose(b["proportion"], 1)


def test_a_label_with_too_few_cells_is_left_out_of_the_reference(atlas_and_labels, caplog):
    # a few misassigned cells (a re-drawn demo put 1 control cell in a Tumour cluster) are not a
    # profile; a one-cell type used to stop the marker test ("only contain one sample")
    atlas, labels, expression = atlas_and_labels
    labels = labels.copy()
    labels.loc[labels.index[[1, 2, 3]], "cell_type"] = "Tumour"
    level = cf.Level("cell_type", types=("B", "TNK", "Myeloid", "Hepatocyte", "Tumour"))
    with caplog.at_level("WARNING", logger="livermet.cell_fractions"):
        reference = cf.reference_cells(atlas, labels, level)
    assert "fewer than 10 cells: {'Tumour': 3}" in caplog.text
    assert set(reference.obs["reference_label"]) == {"B", "TNK", "Myeloid", "Hepatocyte"}
    assert len(cf.select_markers(reference, cf.MarkerSettings(n_per_type=5, min_log2fc=1))) == 20
    bulk = bulk_mixture(expression, np.random.default_rng(0).dirichlet([5] * len(TYPES), 4))
    table = cf.estimate_fractions(bulk, reference, level, None)
    assert table.loc[table["cell_type"] == "Tumour", "proportion"].isna().all()
    kept = cf.reference_cells(atlas, labels, cf.Level("cell_type", min_cells=3))
    assert (kept.obs["reference_label"] == "Tumour").sum() == 3
    with pytest.raises(InputError, match="no reference label has 1000 cells"):
        cf.reference_cells(atlas, labels, cf.Level("cell_type", min_cells=1000))


def test_the_reference_read_from_files_is_the_one_made_in_memory(atlas_and_labels, tmp_path):
    atlas, labels, _ = atlas_and_labels
    atlas.write_h5ad(tmp_path / "atlas.h5ad")
    labels.reset_index().to_csv(tmp_path / "labels.tsv", sep="\t", index=False)
    level = cf.Level("cell_type", conditions=("control", "PMN"))
    from_files = cf.read_reference(tmp_path / "atlas.h5ad", tmp_path / "labels.tsv", level)
    in_memory = cf.reference_cells(atlas, labels, level)
    assert list(from_files.obs_names) == list(in_memory.obs_names)
    assert (from_files.obs["reference_label"] == in_memory.obs["reference_label"]).all()
    assert (from_files.X != in_memory.X).nnz == 0


def test_markers_are_unique_per_type_and_mostly_the_planted_ones(atlas_and_labels):
    atlas, labels, _ = atlas_and_labels
    reference = cf.reference_cells(atlas, labels, cf.Level("cell_type"))
    markers = cf.select_markers(reference, cf.MarkerSettings(n_per_type=10, min_log2fc=1))
    assert len(markers) == len(set(markers)) == 10 * len(TYPES)
    planted = {f"g{j}" for j in range(30 * len(TYPES))}
    assert set(markers) <= planted
    assert cf.select_markers(reference, cf.MarkerSettings(n_per_type=0)) is None
    with pytest.raises(InputError, match="no marker gene"):
        cf.select_markers(reference, cf.MarkerSettings(min_log2fc=50))


@pytest.mark.parametrize("markers", [["Cd3e", "NA", "Actb", "1-Mar"], None])
def test_markers_read_back_as_written_in_order(tmp_path, markers):
    path = tmp_path / "markers.tsv"
    cf.write_markers(markers, path)
    assert cf.read_markers(path) == markers


def test_a_marker_table_without_its_column_is_refused(tmp_path):
    path = tmp_path / "markers.tsv"
    path.write_text("name\nCd3e\n")
    with pytest.raises(InputError, match="lacks column 'gene'"):
        cf.read_markers(path)


def test_fractions_table_has_scopes_that_sum_to_one_and_recover_the_mixture(atlas_and_labels):
    atlas, labels, expression = atlas_and_labels
    level = cf.Level("cell_type", scopes={"immune": ("TNK", "Myeloid", "B")})
    reference = cf.reference_cells(atlas, labels, level)
    truth = np.random.default_rng(5).dirichlet([10] * len(TYPES), size=12)
    bulk = bulk_mixture(expression, truth)
    groups = pd.Series(["control"] * 6 + ["PMN"] * 6, index=bulk.columns)
    markers = cf.select_markers(reference, cf.MarkerSettings(n_per_type=20, min_log2fc=1))
    table = cf.estimate_fractions(bulk, reference, level, markers, groups)
    assert list(table.columns) == cf.FRACTION_COLUMNS
    sums = table.groupby(["sample", "scope"])["proportion"].sum()
    np.testing.assert_allclose(sums, 1, atol=1e-9)
    assert set(table.loc[table["scope"] == "immune", "cell_type"]) == {"TNK", "Myeloid", "B"}
    assert table.groupby("sample")["group"].first().loc[groups.index].equals(groups)
    wide = table[table["scope"] == "all"].pivot(
        index="sample", columns="cell_type", values="proportion"
    )
    for k, cell_type in enumerate(TYPES):
        r = np.corrcoef(wide.loc[bulk.columns, cell_type], truth[:, k])[0, 1]
        assert r > 0.9, f"{cell_type}: r = {r:.2f}"
    with pytest.raises(InputError, match="scope 'x': N1 not in the reference types"):
        cf.estimate_fractions(
            bulk, reference, cf.Level("cell_type", scopes={"x": ("B", "N1")}), markers
        )


def test_bulk_from_log2_is_the_linear_scale():
    log2 = pd.DataFrame({"a": [0.0, 3.0], "b": [1.0, 10.0]}, index=["x", "y"])
    assert cf.bulk_from_log2(log2).to_numpy().tolist() == [[1.0, 2.0], [8.0, 1024.0]]
    with pytest.raises(InputError, match="missing values"):
        cf.bulk_from_log2(log2.where(log2 > 0))


def test_compare_groups_is_the_two_sided_mann_whitney_per_group():
    rng = np.random.default_rng(0)
    control, pmn, mn = rng.normal(0.2, 0.02, 6), rng.normal(0.3, 0.02, 7), rng.normal(0.2, 0.02, 5)
    fractions = pd.DataFrame(
        {
            "sample": [f"s{i}" for i in range(18)],
            "group": ["control"] * 6 + ["PMN"] * 7 + ["MN"] * 5,
            "scope": "immune",
            "cell_type": "Myeloid",
            "proportion": np.concatenate([control, pmn, mn]),
        }
    )
    tests = cf.compare_groups(fractions).set_index("group")
    assert list(tests.index) == ["PMN", "MN"]
    assert tests.loc["PMN", "pval"] == pytest.approx(mannwhitneyu(pmn, control).pvalue)
    assert tests.loc["PMN", "n_group"] == 7 and tests.loc["PMN", "n_ref"] == 6
    assert tests.loc["PMN", "median_group"] == pytest.approx(np.median(pmn))
    assert tests.loc["PMN", "pval"] < 0.01 < tests.loc["MN", "pval"]


def test_panels_show_each_group_and_the_wilcoxon_p(tmp_path):
    from livermet.figures import draw_panel

    rng = np.random.default_rng(2)
    rows = []
    for i, group in enumerate(["control"] * 5 + ["PMN"] * 6):
        shares = rng.dirichlet([10, 10, 10, 5])
        for name, share in zip(("N0", "N1", "N2", "N3"), shares, strict=True):
            rows.append((f"s{i}", group, "neutrophil", name, share))
        rows.append((f"s{i}", group, "all", "Hepatocyte", 0.5))
    fractions = pd.DataFrame(rows, columns=cf.FRACTION_COLUMNS)
    immune = fractions[fractions["scope"] == "neutrophil"].assign(cohort="c1")
    immune = immune.replace({"N0": "TNK", "N1": "Myeloid", "N2": "B"})
    immune = immune[immune["cell_type"] != "N3"]
    tests = cf.compare_groups(immune)
    for name, table in (("fractions", fractions), ("immune", immune), ("tests", tests)):
        table.to_csv(tmp_path / f"{name}.tsv", sep="\t", index=False)
    fig = draw_panel(
        "fig1J",
        {"immune_fractions": tmp_path / "immune.tsv", "immune_tests": tmp_path / "tests.tsv"},
    )
    p = tests.set_index("cell_type").loc["Myeloid", "pval"]
    assert fig.axes[0].get_title() == f"PMN vs control: p = {p:.2g}"
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["control", "PMN"]
    fig = draw_panel("fig3F", {"neutrophil_fractions_fig2I": tmp_path / "fractions.tsv"})
    titles = [ax.get_title().split("\n")[0] for ax in fig.axes]
    assert titles == ["N0", "N1", "N2", "N3"]
