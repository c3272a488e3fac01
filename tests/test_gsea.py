"""Preranked hallmark GSEA: planted sets, organism guard, real IFN-beta stimulation, NES bars."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import REPO, shared_file

from livermet.errors import InputError
from livermet.figures.fig2 import nes_barplot
from livermet.gsea import GSEA_COLUMNS, prerank_gsea, ranking_from_de, read_gmt

HUMAN_GMT = REPO / "resources" / "genesets" / "hallmark_v7.0_human.gmt"


def planted_ranking(seed: int = 0) -> tuple[pd.Series, dict[str, list[str]]]:
    """2,000 genes with N(0, 1) scores; set UP's genes shifted +1.5, DOWN's -1.5, 8 null sets."""
    rng = np.random.default_rng(seed)
    genes = np.array([f"Gene{i}" for i in range(2000)])
    scores = rng.normal(size=genes.size)
    scores[:40] += 1.5
    scores[40:80] -= 1.5
    sets = {"UP": list(genes[:40]), "DOWN": list(genes[40:80])}
    sets |= {f"NULL{k}": list(rng.choice(genes[80:], 40, replace=False)) for k in range(8)}
    ranking = pd.Series(scores, index=genes).sort_values(ascending=False)
    return ranking, sets


@pytest.mark.parametrize("method", ["multilevel", "permutation"])
def test_planted_sets_get_the_right_sign(method):
    ranking, sets = planted_ranking()
    table = prerank_gsea(ranking, sets, permutations=200, seed=1, method=method).set_index("term")
    assert list(table.reset_index().columns) == GSEA_COLUMNS
    assert table.loc["UP", "nes"] > 1.5 and table.loc["DOWN", "nes"] < -1.5
    assert table.loc[["UP", "DOWN"], "pval"].max() < 0.01
    assert (table.drop(index=["UP", "DOWN"])["nes"].abs() < table.loc["UP", "nes"]).all()
    assert table.loc["UP", "size"] == 40
    leading = set(table.loc["UP", "leading_edge"].split(";"))
    assert leading <= set(sets["UP"]) and len(leading) >= 10


def test_fixed_seed_gives_identical_tables():
    ranking, sets = planted_ranking()
    first = prerank_gsea(ranking, sets, permutations=200, seed=7, method="permutation")
    again = prerank_gsea(ranking, sets, permutations=200, seed=7, method="permutation")
    pd.testing.assert_frame_equal(first, again)


def test_human_sets_on_mouse_symbols_are_refused():
    ranking = pd.Series(
        np.linspace(3, -3, 3000), index=[g.capitalize() for g in _hallmark_genes()][:3000]
    )
    with pytest.raises(InputError, match="organism"):
        prerank_gsea(ranking, read_gmt(HUMAN_GMT), permutations=100)


def _hallmark_genes() -> list[str]:
    return sorted({g for genes in read_gmt(HUMAN_GMT).values() for g in genes})


def test_ranking_from_de_orders_by_stat_and_checks_rows():
    de = pd.DataFrame(
        {
            "gene": ["a", "b", "c", "d"],
            "stat": [0.5, 2.0, -1.0, 0.5],
            "method": ["wilcoxon"] * 3 + ["pseudobulk"],
            "contrast": "PMN_vs_control",
        }
    )
    ranking = ranking_from_de(de, "wilcoxon", "PMN_vs_control")
    assert list(ranking.index) == ["b", "a", "c"]
    with pytest.raises(InputError, match="no rows"):
        ranking_from_de(de, "wilcoxon", "MN_vs_PMN")


def test_read_gmt_rejects_a_line_without_genes(tmp_path):
    bad = tmp_path / "bad.gmt"
    bad.write_text("SET_A\tdesc\tG1\tG2\nSET_B\n")
    with pytest.raises(InputError, match="bad.gmt:2"):
        read_gmt(bad)


def test_nes_barplot_colours_by_sign_and_filters_by_fdr():
    gsea = pd.DataFrame(
        {
            "term": ["HALLMARK_UP_A", "HALLMARK_UP_B", "HALLMARK_DOWN", "HALLMARK_NS"],
            "nes": [2.1, 1.6, -1.8, 1.9],
            "fdr": [0.001, 0.02, 0.01, 0.4],
        }
    )
    ax = nes_barplot(gsea, "test").axes[0]
    bars = {
        label.get_text(): patch
        for label, patch in zip(ax.get_yticklabels(), ax.patches, strict=True)
    }
    assert set(bars) == {"UP A", "UP B", "DOWN"}
    assert bars["UP A"].get_facecolor()[:3] == pytest.approx((0.839, 0.153, 0.157), abs=0.01)
    assert bars["DOWN"].get_facecolor()[:3] == pytest.approx((0.122, 0.373, 0.749), abs=0.01)
    assert [label.get_text() for label in ax.get_yticklabels()] == ["DOWN", "UP B", "UP A"]


@pytest.mark.realdata
def test_interferon_beta_stimulation_ranks_an_interferon_hallmark_first():
    """Kang 2018 PBMCs: IFN-beta stimulated vs control, cell-level Wilcoxon + human hallmarks."""
    import anndata as ad
    import scanpy as sc

    from livermet.de import condition_de

    pbmc = ad.read_h5ad(shared_file("kang2018_pbmc_ifnb_stim.h5ad"))
    pbmc.layers["counts"] = pbmc.X.copy()
    sc.pp.normalize_total(pbmc, target_sum=1e4)
    sc.pp.log1p(pbmc)
    pbmc.obs["condition"] = pbmc.obs["batch"].astype(str)
    pbmc.obs["sample"] = pbmc.obs["condition"]
    pbmc.obs["cell_type"] = "PBMC"
    de = condition_de(pbmc, "PBMC", ["stim_vs_ctrl"], ["wilcoxon"], min_pct=0.1)
    assert (
        de.nsmallest(5, "pval")["gene"].isin(["ISG15", "IFI6", "IFIT1", "IFIT3", "MX1"]).sum() >= 3
    )
    ranking = ranking_from_de(de, "wilcoxon", "stim_vs_ctrl")
    table = prerank_gsea(ranking, read_gmt(HUMAN_GMT), permutations=1000, seed=1)
    assert table.loc[0, "term"] in {
        "HALLMARK_INTERFERON_ALPHA_RESPONSE",
        "HALLMARK_INTERFERON_GAMMA_RESPONSE",
    }
    interferon = table[table["term"].str.startswith("HALLMARK_INTERFERON")]
    assert (interferon["nes"] > 2).all() and (interferon["fdr"] < 1e-6).all()
