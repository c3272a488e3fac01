"""Cell-cell communication (Fig 6, S4): planted pair changes come out, stable pairs do not.

A small atlas with real mouse genes and the paper's groups: Cd274 rises in MN in neutrophils,
macrophages and hepatocytes and Pdcd1 in exhausted CD8 T cells; App rises in N1 neutrophils and
Cd74 in MAC2 macrophages. Pecam1-Pecam1 and Icam1-(Itgal+Itgb2) (a complex) stay constant. On
the demo study the pairs it plants come out and the one it does not plant does not
(:func:`check_planted_communication`, run by tests/test_workflow.py on the workflow's demo run,
with the workflow's own subclusters as the labels).
"""

from __future__ import annotations

import logging
from pathlib import Path

import anndata as ad
import matplotlib
import numpy as np
import pandas as pd
import pytest
import scanpy as sc
import scipy.sparse as sp
from matplotlib.figure import Figure

from livermet import CONDITIONS, cellchat
from livermet.demo_biology import planted_genes
from livermet.errors import InputError
from livermet.figures import draw_panel
from livermet.io import read_table, write_table
from livermet.panels import PANELS

matplotlib.use("Agg")

RESOURCE = (
    Path(__file__).resolve().parents[1]
    / "resources"
    / "cellchat"
    / "cellchatdb_v2_mouse_contact.tsv"
)
NEUTROPHILS = ["N1", "N2"]
MACROPHAGES = ["MAC2", "Kupffer1"]
CD274_SOURCES = [*NEUTROPHILS, *MACROPHAGES, "Hepatocyte"]
LABELS = [*NEUTROPHILS, *MACROPHAGES, "Hepatocyte", "CD8_exhausted"]
GROUPINGS = {"lineage": {"Neutrophil": NEUTROPHILS, "Macrophage": MACROPHAGES}, "subtype": {}}
CELLS_PER_GROUP = 60

# gene -> {label: rate}, or {label: (control, PMN, MN) rates}; unlisted labels get 0.05
RATES = {
    "Actb": {g: 5.0 for g in LABELS},
    "Malat1": {g: 6.0 for g in LABELS},
    "S100a8": {g: 5.0 for g in NEUTROPHILS},
    "Prok2": {"N1": 3.0},
    "Adgre1": {g: 2.0 for g in MACROPHAGES},
    "Clec4f": {"Kupffer1": 3.0},
    "Alb": {"Hepatocyte": 8.0},
    "Cd8a": {"CD8_exhausted": 3.0},
    "Cd6": {"CD8_exhausted": 1.0},
    "Cd274": {g: (0.3, 0.6, 3.0) for g in CD274_SOURCES},
    "Pdcd1": {"CD8_exhausted": (0.4, 0.8, 3.0)},
    "App": {"N1": (0.4, 0.6, 3.0)},
    "Cd74": {"MAC2": (1.0, 1.2, 4.0), "Kupffer1": 1.0},
    "Pecam1": {"Hepatocyte": 3.0, "Kupffer1": 3.0},
    "Icam1": {"Hepatocyte": 3.0},
    "Itgal": {"CD8_exhausted": 2.0, **{g: 2.0 for g in NEUTROPHILS}},
    "Itgb2": {"CD8_exhausted": 2.0, **{g: 2.0 for g in NEUTROPHILS}},
}


def rate(spec: dict, label: str, stage: int) -> float:
    value = spec.get(label, 0.05)
    return value[stage] if isinstance(value, tuple) else value


def synthetic_atlas(seed: int = 7) -> ad.AnnData:
    """Poisson counts per label and condition; X log1p normalised to 1e4, counts in a layer, and
    each grouping's groups in ``obs["group_<grouping>"]``."""
    rng = np.random.default_rng(seed)
    genes = list(RATES)
    blocks, obs = [], []
    for stage, condition in enumerate(CONDITIONS):
        for label in LABELS:
            rates = [rate(RATES[gene], label, stage) for gene in genes]
            blocks.append(rng.poisson(rates, size=(CELLS_PER_GROUP, len(genes))))
            obs += [(label, condition)] * CELLS_PER_GROUP
    frame = pd.DataFrame(obs, columns=["subtype", "condition"])
    frame.index = [f"cell{i}" for i in range(len(frame))]
    frame["condition"] = pd.Categorical(frame["condition"], categories=CONDITIONS, ordered=True)
    counts = sp.csr_matrix(np.vstack(blocks).astype(np.float32))
    adata = ad.AnnData(counts, obs=frame, var=pd.DataFrame(index=genes))
    adata.layers["counts"] = counts.copy()
    sc.pp.normalize_total(adata, target_sum=1e4)
    sc.pp.log1p(adata)
    for grouping, merge in GROUPINGS.items():
        adata.obs[f"group_{grouping}"] = cellchat.merged_groups(adata.obs["subtype"], merge)
    return adata


def communication_tables(
    adata: ad.AnnData, resource: pd.DataFrame, seed: int, conditions=CONDITIONS
) -> dict[str, pd.DataFrame]:
    """Each grouping's communication in every condition, stacked (as the compare step reads)."""
    tables = {}
    for grouping in GROUPINGS:
        settings = cellchat.CellChatSettings(groupby=f"group_{grouping}", seed=seed)
        tables[grouping] = pd.concat(
            [cellchat.communication(adata, c, resource, settings) for c in conditions],
            ignore_index=True,
        )
    return tables


@pytest.fixture(scope="module")
def atlas() -> ad.AnnData:
    return synthetic_atlas()


@pytest.fixture(scope="module")
def resource() -> pd.DataFrame:
    return cellchat.load_contact_resource(RESOURCE)


@pytest.fixture(scope="module")
def tables(atlas, resource) -> dict[str, pd.DataFrame]:
    return communication_tables(atlas, resource, seed=11)


@pytest.fixture(scope="module")
def compared(tables, atlas) -> dict[str, pd.DataFrame]:
    return cellchat.compare_conditions(
        tables["lineage"], tables["subtype"], atlas, GROUPINGS["lineage"], up_fold=1.25
    )


def pair_probabilities(table: pd.DataFrame, source: str, target: str, name: str) -> pd.DataFrame:
    """prob and significant of one pair per condition (0 and False where it was not scored)."""
    rows = table[
        (table["source"] == source)
        & (table["target"] == target)
        & (table["interaction_name"] == name)
    ].set_index("condition")
    return pd.DataFrame(
        {
            "prob": rows["prob"].reindex(CONDITIONS, fill_value=0.0),
            "significant": rows["significant"].reindex(CONDITIONS, fill_value=False),
        }
    )


def keys(table: pd.DataFrame) -> set[tuple[str, str, str]]:
    return set(zip(table["source"], table["target"], table["interaction_name"], strict=True))


# --- what the demo plants, checked on the workflow's demo run (tests/test_workflow.py) ----------
PLANTED_UP = (
    ("lineage", "Neutrophil", "CD8_exhausted", "CD274_PDCD1"),
    ("lineage", "Macrophage", "CD8_exhausted", "CD274_PDCD1"),
    ("lineage", "Hepatocyte", "CD8_exhausted", "CD274_PDCD1"),
    ("lineage", "Neutrophil", "Macrophage", "APP_CD74"),
    ("subtype", "N1", "MAC2", "APP_CD74"),
)
"""(grouping, sender, receiver, pair) the demo plants up in MN (demo_biology ``checkpoint_up``:
Cd274 in neutrophils, macrophages, hepatocytes, Pdcd1 in exhausted T; ``app_cd74_up``: App in
neutrophils, Cd74 in MAC2)."""
UNPLANTED_QUANTILE = 0.9
"""Each planted pair's MN / control probability must exceed this quantile of the pairs the demo
does not plant. An unplanted pair is no fixed null: CellChat scores each stage on its own, and
over five full demo runs of four generator versions (2026-12-03) the unplanted pairs' median
ratio went 0.68-1.63 and single pairs 0.2-3.8 (Thy1-Adgre5 from endothelial cells to
macrophages, the null before: 0.69, 1.40, 0.83, not significant, 1.40), while the planted pairs,
absent in control, stood above every unplanted one."""


def check_planted_communication(results: Path) -> None:
    """Assert on a finished run's ``results/cellchat``: the totals equal the count recomputed
    from the per-pair tables; every planted pair is significant in MN, stronger in MN than in
    control, in the up-in-MN table, and rises more than most pairs the demo does not plant
    (:data:`UNPLANTED_QUANTILE`)."""
    folder = Path(results) / "cellchat"
    tables = {
        grouping: cellchat.read_communication(sorted((folder / grouping).glob("*.tsv")))
        for grouping in GROUPINGS
    }
    totals = read_table(folder / "totals.tsv")
    for grouping, table in tables.items():
        significant = table[table["significant"]].groupby("condition")["prob"]
        reported = totals[totals["grouping"] == grouping].set_index("condition")
        for condition in CONDITIONS:
            n = int(significant.size().get(condition, 0))
            assert reported.loc[condition, "n_interactions"] == n, (grouping, condition)
            strength = float(significant.sum().get(condition, 0.0))
            assert reported.loc[condition, "strength"] == pytest.approx(strength, rel=1e-5)
    up = read_table(folder / "up_in_MN.tsv")
    up_keys = set(
        zip(up["grouping"], up["source"], up["target"], up["interaction_name"], strict=True)
    )
    unplanted = unplanted_mn_to_control_ratios(tables["lineage"]).quantile(UNPLANTED_QUANTILE)
    for key in PLANTED_UP:
        probs = pair_probabilities(tables[key[0]], *key[1:])
        assert probs.loc["MN", "significant"], key
        assert probs.loc["MN", "prob"] > probs.loc["control", "prob"], key
        assert key in up_keys, key
        with np.errstate(divide="ignore"):
            assert probs.loc["MN", "prob"] / probs.loc["control", "prob"] > unplanted, key


def unplanted_mn_to_control_ratios(table: pd.DataFrame) -> pd.Series:
    """MN / control probability of each pair significant in both stages whose genes the demo
    does not plant."""
    planted = planted_genes()
    genes = table["ligand"].str.split("_") + table["receptor"].str.split("_")
    unplanted = table[table["significant"] & ~genes.map(lambda pair: bool(planted & set(pair)))]
    wide = unplanted.pivot_table(
        index=["source", "target", "interaction_name"], columns="condition", values="prob"
    ).dropna(subset=["control", "MN"])
    return wide["MN"] / wide["control"]


# --- the resource ----------------------------------------------------------------------------
def test_paper_pairs_are_contact_pairs_of_cellchatdb_mouse(resource):
    pairs = resource.set_index("interaction_name")
    assert (pairs.loc["CD274_PDCD1", ["ligand", "receptor"]] == ["Cd274", "Pdcd1"]).all()
    assert (pairs.loc["APP_CD74", ["ligand", "receptor"]] == ["App", "Cd74"]).all()
    assert pairs.loc["ICAM1_ITGAL_ITGB2", "receptor_genes"] == "Itgal_Itgb2"
    assert set(resource["annotation"]) == {"Cell-Cell Contact"}
    assert len(resource) == 662


def test_resource_with_other_annotations_is_refused(resource, tmp_path):
    mixed = resource.head(3).assign(
        annotation=["Cell-Cell Contact", "Secreted Signaling", "ECM-Receptor"]
    )
    mixed.to_csv(tmp_path / "mixed.tsv", sep="\t", index=False)
    with pytest.raises(InputError, match="Cell-Cell Contact"):
        cellchat.load_contact_resource(tmp_path / "mixed.tsv")


# --- labels and groups -----------------------------------------------------------------------
def test_groups_pool_the_merged_labels_and_leave_unassigned_cells_out():
    labels = pd.Series(["N1", "N3", "MAC2", "CD8_exhausted", "Hepatocyte", "Unassigned"])
    groups = cellchat.merged_groups(labels, {"Neutrophil": ["N1", "N3"], "Macrophage": ["MAC2"]})
    assert groups.iloc[:5].tolist() == [
        "Neutrophil",
        "Neutrophil",
        "Macrophage",
        "CD8_exhausted",
        "Hepatocyte",
    ]
    assert pd.isna(groups.iloc[5])
    assert cellchat.merged_groups(labels, {}).iloc[:2].tolist() == ["N1", "N3"]


def test_a_label_merged_into_two_groups_is_refused():
    with pytest.raises(InputError, match="N1 is merged into both A and B"):
        cellchat.merged_groups(pd.Series(["N1"]), {"A": ["N1"], "B": ["N1"]})


def test_labels_must_cover_every_atlas_cell(tmp_path):
    path = tmp_path / "labels.tsv"
    pd.DataFrame({"cell": ["a", "b"], "subtype": ["N1", None]}).to_csv(path, sep="\t", index=False)
    labels = cellchat.read_labels(path, pd.Index(["b", "a"]))
    assert labels.tolist() == ["Unassigned", "N1"]
    with pytest.raises(InputError, match=r"labels.tsv: no label for 1 atlas cells, e\.g\. c"):
        cellchat.read_labels(path, pd.Index(["a", "c"]))


# --- communication on the synthetic atlas ----------------------------------------------------
def test_cd274_pdcd1_is_significant_in_mn_and_stronger_than_control(tables):
    for grouping, sources in (
        ("lineage", ["Neutrophil", "Macrophage", "Hepatocyte"]),
        ("subtype", CD274_SOURCES),
    ):
        table = tables[grouping]
        for source in sources:
            probs = pair_probabilities(table, source, "CD8_exhausted", "CD274_PDCD1")
            assert probs.loc["MN", "significant"], (grouping, source)
            assert probs.loc["MN", "prob"] > 1.5 * probs.loc["control", "prob"], (grouping, source)
        up = cellchat.upregulated_pairs(table, "MN", targets=["CD8_exhausted"])
        assert set(sources) <= set(up.loc[up["interaction_name"] == "CD274_PDCD1", "source"])


def test_app_cd74_from_n1_to_mac2_rises_in_mn(tables):
    table = tables["subtype"]
    probs = pair_probabilities(table, "N1", "MAC2", "APP_CD74")
    assert probs.loc["MN", "significant"]
    assert probs.loc["MN", "prob"] > probs.loc["control", "prob"]
    up = cellchat.upregulated_pairs(table, "MN", sources=NEUTROPHILS, targets=MACROPHAGES)
    assert ("N1", "MAC2", "APP_CD74") in keys(up)
    assert set(up["source"]) <= set(NEUTROPHILS) and set(up["target"]) <= set(MACROPHAGES)


def test_stable_pairs_are_significant_everywhere_but_not_up(tables):
    table = tables["subtype"]
    up_keys = keys(cellchat.upregulated_pairs(table, "MN"))
    for key in [
        ("Hepatocyte", "Kupffer1", "PECAM1_PECAM1"),
        ("Hepatocyte", "CD8_exhausted", "ICAM1_ITGAL_ITGB2"),
    ]:
        assert pair_probabilities(table, *key)["significant"].all(), key
        assert key not in up_keys


def test_totals_match_the_per_pair_table(tables, compared):
    totals = compared["totals"].set_index(["grouping", "condition"])
    for grouping, table in tables.items():
        for condition in CONDITIONS:
            significant = table[(table["condition"] == condition) & table["significant"]]
            row = totals.loc[(grouping, condition)]
            assert row["n_interactions"] == len(significant)
            assert row["strength"] == pytest.approx(significant["prob"].sum())
    counts = cellchat.group_counts(tables["subtype"], LABELS).groupby("condition")["count"].sum()
    reported = totals.loc["subtype", "n_interactions"]
    assert counts.reindex(CONDITIONS).tolist() == reported.reindex(CONDITIONS).tolist()
    assert (
        totals.loc[("lineage", "MN"), "n_interactions"]
        > totals.loc[("lineage", "control"), "n_interactions"]
    )


def test_same_seed_same_pvalues(atlas, resource, tables):
    settings = cellchat.CellChatSettings(groupby="group_subtype", seed=11)
    again = cellchat.communication(atlas, "MN", resource, settings)
    first = tables["subtype"].query("condition == 'MN'").reset_index(drop=True)
    pd.testing.assert_frame_equal(first, again)


def test_small_groups_are_left_out(atlas, resource):
    settings = cellchat.CellChatSettings(groupby="group_subtype", min_cells=CELLS_PER_GROUP + 1)
    assert cellchat.communication(atlas, "MN", resource, settings).empty


def test_tables_read_back_with_their_types_even_when_empty(tables, tmp_path):
    write_table(tables["subtype"].query("condition == 'MN'"), tmp_path / "MN.tsv")
    write_table(pd.DataFrame(columns=cellchat.TABLE_COLUMNS), tmp_path / "control.tsv")
    table = cellchat.read_communication([tmp_path / "control.tsv", tmp_path / "MN.tsv"])
    assert table["significant"].dtype == bool and table["prob"].dtype == float
    assert len(table) == (tables["subtype"]["condition"] == "MN").sum()
    empty = cellchat.read_communication([tmp_path / "control.tsv"])
    assert cellchat.interaction_totals(empty)["n_interactions"].tolist() == [0, 0, 0]


# --- comparison tables and panels ------------------------------------------------------------
def test_comparison_tables_show_the_planted_pairs(compared):
    c_pairs = compared["fig6C_bubbles"].query("interaction_name == 'CD274_PDCD1'")
    assert set(c_pairs["source"]) == {"Neutrophil", "Macrophage", "Hepatocyte"}
    assert set(compared["fig6C_bubbles"]["target"]) == {"CD8_exhausted"}
    assert ("Neutrophil", "Macrophage", "APP_CD74") in keys(compared["fig6E_bubbles"])
    assert ("N1", "MAC2", "APP_CD74") in keys(compared["figS4D_bubbles"])
    for bubbles in ("fig6C_bubbles", "fig6E_bubbles", "figS4A_bubbles", "figS4D_bubbles"):
        per_condition = compared[bubbles].groupby("condition").size()
        assert per_condition.index.tolist() == sorted(CONDITIONS)
        assert per_condition.nunique() == 1, bubbles  # every pair shown in every stage
    counts = compared["group_counts"]
    assert len(counts) == len(CONDITIONS) * len(cellchat.FIG6B_GROUPS) ** 2
    assert counts.query("source == 'NK'")["count"].eq(0).all()  # no NK cells here


def test_expression_tables_report_mean_and_fraction_by_condition(compared):
    d = compared["fig6D_expression"]
    assert list(dict.fromkeys(d["gene"] + ":" + d["group"])) == [
        "Cd274:Neutrophil",
        "Cd274:Hepatocyte",
        "Cd274:Macrophage",
        "Cd6:CD8_exhausted",
        "Pdcd1:CD8_exhausted",
    ]
    assert d["fraction_expressing"].between(0, 1).all()
    pdcd1 = d[d["gene"] == "Pdcd1"].set_index("condition")["mean_expression"]
    assert pdcd1["MN"] > pdcd1["PMN"] > pdcd1["control"]
    neutrophil = compared["fig6F_expression"].set_index("condition")
    assert (neutrophil["n_cells"] == 2 * CELLS_PER_GROUP).all()  # N1 + N2 pooled
    s4 = compared["figS4_neutrophil_expression"]
    assert set(s4["group"]) == set(NEUTROPHILS) and set(s4["gene"]) == {"Cd274", "App"}


def test_a_group_the_labels_lack_is_left_out_with_a_warning(atlas, caplog):
    with caplog.at_level(logging.WARNING):
        expr = cellchat.expression_by_condition(atlas, {"App": ["N9", "N1"]}, "group_subtype")
    assert set(expr["group"]) == {"N1"}
    assert "N9" in caplog.text


def test_an_unknown_gene_is_refused(atlas):
    with pytest.raises(InputError, match="gene Xyz1 is not in the data"):
        cellchat.expression_by_condition(atlas, {"Xyz1": ["N1"]}, "group_subtype")


def test_every_fig6_and_s4_panel_draws_from_its_table(compared, tmp_path):
    panels = [name for name in PANELS if name.startswith(("fig6", "figS4"))]
    assert len(panels) == 13
    for name in panels:
        inputs = {}
        for input_name in PANELS[name].inputs:
            inputs[input_name] = tmp_path / f"{input_name}.tsv"
            write_table(compared[input_name.removeprefix("cellchat_")], inputs[input_name])
        assert isinstance(draw_panel(name, inputs), Figure), name


def test_a_bubble_panel_without_pairs_still_draws(tmp_path):
    path = tmp_path / "bubbles.tsv"
    columns = ["condition", *cellchat.PAIR_KEY, "interaction_name_2", "prob", "pval"]
    write_table(pd.DataFrame(columns=columns), path)
    assert isinstance(draw_panel("fig6E", {"cellchat_fig6E_bubbles": path}), Figure)
