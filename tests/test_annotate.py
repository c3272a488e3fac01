"""Cluster naming: a cluster whose cells disagree is split where that resolves it, never worse."""

from __future__ import annotations

import anndata as ad
import numpy as np
import pandas as pd
import scanpy as sc

from livermet.annotate import (
    UNASSIGNED,
    AnnotationSettings,
    label_clusters,
    leiden_parts,
    split_mixed_clusters,
)

SETTINGS = AnnotationSettings(min_confidence=0.5, min_score=0.1, split_below=0.9, seed=0)


def graph_atlas(groups: dict[str, tuple[int, tuple[float, float]]], clusters: dict[str, str]):
    """Cells in tight blobs (name -> (n cells, centre)) with a kNN graph on them, Leiden labels
    given by ``clusters`` (blob -> cluster) and scores saying each cell's true type."""
    rng = np.random.default_rng(0)
    names = np.repeat(list(groups), [n for n, _ in groups.values()])
    centres = np.array([groups[name][1] for name in names])
    adata = ad.AnnData(
        np.zeros((len(names), 1), dtype=np.float32),
        obs=pd.DataFrame({"truth": names}, index=[f"c{i}" for i in range(len(names))]),
    )
    adata.obsm["X_pca"] = (centres + rng.normal(0, 0.3, centres.shape)).astype(np.float32)
    sc.pp.neighbors(adata, n_neighbors=10, use_rep="X_pca", random_state=0)
    adata.obs["leiden"] = pd.Categorical([clusters[name] for name in names])
    types = sorted(set(names))
    scores = pd.DataFrame({t: np.where(names == t, 1.0, 0.0) for t in types}, index=adata.obs_names)
    return adata, scores


def test_a_minority_population_inside_a_named_cluster_gets_its_own_part():
    adata, scores = graph_atlas(
        {"Cholangiocyte": (120, (0, 0)), "Tumour": (25, (4, 4)), "B": (150, (10, 0))},
        {"Cholangiocyte": "0", "Tumour": "0", "B": "1"},
    )
    before = label_clusters(scores, adata.obs["leiden"], SETTINGS).set_index("cluster")
    assert before.loc["0", "cell_type"] == "Cholangiocyte"  # the 25 tumour cells are hidden

    assert split_mixed_clusters(adata, scores, "leiden", SETTINGS) == ["0"]

    after = label_clusters(scores, adata.obs["leiden"], SETTINGS).set_index("cluster")
    named = adata.obs["leiden"].map(after["cell_type"]).astype(str)
    assert (named == adata.obs["truth"]).all()
    assert "1" in after.index  # the agreeing cluster is left as it was


def test_an_unnamed_mix_of_two_small_populations_is_split_into_both():
    adata, scores = graph_atlas(
        {"Tumour": (25, (0, 0)), "TNK": (35, (4, 4)), "B": (150, (10, 0))},
        {"Tumour": "0", "TNK": "0", "B": "1"},
    )
    scores.loc[adata.obs["truth"] == "TNK", "TNK"] = 0.05  # too faint to name on its own
    before = label_clusters(scores, adata.obs["leiden"], SETTINGS).set_index("cluster")
    assert before.loc["0", "cell_type"] == UNASSIGNED

    split_mixed_clusters(adata, scores, "leiden", SETTINGS)

    after = label_clusters(scores, adata.obs["leiden"], SETTINGS).set_index("cluster")
    named = adata.obs["leiden"].map(after["cell_type"]).astype(str)
    tumour = (adata.obs["truth"] == "Tumour").to_numpy()
    assert (named[tumour] == "Tumour").all()
    assert (named[~tumour & (adata.obs["truth"] == "TNK").to_numpy()] == UNASSIGNED).all()


def test_a_cluster_whose_disagreement_has_no_structure_stays_whole():
    adata, scores = graph_atlas({"B": (200, (0, 0)), "T": (150, (10, 0))}, {"B": "0", "T": "1"})
    rng = np.random.default_rng(1)
    noisy = rng.choice(np.flatnonzero(adata.obs["truth"] == "B"), size=40, replace=False)
    scores.iloc[noisy] = scores.iloc[noisy][["T", "B"]].to_numpy()  # 20 % say T, scattered
    labels_before = adata.obs["leiden"].copy()

    assert split_mixed_clusters(adata, scores, "leiden", SETTINGS) == []
    assert (adata.obs["leiden"].astype(str) == labels_before.astype(str)).all()


def test_parts_that_only_weak_scores_name_differently_do_not_split_a_cluster():
    adata, scores = graph_atlas(
        {"Kupffer2": (120, (0, 0)), "Kupffer2b": (40, (4, 4)), "MAC1": (150, (10, 0))},
        {"Kupffer2": "0", "Kupffer2b": "0", "MAC1": "1"},
    )
    # one blob of the cluster leans to another subtype, as marker-score noise can make it
    blob = (adata.obs["truth"] == "Kupffer2b").to_numpy()
    scores["Kupffer2"] += scores.pop("Kupffer2b") * 0.5
    scores["Kupffer1"] = np.where(blob, 0.7, 0.0)
    scores.loc[blob & (np.arange(len(blob)) % 4 == 0), "Kupffer1"] = 0.2
    parts = leiden_parts(adata, "leiden", "0", SETTINGS)
    in_cluster = parts.str.startswith("0,").to_numpy()
    table = label_clusters(scores[in_cluster], parts[in_cluster], SETTINGS)
    leaning = table[table["cell_type"] == "Kupffer1"]
    # the trap: every part named, one of them another subtype, but only as noise would make it
    assert (table["cell_type"] != UNASSIGNED).all() and len(leaning)
    assert (leaning["confidence"] < SETTINGS.split_below).all()
    labels_before = adata.obs["leiden"].astype(str)

    assert split_mixed_clusters(adata, scores, "leiden", SETTINGS) == []
    assert (adata.obs["leiden"].astype(str) == labels_before).all()
