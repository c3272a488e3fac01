"""Condition DE (cell-level Wilcoxon and per-animal pseudobulk) and the Fig 2 volcano classes."""

from __future__ import annotations

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import scanpy as sc
import scipy.sparse as sp

from livermet.de import DE_COLUMNS, condition_de, parse_contrast, pseudobulk_counts
from livermet.errors import InputError
from livermet.figures.fig2 import volcano_classes, volcano_figure

N_GENES = 400
UP = [f"Up{i}" for i in range(10)]
DOWN = [f"Down{i}" for i in range(10)]


def synthetic_atlas(seed: int = 0, cells_per_animal: int = 120) -> ad.AnnData:
    """Three conditions x two animals; hepatocytes of PMN and MN carry 4-fold up and down genes.

    Counts are negative binomial around gene means that vary 50-fold, with a per-animal gene
    effect (sd 0.2 on log scale) so that animals differ as real animals do. A second cell type
    with no planted effect checks that the cell-type subset is honoured.
    """
    rng = np.random.default_rng(seed)
    genes = UP + DOWN + [f"G{i}" for i in range(N_GENES - len(UP) - len(DOWN))]
    base = np.exp(rng.uniform(np.log(0.2), np.log(10), N_GENES))
    blocks, obs = [], []
    for condition in ("control", "PMN", "MN"):
        for animal in (1, 2):
            sample = f"{condition}_{animal}"
            animal_effect = np.exp(rng.normal(0, 0.2, N_GENES))
            for cell_type in ("Hepatocyte", "Endothelial"):
                mean = base * animal_effect
                if cell_type == "Hepatocyte" and condition != "control":
                    mean[:10] *= 4
                    mean[10:20] /= 4
                size = rng.uniform(0.7, 1.4, (cells_per_animal, 1))
                mu = mean[None, :] * size
                blocks.append(rng.negative_binomial(2, 2 / (2 + mu)))
                obs += [(sample, condition, cell_type)] * cells_per_animal
    obs_df = pd.DataFrame(obs, columns=["sample", "condition", "cell_type"])
    obs_df["condition"] = pd.Categorical(
        obs_df["condition"], categories=["control", "PMN", "MN"], ordered=True
    )
    obs_df.index = [f"cell{i}" for i in range(len(obs_df))]
    adata = ad.AnnData(
        X=sp.csr_matrix(np.vstack(blocks).astype(np.float32)),
        obs=obs_df,
        var=pd.DataFrame(index=genes),
    )
    adata.layers["counts"] = adata.X.copy()
    sc.pp.normalize_total(adata, target_sum=1e4)
    sc.pp.log1p(adata)
    return adata


@pytest.fixture(scope="module")
def atlas() -> ad.AnnData:
    return synthetic_atlas()


@pytest.fixture(scope="module")
def hepatocyte_de(atlas) -> pd.DataFrame:
    return condition_de(atlas, "Hepatocyte", min_pct=0.05)


def test_table_has_contract_columns_and_all_blocks(hepatocyte_de):
    assert list(hepatocyte_de.columns) == DE_COLUMNS
    blocks = hepatocyte_de.groupby(["contrast", "method"]).size()
    assert set(blocks.index) == {
        (c, m)
        for c in ("PMN_vs_control", "MN_vs_control", "MN_vs_PMN")
        for m in ("wilcoxon", "pseudobulk")
    }
    assert (blocks > 300).all()
    assert hepatocyte_de[["pval", "padj", "pct_group", "pct_ref"]].stack().between(0, 1).all()


@pytest.mark.parametrize("method", ["wilcoxon", "pseudobulk"])
@pytest.mark.parametrize("contrast", ["PMN_vs_control", "MN_vs_control"])
def test_planted_genes_lead_both_methods(hepatocyte_de, method, contrast):
    block = hepatocyte_de[(hepatocyte_de.method == method) & (hepatocyte_de.contrast == contrast)]
    top20 = set(block.nsmallest(20, "pval")["gene"])
    assert len(top20 & set(UP + DOWN)) >= 18
    planted = block.set_index("gene").loc[UP + DOWN]
    assert (planted.loc[UP, "log2fc"] > 0.5).all() and (planted.loc[UP, "stat"] > 0).all()
    assert (planted.loc[DOWN, "log2fc"] < -0.5).all() and (planted.loc[DOWN, "stat"] < 0).all()
    # Planted 4-fold (log2 2); Seurat's log2(mean CP10k + 1) shrinks low-expressed genes.
    assert 1.2 < planted["log2fc"].abs().median() < 2.5


@pytest.mark.parametrize("contrast", ["PMN_vs_control", "MN_vs_control"])
def test_pseudobulk_keeps_animal_noise_out_of_the_hits(hepatocyte_de, contrast):
    """Animal-to-animal gene variation (sd 0.2) is not a condition effect: cell-level Wilcoxon,
    which treats cells as independent, calls it significant; pseudobulk over animals does not."""
    block = hepatocyte_de[hepatocyte_de.contrast == contrast]
    false_hits = block[(block.padj < 0.05) & ~block.gene.isin(UP + DOWN)].groupby("method").size()
    assert false_hits.get("pseudobulk", 0) <= 2
    assert false_hits.get("wilcoxon", 0) > 20


@pytest.mark.parametrize("method", ["wilcoxon", "pseudobulk"])
def test_no_planted_effect_between_pmn_and_mn(hepatocyte_de, method):
    block = hepatocyte_de[
        (hepatocyte_de.method == method) & (hepatocyte_de.contrast == "MN_vs_PMN")
    ].set_index("gene")
    assert block.loc[UP + DOWN, "log2fc"].abs().max() < 0.8
    if method == "pseudobulk":
        assert (block["padj"] > 0.05).all()


def test_pseudobulk_sums_counts_per_animal(atlas):
    hep = atlas[atlas.obs.cell_type == "Hepatocyte"]
    counts, conditions = pseudobulk_counts(hep, min_cells=10)
    assert list(counts.columns) == sorted(hep.obs["sample"].unique())
    expected = np.asarray(hep.layers["counts"][(hep.obs["sample"] == "PMN_1").to_numpy()].sum(0))
    assert np.array_equal(counts["PMN_1"].to_numpy(), expected.ravel().astype(np.int64))
    assert conditions.to_dict()["MN_2"] == "MN"


def test_pseudobulk_leaves_out_small_animals(atlas):
    counts, _ = pseudobulk_counts(atlas[atlas.obs.cell_type == "Hepatocyte"], min_cells=121)
    assert counts.shape[1] == 0
    with pytest.raises(InputError, match="at least 2"):
        condition_de(atlas, "Hepatocyte", methods=["pseudobulk"], min_cells=121)


def test_min_pct_restricts_wilcoxon_genes(atlas):
    strict = condition_de(atlas, "Hepatocyte", ["PMN_vs_control"], ["wilcoxon"], min_pct=0.5)
    assert len(strict) < N_GENES
    assert (strict[["pct_group", "pct_ref"]].max(axis=1) >= 0.5).all()


def test_deterministic(atlas, hepatocyte_de):
    again = condition_de(atlas, "Hepatocyte", min_pct=0.05)
    pd.testing.assert_frame_equal(again, hepatocyte_de)


def test_bad_inputs_are_reported(atlas):
    with pytest.raises(InputError, match="no cells of type"):
        condition_de(atlas, "Kupffer")
    with pytest.raises(InputError, match="<group>_vs_<ref>"):
        parse_contrast("PMN-control")
    no_counts = atlas.copy()
    del no_counts.layers["counts"]
    with pytest.raises(InputError, match="counts"):
        condition_de(no_counts, "Hepatocyte")


def test_volcano_classes_follow_figure_legend():
    de = pd.DataFrame(
        {
            "gene": [f"g{i}" for i in range(30)] + ["mid", "weak", "down", "ns_p"],
            "log2fc": list(np.linspace(1.5, 10, 30)) + [1.2, 0.5, -3.0, 5.0],
            "pval": [1e-5] * 30 + [0.01, 1e-8, 1e-4, 0.2],
        }
    )
    classes = volcano_classes(de, n_top=20).set_axis(de["gene"])
    assert set(classes[[f"g{i}" for i in range(10, 30)]]) == {"top_up"}
    assert set(classes[[f"g{i}" for i in range(10)] + ["mid"]]) == {"up"}
    assert classes["weak"] == "ns" and classes["ns_p"] == "ns"
    assert classes["down"] == "down"


def test_volcano_top_genes_follow_p_value_before_fold_change():
    de = pd.DataFrame(
        {"gene": ["strong_p", "noisy_fc"], "log2fc": [1.5, 8.0], "pval": [1e-12, 0.04]}
    )
    classes = volcano_classes(de, n_top=1).set_axis(de["gene"])
    assert classes["strong_p"] == "top_up" and classes["noisy_fc"] == "up"


def test_volcano_figure_colours_and_labels(hepatocyte_de):
    block = hepatocyte_de[
        (hepatocyte_de.method == "wilcoxon") & (hepatocyte_de.contrast == "PMN_vs_control")
    ]
    fig = volcano_figure(block, title="PMN vs control")
    ax = fig.axes[0]
    labels = {t.get_text() for t in ax.texts}
    classes = volcano_classes(block).set_axis(block["gene"])
    assert labels == set(classes[classes == "top_up"].index)
    assert labels <= set(UP)
    legend = {t.get_text().split(" (")[0] for t in ax.get_legend().get_texts()}
    assert {"top 20 up", "up", "down", "ns"} >= legend
