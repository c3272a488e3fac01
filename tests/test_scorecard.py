"""The reproduction scorecard: the claims file, each check kind, and verdicts on planted truth."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
import yaml

from livermet import CONDITIONS
from livermet.demo_biology import DEFAULT_EFFECTS
from livermet.demo_composition import condition_shares
from livermet.errors import InputError
from livermet.panels import PANELS
from livermet.report import figure_index, panel_figure, table_html
from livermet.scorecard import (
    CHECKS,
    COLUMNS,
    NOT_REPRODUCED,
    NOT_TESTABLE,
    REPRODUCED,
    claim_input_paths,
    evaluate_claims,
    load_claims,
)

REPO = Path(__file__).resolve().parents[1]
CLAIMS = REPO / "resources" / "claims.yaml"


@pytest.fixture(scope="module")
def claims():
    return load_claims(CLAIMS)


def verdicts(claims, tables: dict[str, pd.DataFrame], tmp_path: Path) -> pd.Series:
    """Verdicts by claim id, with ``tables`` (input name -> table) as the run's outputs."""
    paths = {}
    for name, table in tables.items():
        path = tmp_path / f"{name}.tsv"
        table.to_csv(path, sep="\t", index=False)
        paths[name] = str(path)
    return evaluate_claims(claims, paths).set_index("claim_id")["verdict"]


# --- the claims file -----------------------------------------------------------------------------
def test_claims_cover_every_figure_of_the_paper(claims):
    assert len(claims) >= 25
    figures = {re.match(r"fig(S?\d+)", claim.panel).group(1) for claim in claims}
    assert {"1", "2", "3", "4", "5", "6"} <= figures
    assert {claim.check for claim in claims} == set(CHECKS)


def test_the_issue_claims_are_all_in_the_file(claims):
    ids = {claim.id for claim in claims}
    named_in_issue = {
        "fig1G-myeloid-rises",
        "fig3C-neutrophils-rise-most",
        "figS2F-n1-prok2-high",
        "fig3E-n1-rises",
        "fig3L-n1-worse-survival",
        "fig2A-acute-phase-top-up-pmn",
        "fig2D-inflammatory-up-pmn",
        "fig2D-bile-acid-down-pmn",
        "fig4D-kupffer2-rises-mn",
        "fig4D-mac2-rises-mn",
        "fig5C-exhausted-t-rises-mn",
        "fig6C-cd274-pdcd1-up-mn",
        "fig6E-app-cd74-neutrophil-macrophage",
        "fig3M-n1-signature-liver-tumour",
        "fig5F-n1-exhausted-correlation",
    }
    assert named_in_issue <= ids, sorted(named_in_issue - ids)


def write_claims(tmp_path: Path, **changes) -> Path:
    entry = {
        "id": "c1",
        "panel": "fig1G",
        "claim": "myeloid rises",
        "check": "trend",
        "input": "composition",
        "params": {"where": {"cell_type": "Myeloid"}},
    } | changes
    path = tmp_path / "claims.yaml"
    path.write_text(yaml.safe_dump({"claims": [entry, entry | {"id": "c2"}]}))
    return path


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"check": "trnd"}, "claim 1 (c1): check 'trnd' unknown; known: trend,"),
        ({"params": {"wher": {}}}, "claim 1 (c1): parameters of trend: got an unexpected keyword"),
        ({"panel": "Figure 1G"}, "claim 1 (c1): panel 'Figure 1G' is not like fig1G or figS2K"),
        ({"verdict": "yes"}, "claim 1 (c1): unknown field(s) verdict"),
        ({"id": "c2"}, "claim id 'c2' appears twice"),
    ],
)
def test_a_bad_claim_stops_with_one_line_naming_it(tmp_path, changes, message):
    path = write_claims(tmp_path, **changes)
    with pytest.raises(InputError) as error:
        load_claims(path)
    assert str(error.value).startswith(f"{path}: ")
    assert message in str(error.value)


def test_inputs_are_the_produced_files_only():
    from livermet.scorecard import Claim

    inputs = ["composition", "results/human/a.tsv", "results/human/b.tsv", "unknown_name"]
    claims = [Claim(f"c{i}", "fig1G", "text", "rows", name) for i, name in enumerate(inputs)]
    named = {"composition": "results/atlas/composition.tsv", "atlas": "results/atlas/atlas.h5ad"}
    paths = claim_input_paths(claims, named, {"results/human/a.tsv"}.__contains__)
    assert paths == {
        "composition": "results/atlas/composition.tsv",
        "results/human/a.tsv": "results/human/a.tsv",
    }


# --- verdicts on the planted composition --------------------------------------------------------
def planted_compositions(effects: dict) -> dict[str, pd.DataFrame]:
    """Composition tables (two animals per condition at exactly the planted shares), by the
    stage-output names the claims use: all cells by major type, and each lineage by subtype."""
    shares = condition_shares(DEFAULT_EFFECTS | effects)
    levels = {
        "composition": ("major", "cell_type"),
        "composition_myeloid": ("Myeloid", "subtype"),
        "composition_neutrophil": ("Neutrophil", "subtype"),
        "composition_macrophage": ("Macrophage", "subtype"),
        "composition_tnk": ("TNK", "subtype"),
    }
    tables = {}
    for name, (level, column) in levels.items():
        rows = [
            {
                "sample": f"{condition}_{animal}",
                "condition": condition,
                column: label,
                "n_cells": round(1000 * share),
                "proportion": share,
            }
            for condition in CONDITIONS
            for animal in (1, 2)
            for label, share in shares[level][condition].items()
        ]
        tables[name] = pd.DataFrame(rows)
    return tables


def test_every_planted_composition_claim_is_reproduced_on_the_planted_shares(claims, tmp_path):
    tables = planted_compositions({})
    result = verdicts(claims, tables, tmp_path)
    on_composition = [c.id for c in claims if c.input in tables and c.planted]
    assert len(on_composition) >= 20
    assert (result[on_composition] == REPRODUCED).all(), result[on_composition].to_dict()
    others = [c.id for c in claims if c.input not in tables]
    assert (result[others] == NOT_TESTABLE).all()


@pytest.mark.parametrize(
    ("effect", "claim_id"),
    [
        ("myeloid_rises", "fig1G-myeloid-rises"),
        ("neutrophils_rise", "fig3C-neutrophils-rise"),
        ("n1_rises", "fig3E-n1-rises"),
    ],
)
def test_a_frozen_planted_share_turns_its_claim_not_reproduced(claims, tmp_path, effect, claim_id):
    planted = verdicts(claims, planted_compositions({}), tmp_path)
    flipped = verdicts(claims, planted_compositions({effect: False}), tmp_path)
    assert planted[claim_id] == REPRODUCED
    assert flipped[claim_id] == NOT_REPRODUCED
    changed = set(planted.index[planted != flipped])
    assert claim_id in changed


# --- each check kind ----------------------------------------------------------------------------
def one(check: str, table: pd.DataFrame, **params) -> pd.Series:
    """Verdict row of a single claim run on ``table``."""
    from livermet.scorecard import Claim, evaluate_claim

    claim = Claim("c", "fig1G", "text", check, "t", params)
    return pd.Series(evaluate_claim(claim, table))


def de_table(genes_and_p: dict[str, tuple[float, float]], method: str = "wilcoxon"):
    rows = [
        {"gene": g, "log2fc": lfc, "pval": p, "method": method}
        for g, (lfc, p) in genes_and_p.items()
    ]
    filler = [
        {"gene": f"G{i}", "log2fc": 2.0, "pval": 1e-3 * (i + 1), "method": method}
        for i in range(30)
    ]
    return pd.DataFrame(rows + filler)


def test_de_genes_ranks_in_findmarkers_order():
    table = de_table({"Saa1": (3.0, 1e-9), "Lcn2": (1.5, 1e-8), "Orm1": (0.5, 1e-10)})
    top = one("de_genes", table, genes=["Saa1", "Lcn2"], top=2, min_lfc=1)
    assert top["verdict"] == REPRODUCED and top["value"] == "Saa1 #1; Lcn2 #2"
    # Orm1 is the most significant but its fold change is below the cut
    low_fold = one("de_genes", table, genes=["Orm1"], min_lfc=1)
    assert low_fold["verdict"] == NOT_REPRODUCED and low_fold["value"] == "Orm1 -"
    outside_top = one("de_genes", table, genes=["Saa1", "G5"], top=5, min_lfc=1)
    assert outside_top["verdict"] == NOT_REPRODUCED and "G5 #8" in outside_top["value"]
    not_up = one("de_genes", table, genes=["Orm1", "Absent"], direction="not_up", min_lfc=1)
    assert not_up["verdict"] == REPRODUCED


def test_de_genes_reads_only_the_selected_method():
    table = pd.concat(
        [de_table({"Saa1": (3.0, 1e-9)}), de_table({"Saa1": (-3.0, 1e-9)}, method="pseudobulk")]
    )
    assert one("de_genes", table, genes=["Saa1"], where={"method": "wilcoxon"})["verdict"] == (
        REPRODUCED
    )
    assert one("de_genes", table, genes=["Saa1"], where={"method": "pseudobulk"})["verdict"] == (
        NOT_REPRODUCED
    )


def test_nes_sign_needs_every_term_with_its_sign():
    gsea = pd.DataFrame({"term": ["IL6", "BILE"], "nes": [1.6, -3.5], "fdr": [0.07, 1e-20]})
    both = one("nes_sign", gsea, terms={"IL6": "up", "BILE": "down"})
    assert (
        both["verdict"] == REPRODUCED
        and both["value"] == "IL6 NES 1.6 (FDR 0.07); BILE NES -3.5 (FDR 1e-20)"
    )
    assert one("nes_sign", gsea, terms={"IL6": "down"})["verdict"] == NOT_REPRODUCED
    assert one("nes_sign", gsea, terms={"IL6": "up"}, max_fdr=0.05)["verdict"] == NOT_REPRODUCED
    assert one("nes_sign", gsea, terms={"TNFA": "up"})["value"] == "TNFA not tested"


def test_cluster_marker_ranks_by_score_within_the_group():
    markers = pd.DataFrame(
        {
            "group": ["N1"] * 3 + ["N3"] * 2,
            "gene": ["Mmp8", "Prok2", "Retnlg", "Ltf", "Prok2"],
            "scores": [5.0, 9.0, 1.0, 8.0, 7.0],
        }
    )
    hit = one("cluster_marker", markers, groups="N1", genes=["Prok2", "Mmp8"], top=2)
    assert hit["verdict"] == REPRODUCED and hit["value"] == "N1: Prok2 #1, Mmp8 #2"
    assert one("cluster_marker", markers, groups="N1", genes=["Retnlg"], top=2)["verdict"] == (
        NOT_REPRODUCED
    )
    assert one("cluster_marker", markers, groups=["N1", "N3"], genes=["Prok2"], top=1)[
        "verdict"
    ] == (NOT_REPRODUCED)


@pytest.mark.parametrize(
    ("hr", "p", "expect", "verdict"),
    [
        (2.1, 0.001, "worse", REPRODUCED),
        (2.1, 0.2, "worse", NOT_REPRODUCED),
        (0.5, 0.001, "worse", NOT_REPRODUCED),
        (0.5, 0.001, "better", REPRODUCED),
        (1.3, 0.4, "none", REPRODUCED),
        (1.3, 0.01, "none", NOT_REPRODUCED),
    ],
)
def test_hazard_reads_the_ratio_and_the_p_value(hr, p, expect, verdict):
    table = pd.DataFrame({"variable": ["N1", "N2"], "hr": [hr, 1.0], "logrank_p": [p, 0.9]})
    assert one("hazard", table, where={"variable": "N1"}, expect=expect)["verdict"] == verdict


def test_hazard_claims_read_the_permutation_p_of_the_chosen_cut(claims):
    """The naive log-rank p of an optimal cut is anti-conservative: a no-link claim needs perm_p."""
    hazard = [c for c in claims if c.check == "hazard"]
    assert len(hazard) == 5 and all(c.params.get("p") == "perm_p" for c in hazard)
    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    assert config["survival"]["permutations"] > 0  # the signature's survival uses it too


def test_rows_evaluates_expressions_over_the_selected_rows():
    pairs = pd.DataFrame(
        {
            "interaction_name": ["CD274_PDCD1"] * 3 + ["APP_CD74"],
            "source": ["Neutrophil", "Macrophage", "Hepatocyte", "N1"],
            "prob_MN": [0.2, 0.3, 0.1, 0.05],
            "prob_control": [0.05, 0.1, 0.2, 0.01],
            "pval_MN": [0.01, 0.0, 0.02, 0.2],
        }
    )
    where = {"interaction_name": "CD274_PDCD1", "source": ["Neutrophil", "Macrophage"]}
    require = ["pval_MN < 0.05", "prob_MN > prob_control"]
    assert one("rows", pairs, where=where, require=require, min_rows=2)["verdict"] == REPRODUCED
    where["source"].append("Hepatocyte")  # weaker in MN than control
    result = one("rows", pairs, where=where, require=require)
    assert result["verdict"] == NOT_REPRODUCED and result["value"].startswith("2 of 3 pass")
    assert one("rows", pairs, where=where, require=require, how="any")["verdict"] == REPRODUCED
    too_few = one("rows", pairs, where={"source": "N1"}, require=require, min_rows=2)
    assert too_few["verdict"] == NOT_REPRODUCED and too_few["value"] == "1 rows match"


def test_trend_flat_and_presence_on_a_composition():
    table = planted_compositions({})["composition"]
    rising = one("trend", table, where={"cell_type": "Myeloid"}, direction="up", min_fold=1.9)
    assert rising["verdict"] == REPRODUCED
    assert rising["value"] == "control 0.17; PMN 0.27; MN 0.33"
    assert rising["rule"] == "control < PMN < MN; MN/control >= 1.9"
    too_small = one("trend", table, where={"cell_type": "Myeloid"}, min_fold=2.0)
    assert too_small["verdict"] == NOT_REPRODUCED
    assert one("flat", table, where={"cell_type": "Hepatocyte"}, max_fold=1.01)["verdict"] == (
        REPRODUCED
    )
    assert one("flat", table, where={"cell_type": "B"}, max_fold=1.2)["verdict"] == NOT_REPRODUCED
    tumour = one("present_only_in", table, where={"cell_type": "Tumour"}, present=["MN"])
    assert tumour["verdict"] == REPRODUCED
    assert one("present_only_in", table, where={"cell_type": "B"}, present=["MN"])["verdict"] == (
        NOT_REPRODUCED
    )
    missing = one("trend", table, where={"cell_type": "Kupffer"})
    assert missing["verdict"] == NOT_REPRODUCED and missing["value"].startswith("no rows for")


def test_largest_change_highest_and_labels_present():
    myeloid = planted_compositions({})["composition_myeloid"]
    assert one("largest_change", myeloid, label="subtype", expected="Neutrophil")["verdict"] == (
        REPRODUCED
    )
    assert one("largest_change", myeloid, label="subtype", expected="Monocyte")["verdict"] == (
        NOT_REPRODUCED
    )
    means = pd.DataFrame(
        {"signature": ["mdsc"] * 3, "subtype": ["N0", "N1", "N2"], "mean_score": [0.1, 0.4, 0.2]}
    )
    kwargs = {"by": "subtype", "value": "mean_score", "where": {"signature": "mdsc"}}
    assert one("highest", means, expected="N1", **kwargs)["verdict"] == REPRODUCED
    assert one("highest", means, expected=["N0", "N2"], **kwargs)["verdict"] == NOT_REPRODUCED
    labels = ["Neutrophil", "DC1", "Mast"]
    found = one("labels_present", myeloid, column="subtype", labels=labels)
    assert found["verdict"] == NOT_REPRODUCED and found["value"] == "2 of 3 found; missing Mast"


def test_a_missing_column_or_input_is_not_testable_with_the_reason(claims, tmp_path):
    table = pd.DataFrame({"cell_type": ["Myeloid"], "share": [0.2], "condition": ["MN"]})
    result = evaluate_claims(claims[:2], {"composition": _write(table, tmp_path / "comp.tsv")})
    assert list(result.columns) == list(COLUMNS)
    row = result.set_index("claim_id").loc["fig1G-myeloid-rises"]
    assert row["verdict"] == NOT_TESTABLE
    assert row["reason"] == f"{tmp_path / 'comp.tsv'}: the table has no column 'proportion'"
    absent = evaluate_claims(claims[:1], {}).iloc[0]
    assert absent["verdict"] == NOT_TESTABLE
    assert absent["reason"] == "this run does not produce composition"


def _write(table: pd.DataFrame, path: Path) -> str:
    table.to_csv(path, sep="\t", index=False)
    return str(path)


# --- the report's tables ------------------------------------------------------------------------
def test_figure_index_has_one_row_per_panel_with_its_files():
    inputs = {name: f"results/{name}.tsv" for spec in PANELS.values() for name in spec.inputs}
    index = figure_index(inputs)
    assert list(index["panel"]) == list(PANELS)
    row = index.set_index("panel").loc["fig1G"]
    assert row["figure"] == "Figure 1" and row["rule"] == "figure"
    assert row["inputs"] == "results/composition.tsv"
    assert row["claim"] == PANELS["fig1G"].claim
    with pytest.raises(InputError, match="panel fig1E: no file for stage output"):
        figure_index({})


def test_panel_figures_and_table_pages():
    assert panel_figure("fig2I") == "Figure 2" and panel_figure("figS2K") == "Figure S2"
    table = pd.DataFrame(
        {"claim_id": ["a", "b"], "verdict": [REPRODUCED, NOT_TESTABLE], "value": [0.5, None]}
    )
    page = table_html(table, "Scorecard <demo>", "results/claims.tsv")
    assert page == table_html(table, "Scorecard <demo>", "results/claims.tsv")
    assert "Scorecard &lt;demo&gt;" in page and page.count("<tr") == 3
    assert "reproduced: 1, not reproduced: 0, not testable on these inputs: 1" in page
    assert "#d9f2d9" in page and "#eeeeee" in page
