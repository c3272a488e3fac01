"""Diffusion pseudotime on planted trajectories, its roots, and the pseudotime-bin tables."""

from __future__ import annotations

import logging

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import scanpy as sc
import scipy.sparse as sp
from scipy.stats import spearmanr

from livermet.errors import InputError
from livermet.figures.trajectories import (
    condition_distribution_along_pseudotime,
    subtype_shares_along_pseudotime,
    umap_pseudotime,
)
from livermet.pseudotime import BIN_COLUMNS, CELL_COLUMNS, diffusion_pseudotime, pseudotime_bins

NEUTROPHIL_STAGES = (("N3", 0.0), ("N1", 0.25), ("N0", 0.5), ("N2", 0.75))
"""Planted maturation order: N3 (granule-protein high, immature) -> N1 -> N0 -> N2."""


def trajectory_counts(t: np.ndarray, rng: np.random.Generator, n_genes: int = 300) -> np.ndarray:
    """NB counts along a latent time t in 0..1: genes that fall, rise or peak with t, and noise."""
    n_fall, n_rise, n_peak = 60, 60, 40
    base = np.exp(rng.uniform(np.log(0.3), np.log(5), n_genes))
    log_fc = np.zeros((len(t), n_genes))
    log_fc[:, :n_fall] = 2.5 * (1 - t)[:, None]
    log_fc[:, n_fall : n_fall + n_rise] = 2.5 * t[:, None]
    centres = rng.uniform(0.1, 0.9, n_peak)
    peak = slice(n_fall + n_rise, n_fall + n_rise + n_peak)
    log_fc[:, peak] = 2.5 * np.exp(-((t[:, None] - centres[None, :]) ** 2) / (2 * 0.1**2))
    mu = base[None, :] * np.exp(log_fc - log_fc.mean(axis=0)) * rng.uniform(0.7, 1.4, (len(t), 1))
    return rng.negative_binomial(5, 5 / (5 + mu))


def lineage_adata(counts: np.ndarray, obs: pd.DataFrame, seed: int = 0) -> ad.AnnData:
    """A lineage subset as the subclustering writes it: log CP10k, X_pca_harmony, kNN graph."""
    adata = ad.AnnData(
        X=sp.csr_matrix(counts.astype(np.float32)),
        obs=obs,
        var=pd.DataFrame(index=[f"G{i}" for i in range(counts.shape[1])]),
    )
    adata.layers["counts"] = adata.X.copy()
    sc.pp.normalize_total(adata, target_sum=1e4)
    sc.pp.log1p(adata)
    sc.pp.pca(adata, n_comps=20, random_state=seed)
    adata.obsm["X_pca_harmony"] = adata.obsm["X_pca"]
    sc.pp.neighbors(adata, n_neighbors=15, use_rep="X_pca_harmony", random_state=seed)
    return adata


def stage_of(t: np.ndarray, stages) -> np.ndarray:
    starts = np.array([start for _, start in stages])
    return np.array([name for name, _ in stages])[np.searchsorted(starts, t, side="right") - 1]


def neutrophil_trajectory(n_cells: int = 600, seed: int = 0) -> ad.AnnData:
    """Neutrophils along one maturation axis; control cells sit later on it than MN cells."""
    rng = np.random.default_rng(seed)
    condition = rng.choice(["control", "PMN", "MN"], n_cells)
    shift = pd.Series({"control": 0.25, "PMN": 0.0, "MN": -0.25})[condition].to_numpy()
    t = np.clip(rng.beta(1.3, 1.3, n_cells) + 0.5 * shift, 0, 1)
    obs = pd.DataFrame(
        {
            "sample": [f"{c}_{i % 2 + 1}" for i, c in enumerate(condition)],
            "condition": pd.Categorical(condition, ["control", "PMN", "MN"], ordered=True),
            "subtype": pd.Categorical(stage_of(t, NEUTROPHIL_STAGES)),
            "t": t,
        },
        index=[f"cell{i}" for i in range(n_cells)],
    )
    return lineage_adata(trajectory_counts(t, rng), obs, seed)


@pytest.fixture(scope="module")
def neutrophils() -> ad.AnnData:
    return neutrophil_trajectory()


@pytest.fixture(scope="module")
def neutrophil_pseudotime(neutrophils) -> pd.DataFrame:
    return diffusion_pseudotime(neutrophils.copy(), ["N3"], n_dcs=10, seed=1)


def test_pseudotime_recovers_the_planted_axis(neutrophils, neutrophil_pseudotime):
    cells = neutrophil_pseudotime
    assert list(cells.columns) == CELL_COLUMNS
    assert cells["pseudotime"].between(0, 1).all()
    rho = spearmanr(cells["pseudotime"], neutrophils.obs["t"]).statistic
    assert rho > 0.9, rho


def test_planted_n3_comes_before_n1_before_n0_before_n2(neutrophil_pseudotime):
    medians = neutrophil_pseudotime.groupby("subtype")["pseudotime"].median()
    assert medians["N3"] < medians["N1"] < medians["N0"] < medians["N2"], medians.to_dict()


def test_root_is_the_n3_cell_at_the_end_of_dc1(neutrophil_pseudotime):
    cells = neutrophil_pseudotime
    root = cells[cells["is_root"]]
    assert len(root) == 1 and root["subtype"].item() == "N3"
    assert root["pseudotime"].item() == 0.0
    n3_dc1 = cells.loc[cells["subtype"] == "N3", "dc1"]
    assert root["dc1"].item() in (n3_dc1.min(), n3_dc1.max())


def test_single_root_equals_scanpy_dpt(neutrophils, neutrophil_pseudotime):
    """The distance used is scanpy's own DPT: with one root it is ``sc.tl.dpt``'s pseudotime."""
    adata = neutrophils.copy()
    sc.tl.diffmap(adata, n_comps=10, random_state=1)
    adata.uns["iroot"] = int(np.flatnonzero(neutrophil_pseudotime["is_root"])[0])
    sc.tl.dpt(adata, n_dcs=10)
    np.testing.assert_allclose(
        neutrophil_pseudotime["pseudotime"], adata.obs["dpt_pseudotime"], rtol=1e-5, atol=1e-6
    )


def test_same_seed_same_table(neutrophils, neutrophil_pseudotime):
    again = diffusion_pseudotime(neutrophils.copy(), ["N3"], n_dcs=10, seed=1)
    pd.testing.assert_frame_equal(again, neutrophil_pseudotime)


def test_graph_is_rebuilt_on_harmony_pcs_when_absent(neutrophils, caplog):
    adata = neutrophils.copy()
    del adata.uns["neighbors"], adata.obsp["connectivities"], adata.obsp["distances"]
    with caplog.at_level(logging.INFO, logger="livermet.pseudotime"):
        cells = diffusion_pseudotime(adata, ["N3"], n_dcs=10, n_neighbors=15, seed=1)
    assert "no stored kNN graph: building one on X_pca_harmony" in caplog.text
    assert "connectivities" in adata.obsp
    assert spearmanr(cells["pseudotime"], neutrophils.obs["t"]).statistic > 0.9


def test_two_roots_start_two_lineages():
    """Macrophages: Kupffer3 -> Kupffer1 -> Kupffer2 and MAC3 -> MAC1 -> MAC2, from two roots."""
    rng = np.random.default_rng(3)
    n = 300
    t = rng.uniform(0, 1, 2 * n)
    kupffer = trajectory_counts(t[:n], rng)
    mac = trajectory_counts(t[n:], rng)[:, ::-1]  # other genes carry the second lineage
    kupffer_names = stage_of(t[:n], (("Kupffer3", 0.0), ("Kupffer1", 0.33), ("Kupffer2", 0.67)))
    mac_names = stage_of(t[n:], (("MAC3", 0.0), ("MAC1", 0.33), ("MAC2", 0.67)))
    obs = pd.DataFrame(
        {
            "sample": "s1",
            "condition": "control",
            "subtype": np.concatenate([kupffer_names, mac_names]),
            "branch": ["kupffer"] * n + ["mac"] * n,
        },
        index=[f"cell{i}" for i in range(2 * n)],
    )
    adata = lineage_adata(np.vstack([kupffer, mac]), obs)
    cells = diffusion_pseudotime(adata, ["Kupffer3", "MAC3"], n_dcs=10, seed=0)
    roots = cells[cells["is_root"]]
    assert sorted(roots["subtype"]) == ["Kupffer3", "MAC3"]
    assert (roots["pseudotime"] == 0).all()
    assert cells["pseudotime"].notna().all()
    for branch in ("kupffer", "mac"):
        mask = (obs["branch"] == branch).to_numpy()
        assert spearmanr(cells.loc[mask, "pseudotime"], t[mask]).statistic > 0.8
    medians = cells.groupby("subtype")["pseudotime"].median()
    assert medians["Kupffer3"] < medians["Kupffer1"] < medians["Kupffer2"]
    assert medians["MAC3"] < medians["MAC1"] < medians["MAC2"]


def test_unknown_root_subtype_is_an_input_error(neutrophils):
    with pytest.raises(InputError) as err:
        diffusion_pseudotime(neutrophils.copy(), ["N9"], seed=0)
    assert str(err.value) == (
        "pseudotime root subtype(s) ['N9'] not found among obs['subtype'] values "
        "['N0', 'N1', 'N2', 'N3']"
    )


def test_bins_count_every_cell_and_shares_sum_to_one(neutrophil_pseudotime):
    bins = pseudotime_bins(neutrophil_pseudotime, 10, {"condition": ["control", "PMN", "MN"]})
    assert list(bins.columns) == BIN_COLUMNS
    n = len(neutrophil_pseudotime)
    for _, block in bins.groupby("kind"):
        assert block["n_cells"].sum() == n
        assert len(block) == 10 * block["group"].nunique()
        per_bin = block.groupby("bin")["share_of_bin"].sum()
        filled = block.groupby("bin")["n_cells"].sum() > 0
        np.testing.assert_allclose(per_bin[filled], 1.0)
        np.testing.assert_allclose(block.groupby("group")["share_of_group"].sum(), 1.0)
    conditions = bins.loc[bins["kind"] == "condition", "group"].unique().tolist()
    assert conditions == ["control", "PMN", "MN"]
    assert bins["bin_start"].min() == 0.0 and bins["bin_end"].max() == 1.0


def test_bins_show_control_cells_later_than_mn_cells(neutrophil_pseudotime):
    """Planted: control neutrophils sit later on the axis (the paper's Fig 3J reading)."""
    bins = pseudotime_bins(neutrophil_pseudotime, 5)
    conditions = bins[bins["kind"] == "condition"]
    late = conditions[conditions["bin"] >= 4].groupby("group")["share_of_group"].sum()
    assert late["control"] > late["PMN"] > late["MN"], late.to_dict()


def test_zero_bins_is_an_input_error(neutrophil_pseudotime):
    with pytest.raises(InputError, match="pseudotime.n_bins must be at least 1, got 0"):
        pseudotime_bins(neutrophil_pseudotime, 0)


def test_pseudotime_panels_draw_from_the_tables(neutrophils, neutrophil_pseudotime):
    bins = pseudotime_bins(neutrophil_pseudotime, 10, {"condition": ["control", "PMN", "MN"]})
    shares = subtype_shares_along_pseudotime(bins)
    ticks = [t.get_text() for t in shares.axes[0].get_xticklabels()]
    assert ticks[0] == "0.0-0.1" and ticks[-1] == "0.9-1.0"
    spread = condition_distribution_along_pseudotime(bins)
    assert [t.get_text() for t in spread.axes[0].get_legend().get_texts()] == [
        "control",
        "PMN",
        "MN",
    ]
    adata = neutrophils.copy()
    adata.obsm["X_umap"] = adata.obsm["X_pca"][:, :2]
    umap = umap_pseudotime(adata, neutrophil_pseudotime)
    assert umap.axes[1].get_ylabel() == "Pseudotime"
    assert sorted(t.get_text() for t in umap.axes[0].texts) == ["N0", "N1", "N2", "N3"]
