"""Annotation: Leiden clusters -> the paper's 8 major cell types from a curated marker file.

Each cell gets one gene-set score per type (scanpy ``score_genes``, Seurat's AddModuleScore
analogue); a cluster takes the type with the highest mean score, but only when most of its cells
agree (the per-cluster confidence) and the score is clearly positive. Otherwise it is
``Unassigned``: a residual doublet or an unexpected population is reported, never forced.

Before naming, a cluster whose cells disagree is split once where that resolves it
(:func:`split_mixed_clusters`): at atlas resolution a small population (the demo's ~25 tumour
cells of two MN livers) can share a cluster with a larger one or with another small one.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd
import scanpy as sc
import yaml

from livermet.errors import InputError
from livermet.markers import subsample_per_group, wilcoxon_table
from livermet.signatures import score_signatures

log = logging.getLogger(__name__)

UNASSIGNED = "Unassigned"


@dataclass(frozen=True)
class AnnotationSettings:
    """Acceptance rule for a cluster label, and the marker-table sampling."""

    min_confidence: float = 0.5
    min_score: float = 0.1
    n_markers: int = 25
    max_cells_per_type: int = 1000
    split_below: float = 0.9
    split_resolution: float = 1.0
    seed: int = 0


def load_marker_sets(path: str | Path) -> dict[str, list[str]]:
    """Read ``{type: {markers: [...], source: ...}}`` and return type -> marker genes."""
    with open(path) as fh:
        entries = yaml.safe_load(fh)
    if not isinstance(entries, dict) or not entries:
        raise InputError(f"{path}: expected a mapping of cell type -> {{markers, source}}")
    missing = [name for name, entry in entries.items() if not entry.get("markers")]
    if missing:
        raise InputError(f"{path}: no markers listed for {', '.join(missing)}")
    return {name: list(entry["markers"]) for name, entry in entries.items()}


def score_cell_types(
    adata: ad.AnnData, marker_sets: dict[str, list[str]], seed: int
) -> pd.DataFrame:
    """Cells x types matrix of marker scores (markers absent from the data are dropped), with
    scanpy's default control genes (50 per marker, 25 expression bins)."""
    present_sets = {}
    for cell_type, markers in marker_sets.items():
        present_sets[cell_type] = [gene for gene in markers if gene in adata.var_names]
        if not present_sets[cell_type]:
            raise InputError(f"cell type {cell_type}: none of its markers {markers} in the data")
    return score_signatures(
        adata, present_sets, min_genes=1, ctrl_size=50, n_bins=25, seed=seed, source="annotation"
    )


def label_clusters(
    scores: pd.DataFrame, clusters: pd.Series, settings: AnnotationSettings
) -> pd.DataFrame:
    """One row per cluster: mean score per type, best type, confidence and the label given."""
    cell_best = scores.idxmax(axis=1)
    mean_scores = scores.groupby(clusters, observed=True).mean()
    rows = []
    for cluster_id, means in mean_scores.iterrows():
        ranked = means.sort_values(ascending=False)
        best = ranked.index[0]
        in_cluster = (clusters == cluster_id).to_numpy()
        confidence = float((cell_best[in_cluster] == best).mean())
        accepted = confidence >= settings.min_confidence and ranked.iloc[0] >= settings.min_score
        rows.append(
            {
                "cluster": cluster_id,
                "n_cells": int(in_cluster.sum()),
                "best_type": best,
                "best_score": ranked.iloc[0],
                "second_type": ranked.index[1] if len(ranked) > 1 else "",
                "margin": ranked.iloc[0] - (ranked.iloc[1] if len(ranked) > 1 else 0.0),
                "confidence": confidence,
                "cell_type": best if accepted else UNASSIGNED,
            }
        )
    table = pd.DataFrame(rows)
    return table.join(mean_scores.add_prefix("score_"), on="cluster")


def split_mixed_clusters(
    adata: ad.AnnData, scores: pd.DataFrame, cluster_key: str, settings: AnnotationSettings
) -> list[str]:
    """Try to split each cluster whose cells disagree on their best type (confidence below
    ``split_below``): Leiden at ``split_resolution`` on the atlas graph restricted to its cells.

    The split is kept, as labels ``<cluster>,<part>`` in ``obs[cluster_key]``, when it resolves
    the cluster: an unnamed cluster always; a named one when every part is named and a part of
    another type is as coherent as an agreeing cluster (confidence >= ``split_below``), as ~25
    tumour cells among cholangiocytes are. Otherwise the cluster stays whole: a split never
    turns named cells Unassigned, and parts that marker-score noise alone names differently (a
    subtype defined by the absence of a programme, like the demo's Kupffer1) do not count.
    Returns the clusters split."""
    clusters = label_clusters(scores, adata.obs[cluster_key], settings)
    candidates = clusters[clusters["confidence"] < settings.split_below]
    split = []
    names = zip(candidates["cluster"].astype(str), candidates["cell_type"], strict=True)
    for cluster_id, named in names:
        parts = leiden_parts(adata, cluster_key, cluster_id, settings)
        in_cluster = parts.str.startswith(f"{cluster_id},").to_numpy()
        table = label_clusters(scores[in_cluster], parts[in_cluster], settings)
        if named == UNASSIGNED or _split_resolves(table, named, settings):
            adata.obs[cluster_key] = pd.Categorical(parts)
            split.append(cluster_id)
            log.info("cluster %s split: %s", cluster_id, ", ".join(table["cell_type"]))
    return split


def _split_resolves(parts: pd.DataFrame, named: str, settings: AnnotationSettings) -> bool:
    """Whether the parts of a cluster named ``named`` (a :func:`label_clusters` table) are all
    named and at least one is, coherently, another type."""
    other = parts[parts["cell_type"] != named]
    return (
        (parts["cell_type"] != UNASSIGNED).all()
        and len(other) > 0
        and (other["confidence"] >= settings.split_below).all()
    )


def leiden_parts(
    adata: ad.AnnData, cluster_key: str, cluster_id: str, settings: AnnotationSettings
) -> pd.Series:
    """``obs[cluster_key]`` as strings with ``cluster_id`` re-clustered into its parts."""
    key = f"{cluster_key}_split"  # scanpy keeps the old labels when the two keys are one
    sc.tl.leiden(
        adata,
        resolution=settings.split_resolution,
        restrict_to=(cluster_key, [cluster_id]),
        key_added=key,
        flavor="igraph",
        n_iterations=-1,
        directed=False,
        random_state=settings.seed,
    )
    return adata.obs.pop(key).astype(str)


def rank_markers(adata: ad.AnnData, groupby: str, settings: AnnotationSettings) -> pd.DataFrame:
    """Top Wilcoxon markers per type on at most ``max_cells_per_type`` cells of each type.

    Subsampling keeps the all-gene test cheap at atlas scale; markers of a type are stable
    well below a thousand cells.
    """
    keep = subsample_per_group(adata.obs[groupby], settings.max_cells_per_type, settings.seed)
    subset = adata[keep].copy()
    groups = subset.obs[groupby].value_counts()
    valid = [group for group in groups.index if groups[group] >= 3 and group != UNASSIGNED]
    table = wilcoxon_table(subset, groupby, groups=valid, pts=True)
    return (
        table.groupby("group", observed=True)
        .head(settings.n_markers)
        .rename(columns={"names": "gene", "logfoldchanges": "log2fc", "pvals_adj": "padj"})
        .reset_index(drop=True)
    )


def composition(obs: pd.DataFrame, key: str = "cell_type") -> pd.DataFrame:
    """Per-sample counts and proportions of each type (zeros included), with the condition."""
    counts = pd.crosstab(obs["sample"], obs[key])
    long = counts.stack().rename("n_cells").reset_index()
    long["proportion"] = long["n_cells"] / long.groupby("sample", observed=True)[
        "n_cells"
    ].transform("sum")
    conditions = obs.groupby("sample", observed=True)["condition"].first()
    long.insert(1, "condition", long["sample"].map(conditions).astype(str))
    return long


def annotate(
    adata: ad.AnnData,
    marker_sets: dict[str, list[str]],
    settings: AnnotationSettings,
    cluster_key: str = "leiden",
    label_key: str = "cell_type",
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Label ``adata.obs[cluster_key]`` clusters in place (``obs[label_key]``); return the
    cluster table and the marker table."""
    scores = score_cell_types(adata, marker_sets, settings.seed)
    split_mixed_clusters(adata, scores, cluster_key, settings)
    clusters = label_clusters(scores, adata.obs[cluster_key], settings)
    labels = clusters.set_index("cluster")["cell_type"]
    categories = [*marker_sets, UNASSIGNED]
    adata.obs[label_key] = pd.Categorical(
        adata.obs[cluster_key].map(labels).astype(str), categories=categories
    ).remove_unused_categories()
    adata.obsm[f"{label_key}_scores"] = scores.to_numpy(dtype=np.float32)
    adata.uns[f"{label_key}_score_names"] = list(scores.columns)
    unassigned = clusters.loc[clusters["cell_type"] == UNASSIGNED, "cluster"].tolist()
    if unassigned:
        log.warning("clusters left unassigned: %s", unassigned)
    markers = rank_markers(adata, label_key, settings)
    return clusters.rename(columns={"cell_type": label_key}), markers
