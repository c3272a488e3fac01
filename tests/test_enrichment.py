"""Over-representation of DE up genes in gene-set collections (Fig 4G, 4H, 5E)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import REPO
from scipy.stats import false_discovery_control, hypergeom

from livermet.enrichment import (
    ENRICHMENT_COLUMNS,
    enrich_de,
    map_to_tested,
    over_representation,
    read_collection,
    up_genes,
)
from livermet.errors import InputError

TESTED = [f"Gene{i}" for i in range(400)]
UP = TESTED[:20]  # p < 0.05 and log2FC > 1
PLANTED = UP[:12] + TESTED[100:118]  # 30 tested genes, 12 of them up
UNRELATED = UP[12:13] + TESTED[200:229]  # 30 tested genes, 1 of them up


def de_table(method: str = "wilcoxon") -> pd.DataFrame:
    """A DE table of :mod:`livermet.de` columns: the first 20 genes up, the rest not."""
    rng = np.random.default_rng(0)
    n = len(TESTED)
    log2fc = np.where(np.arange(n) < 20, 2.0, rng.uniform(-0.8, 0.8, n))
    pval = np.where(np.arange(n) < 20, 1e-6, rng.uniform(0.06, 1, n))
    return pd.DataFrame(
        {
            "gene": TESTED,
            "log2fc": log2fc,
            "pval": pval,
            "method": method,
            "contrast": "A_vs_B",
        }
    )


def collection() -> dict[str, list[str]]:
    """The planted and unrelated sets, filler sets, a small set and genes outside the test."""
    sets = {
        "PLANTED": PLANTED + ["Untested1", "Untested2"],
        "UNRELATED": UNRELATED,
        "SMALL": UP[:5],  # 5 genes: below min_size, never tested
    }
    for k in range(8):
        sets[f"FILLER{k}"] = TESTED[20 + 40 * k : 20 + 40 * k + 25]
    return sets


@pytest.fixture(scope="module")
def result() -> pd.DataFrame:
    return enrich_de(de_table(), collection(), "toy", min_size=10, max_size=500)


def test_planted_set_leads_with_scipys_hypergeometric_p(result):
    assert list(result.columns) == ENRICHMENT_COLUMNS
    top = result.iloc[0]
    assert top["term"] == "PLANTED" and top["collection"] == "toy"
    annotated = {g for genes in collection().values() for g in genes} & set(TESTED)
    n_background = len(annotated)
    n_query = len(set(UP) & annotated)
    assert (top["count"], top["set_size"]) == (12, 30)  # untested genes are not in the set
    assert (top["query_size"], top["background_size"]) == (n_query, n_background)
    expected = hypergeom.sf(12 - 1, n_background, 30, n_query)
    assert top["pval"] == pytest.approx(expected, rel=1e-9)
    assert top["pval"] < 1e-8
    assert top["gene_ratio"] == pytest.approx(12 / n_query)
    assert top["bg_ratio"] == pytest.approx(30 / n_background)
    assert top["genes"].split(";") == sorted(UP[:12])


def test_unrelated_set_is_not_enriched(result):
    unrelated = result.set_index("term").loc["UNRELATED"]
    assert unrelated["count"] == 1
    assert unrelated["pval"] > 0.2
    assert unrelated["padj"] > 0.2


def test_small_sets_and_sets_without_up_genes_are_not_tested(result):
    assert "SMALL" not in set(result["term"])
    assert set(result["term"]) == {"PLANTED", "UNRELATED"}  # the fillers hold no up gene
    assert result["pval"].is_monotonic_increasing


def test_padj_is_benjamini_hochberg_over_the_tested_terms(result):
    expected = false_discovery_control(result["pval"].to_numpy(), method="bh")
    np.testing.assert_allclose(result["padj"], expected, rtol=1e-9)


def test_up_genes_follow_the_legend_thresholds():
    rows = pd.DataFrame(
        {
            "gene": ["up", "weak_p", "small_fc", "down", "edge_fc"],
            "pval": [0.01, 0.06, 0.01, 0.001, 0.01],
            "log2fc": [1.5, 3.0, 0.9, -2.0, 1.0],
        }
    )
    assert up_genes(rows) == ["up"]
    assert up_genes(rows, p_max=0.1, lfc_min=0.5) == ["edge_fc", "small_fc", "up", "weak_p"]


def test_upper_case_library_needs_ignore_case():
    upper = {term: [g.upper() for g in genes] for term, genes in collection().items()}
    with pytest.raises(InputError, match=r"collection 'kegg' annotates 0 of the 400 tested genes"):
        enrich_de(de_table(), upper, "kegg")
    mapped = enrich_de(de_table(), upper, "kegg", ignore_case=True)
    exact = enrich_de(de_table(), collection(), "kegg")
    pd.testing.assert_frame_equal(mapped, exact)


def test_mapping_keeps_the_data_spelling():
    sets = map_to_tested({"S": ["IL6", "TNF", "Absent"]}, ["Il6", "Tnf", "Cxcl2"], ignore_case=True)
    assert sets == {"S": ["Il6", "Tnf"]}


def test_enrichr_weights_are_dropped(tmp_path):
    gmt = tmp_path / "KEGG_2019_Mouse.gmt"
    gmt.write_text("TNF signaling pathway\t\tIL6,1.0\tTNF,1.0\tCXCL2\n")
    assert read_collection(gmt) == {"TNF signaling pathway": ["IL6", "TNF", "CXCL2"]}


def test_empty_de_table_and_no_up_gene_give_empty_results():
    empty = enrich_de(de_table().iloc[:0], collection(), "toy")
    assert empty.empty and list(empty.columns) == ENRICHMENT_COLUMNS
    flat = de_table().assign(log2fc=0.1)
    assert enrich_de(flat, collection(), "toy").empty


def test_up_genes_in_no_set_give_an_empty_result_without_a_console_error(capfd):
    # a 54k-scale run: 2 up genes of CD8_exhausted MN vs control, neither in a hallmark set;
    # gseapy printed "No hits returned" as an error beside a job that succeeded
    sets = {"A": ["g1", "g2", "g3"], "B": ["g4", "g5"]}
    result = over_representation(["g9", "g10"], sets, [f"g{i}" for i in range(1, 20)])
    assert result.empty and list(result.columns) == ENRICHMENT_COLUMNS
    assert "No hits" not in capfd.readouterr().err


def test_bad_tables_are_reported():
    with pytest.raises(InputError, match="no rows of method 'wilcoxon'"):
        enrich_de(de_table("pseudobulk"), collection(), "toy")
    two = pd.concat([de_table(), de_table().assign(contrast="B_vs_A")])
    with pytest.raises(InputError, match="several contrasts"):
        enrich_de(two, collection(), "toy")


def test_shipped_hallmarks_place_planted_inflammatory_genes():
    """Il6, Tnf and Cxcl2 (planted up in demo Kupffer2) fall in the mouse TNF-a/NF-kB set."""
    hallmark = read_collection(REPO / "resources" / "genesets" / "hallmark_v7.0_mouse.gmt")
    tnfa = hallmark["HALLMARK_TNFA_SIGNALING_VIA_NFKB"]
    tested = sorted({g for genes in hallmark.values() for g in genes})
    up = tnfa[:40]
    de = pd.DataFrame(
        {
            "gene": tested,
            "log2fc": [2.0 if g in up else 0.0 for g in tested],
            "pval": [1e-5 if g in up else 0.5 for g in tested],
            "method": "wilcoxon",
            "contrast": "Kupffer2_vs_Kupffer3",
        }
    )
    result = enrich_de(de, hallmark, "hallmark")
    assert result["term"].iloc[0] == "HALLMARK_TNFA_SIGNALING_VIA_NFKB"
    assert result["padj"].iloc[0] < 1e-10
