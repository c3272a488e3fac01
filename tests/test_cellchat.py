"""Cell-cell communication (Fig 6): planted ligand-receptor changes come out, stable ones do not.

A small atlas with real mouse genes and the paper's groups: Cd274 rises in MN in neutrophils,
macrophages and hepatocytes and Pdcd1 in exhausted CD8 T cells; App rises in N1 neutrophils and
Cd74 in MAC2 macrophages. Pecam1-Pecam1 and Icam1-(Itgal+Itgb2) (a complex) stay constant.
"""

from __future__ import annotations

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
from livermet.errors import InputError
from livermet.figures import fig6

matplotlib.use("Agg")

RESOURCE = (
    Path(__file__).resolve().parents[1]
    / "resources"
    / "cellchat"
    / "cellchatdb_v2_mouse_contact.tsv"
)
NEUTROPHILS = ["Neutrophil_N1", "Neutrophil_N2"]
MACROPHAGES = ["MAC2", "Kupffer1"]
CD274_SOURCES = [*NEUTROPHILS, *MACROPHAGES, "Hepatocyte"]
GROUPS = [*NEUTROPHILS, *MACROPHAGES, "Hepatocyte", "CD8_exhausted"]
CELLS_PER_GROUP = 60

# gene -> {group: rate}, or {group: (control, PMN, MN) rates}; unlisted groups get 0.05
RATES = {
    "Actb": {g: 5.0 for g in GROUPS},
    "Malat1": {g: 6.0 for g in GROUPS},
    "S100a8": {g: 5.0 for g in NEUTROPHILS},
    "Prok2": {"Neutrophil_N1": 3.0},
    "Adgre1": {g: 2.0 for g in MACROPHAGES},
    "Clec4f": {"Kupffer1": 3.0},
    "Alb": {"Hepatocyte": 8.0},
    "Cd8a": {"CD8_exhausted": 3.0},
    "Cd274": {g: (0.3, 0.6, 3.0) for g in CD274_SOURCES},
    "Pdcd1": {"CD8_exhausted": (0.4, 0.8, 3.0)},
    "App": {"Neutrophil_N1": (0.4, 0.6, 3.0)},
    "Cd74": {"MAC2": (1.0, 1.2, 4.0), "Kupffer1": 1.0},
    "Pecam1": {"Hepatocyte": 3.0, "Kupffer1": 3.0},
    "Icam1": {"Hepatocyte": 3.0},
    "Itgal": {"CD8_exhausted": 2.0, **{g: 2.0 for g in NEUTROPHILS}},
    "Itgb2": {"CD8_exhausted": 2.0, **{g: 2.0 for g in NEUTROPHILS}},
}


def rate(spec: dict, group: str, stage: int) -> float:
    value = spec.get(group, 0.05)
    return value[stage] if isinstance(value, tuple) else value


def synthetic_atlas(seed: int = 7) -> ad.AnnData:
    """Poisson counts per group and condition; X log1p normalised to 1e4, counts in a layer."""
    rng = np.random.default_rng(seed)
    genes = list(RATES)
    blocks, obs = [], []
    for stage, condition in enumerate(CONDITIONS):
        for group in GROUPS:
            rates = [rate(RATES[gene], group, stage) for gene in genes]
            blocks.append(rng.poisson(rates, size=(CELLS_PER_GROUP, len(genes))))
            obs += [(group, condition)] * CELLS_PER_GROUP
    frame = pd.DataFrame(obs, columns=["cell_type", "condition"])
    frame.index = [f"cell{i}" for i in range(len(frame))]
    frame["condition"] = pd.Categorical(frame["condition"], categories=CONDITIONS, ordered=True)
    counts = sp.csr_matrix(np.vstack(blocks).astype(np.float32))
    adata = ad.AnnData(counts, obs=frame, var=pd.DataFrame(index=genes))
    adata.layers["counts"] = counts.copy()
    sc.pp.normalize_total(adata, target_sum=1e4)
    sc.pp.log1p(adata)
    return adata


@pytest.fixture(scope="module")
def atlas() -> ad.AnnData:
    return synthetic_atlas()


@pytest.fixture(scope="module")
def resource() -> pd.DataFrame:
    return cellchat.load_contact_resource(RESOURCE)


@pytest.fixture(scope="module")
def table(atlas, resource) -> pd.DataFrame:
    settings = cellchat.CellChatSettings(seed=11)
    return pd.concat(
        [cellchat.communication(atlas, c, resource, settings) for c in CONDITIONS],
        ignore_index=True,
    )


def row(table, condition, source, target, name):
    hit = table[
        (table["condition"] == condition)
        & (table["source"] == source)
        & (table["target"] == target)
        & (table["interaction_name"] == name)
    ]
    return hit.iloc[0] if len(hit) else None


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


def test_cd274_pdcd1_is_significant_in_mn_and_stronger_than_control(table):
    for source in CD274_SOURCES:
        mn = row(table, "MN", source, "CD8_exhausted", "CD274_PDCD1")
        assert mn is not None and mn["significant"], source
        control = row(table, "control", source, "CD8_exhausted", "CD274_PDCD1")
        assert control is None or mn["prob"] > 1.5 * control["prob"], source
    up = cellchat.upregulated_pairs(table, "MN", targets=["CD8_exhausted"])
    assert set(CD274_SOURCES) <= set(up.loc[up["interaction_name"] == "CD274_PDCD1", "source"])


def test_app_cd74_from_n1_to_mac2_rises_in_mn(table):
    mn = row(table, "MN", "Neutrophil_N1", "MAC2", "APP_CD74")
    assert mn is not None and mn["significant"]
    control = row(table, "control", "Neutrophil_N1", "MAC2", "APP_CD74")
    assert control is None or mn["prob"] > control["prob"]
    up = cellchat.upregulated_pairs(table, "MN", sources=NEUTROPHILS, targets=MACROPHAGES)
    assert ("Neutrophil_N1", "MAC2", "APP_CD74") in set(
        zip(up["source"], up["target"], up["interaction_name"], strict=True)
    )
    assert set(up["source"]) <= set(NEUTROPHILS) and set(up["target"]) <= set(MACROPHAGES)


def test_stable_pairs_are_significant_everywhere_but_not_up(table):
    stable = [
        ("Hepatocyte", "Kupffer1", "PECAM1_PECAM1"),
        ("Hepatocyte", "CD8_exhausted", "ICAM1_ITGAL_ITGB2"),
    ]
    up = cellchat.upregulated_pairs(table, "MN")
    up_keys = set(zip(up["source"], up["target"], up["interaction_name"], strict=True))
    for key in stable:
        for condition in CONDITIONS:
            found = row(table, condition, *key)
            assert found is not None and found["significant"], (condition, key)
        assert key not in up_keys


def test_totals_match_the_per_pair_table(table):
    totals = cellchat.interaction_totals(table).set_index("condition")
    counts = cellchat.group_counts(table, GROUPS).groupby("condition")["count"].sum()
    for condition in CONDITIONS:
        significant = table[(table["condition"] == condition) & table["significant"]]
        assert totals.loc[condition, "n_interactions"] == len(significant) == counts[condition]
        assert totals.loc[condition, "strength"] == pytest.approx(significant["prob"].sum())
    assert totals.loc["MN", "n_interactions"] > totals.loc["control", "n_interactions"]


def test_same_seed_same_pvalues(atlas, resource, table):
    again = cellchat.communication(atlas, "MN", resource, cellchat.CellChatSettings(seed=11))
    first = table[table["condition"] == "MN"].reset_index(drop=True)
    pd.testing.assert_frame_equal(first, again)


def test_small_groups_are_left_out(atlas, resource):
    settings = cellchat.CellChatSettings(min_cells=CELLS_PER_GROUP + 1)
    assert cellchat.communication(atlas, "MN", resource, settings).empty


def test_expression_by_condition_reports_mean_and_fraction(atlas):
    expr = cellchat.expression_by_condition(
        atlas, {"Cd274": NEUTROPHILS, "Pdcd1": ["CD8_exhausted"]}, "cell_type"
    )
    assert set(expr["gene"] + ":" + expr["group"]) == {
        "Cd274:Neutrophil_N1",
        "Cd274:Neutrophil_N2",
        "Pdcd1:CD8_exhausted",
    }
    assert expr["fraction_expressing"].between(0, 1).all()
    assert (expr["n_cells"] == CELLS_PER_GROUP).all()
    pdcd1 = expr[expr["gene"] == "Pdcd1"].set_index("condition")["mean_expression"]
    assert pdcd1["MN"] > pdcd1["PMN"] > pdcd1["control"]


def test_expression_of_an_unknown_group_is_refused(atlas):
    with pytest.raises(InputError, match="Neutrophil_N9"):
        cellchat.expression_by_condition(atlas, {"App": ["Neutrophil_N9"]}, "cell_type")


def test_communication_groups_prefer_the_subtype():
    obs = pd.DataFrame(
        {
            "cell_type": ["Myeloid", "TNK", "Hepatocyte"],
            "subtype": pd.Categorical(["N1", "CD8_exhausted", None]),
        }
    )
    assert cellchat.communication_groups(obs).tolist() == ["N1", "CD8_exhausted", "Hepatocyte"]
    refined = cellchat.communication_groups(obs, refine=["TNK"])
    assert refined.tolist() == ["Myeloid", "CD8_exhausted", "Hepatocyte"]


def test_every_fig6_panel_draws(atlas, table):
    up_t = cellchat.upregulated_pairs(table, "MN", targets=["CD8_exhausted"])
    up_m = cellchat.upregulated_pairs(table, "MN", sources=NEUTROPHILS, targets=MACROPHAGES)
    expr = cellchat.expression_by_condition(atlas, {"App": NEUTROPHILS}, "cell_type")
    figures = [
        fig6.interaction_counts_strength(cellchat.interaction_totals(table)),
        fig6.group_count_heatmaps(cellchat.group_counts(table, GROUPS)),
        fig6.mn_up_bubbles(cellchat.bubble_data(table, up_t)),
        fig6.cd274_pdcd1_expression(expr),
        fig6.neutrophil_macrophage_bubbles(cellchat.bubble_data(table, up_m)),
        fig6.app_expression(expr),
        fig6.cd74_expression(expr),
    ]
    assert all(isinstance(figure, Figure) for figure in figures)
