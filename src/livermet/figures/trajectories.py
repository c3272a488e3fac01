"""Fig 3I-K and 4E, 4I, 4K, 4L: pseudotime and signature scores inside the neutrophil and
macrophage lineages."""

from __future__ import annotations

import anndata as ad
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from livermet import CONDITIONS

SIGNATURE_LABELS = {
    "mdsc": "MDSC",
    "phagocytosis": "Phagocytosis",
    "granule_formation": "Granule formation",
    "senescence": "Senescence",
    "apoptosis": "Apoptosis",
    "m1": "M1 signature",
    "m2": "M2 signature",
    "cd14_activated": 'CD14 "activated" score',
}
CONDITION_COLOURS = {"control": "#4c72b0", "PMN": "#dd8452", "MN": "#c44e52"}


def bin_labels(bins: pd.DataFrame) -> list[str]:
    """'0.0-0.1'-style labels of the pseudotime bins, in bin order."""
    edges = bins.drop_duplicates("bin").sort_values("bin")
    return [f"{a:.1f}-{b:.1f}" for a, b in zip(edges["bin_start"], edges["bin_end"], strict=True)]


def subtype_shares_along_pseudotime(pseudotime_bins_neutrophil: pd.DataFrame) -> Figure:
    """Fig 3I: share of each neutrophil subtype in each pseudotime bin (stacked bars)."""
    bins = pseudotime_bins_neutrophil
    subtypes = bins[bins["kind"] == "subtype"]
    table = subtypes.pivot(index="bin", columns="group", values="share_of_bin").sort_index()
    fig, ax = plt.subplots(figsize=(6, 4))
    table.plot.bar(stacked=True, ax=ax, width=0.85, colormap="tab10", rot=45)
    ax.set_xticks(range(len(table)), bin_labels(bins), rotation=45, ha="right")
    ax.set_xlabel("Pseudotime")
    ax.set_ylabel("Share of the cells in the bin")
    ax.legend(title="Subtype", bbox_to_anchor=(1.02, 1), loc="upper left", frameon=False)
    return fig


def condition_distribution_along_pseudotime(pseudotime_bins_neutrophil: pd.DataFrame) -> Figure:
    """Fig 3J: where along pseudotime each condition's neutrophils lie (share of the condition's
    cells in each bin, so conditions with more cells do not dominate)."""
    bins = pseudotime_bins_neutrophil
    conditions = bins[bins["kind"] == "condition"]
    midpoints = (conditions["bin_start"] + conditions["bin_end"]) / 2
    fig, ax = plt.subplots(figsize=(5.5, 4))
    order = [c for c in CONDITIONS if c in set(conditions["group"])]
    order += sorted(set(conditions["group"]) - set(order))
    for condition in order:
        mask = (conditions["group"] == condition).to_numpy()
        ax.plot(
            midpoints[mask],
            100 * conditions.loc[mask, "share_of_group"],
            marker="o",
            label=condition,
            color=CONDITION_COLOURS.get(condition),
        )
    ax.set_xlabel("Pseudotime")
    ax.set_ylabel("Cells of the condition (%)")
    ax.set_xlim(0, 1)
    ax.legend(frameon=False)
    return fig


def signature_heatmap(signature_means_neutrophil: pd.DataFrame) -> Figure:
    """Fig 3K: neutrophil signatures (rows) by subtype (columns), mean scores scaled -1..1."""
    means = signature_means_neutrophil.dropna(subset=["scaled"])
    table = means.pivot(index="signature", columns="subtype", values="scaled")
    table = table.reindex(list(dict.fromkeys(means["signature"])))
    fig, ax = plt.subplots(figsize=(1.0 + 0.8 * table.shape[1], 0.9 + 0.5 * table.shape[0]))
    image = ax.imshow(table.to_numpy(), cmap="RdBu_r", vmin=-1, vmax=1, aspect="auto")
    ax.set_xticks(range(table.shape[1]), table.columns)
    ax.set_yticks(range(table.shape[0]), [SIGNATURE_LABELS.get(s, s) for s in table.index])
    for (row, col), value in np.ndenumerate(table.to_numpy()):
        ax.text(col, row, f"{value:.2f}", ha="center", va="center", fontsize=8)
    fig.colorbar(image, ax=ax, label="Scaled mean score", shrink=0.8)
    return fig


def umap_values(
    subset: ad.AnnData, values: pd.Series, title: str, label: str, cmap: str = "viridis"
) -> Figure:
    """Cells on the lineage UMAP coloured by a per-cell value (highest drawn on top), with each
    subtype's name at its median position."""
    coords = pd.DataFrame(subset.obsm["X_umap"][:, :2], index=subset.obs_names, columns=["x", "y"])
    coords["value"] = values.reindex(coords.index).to_numpy()
    coords["subtype"] = subset.obs["subtype"].astype(str).to_numpy()
    fig, ax = plt.subplots(figsize=(6, 5))
    missing = coords["value"].isna()
    ax.scatter(coords.loc[missing, "x"], coords.loc[missing, "y"], s=4, color="lightgrey")
    shown = coords[~missing].sort_values("value")
    points = ax.scatter(shown["x"], shown["y"], c=shown["value"], s=4, cmap=cmap)
    for subtype, where in coords.groupby("subtype")[["x", "y"]].median().iterrows():
        ax.text(where["x"], where["y"], subtype, fontsize=8, ha="center", weight="bold")
    fig.colorbar(points, ax=ax, label=label, shrink=0.8)
    ax.set_title(title)
    ax.set_axis_off()
    return fig


def umap_pseudotime(subset_macrophage: ad.AnnData, pseudotime_macrophage: pd.DataFrame) -> Figure:
    """Fig 4E: macrophage UMAP coloured by diffusion pseudotime (roots Kupffer3 and MAC3)."""
    values = pseudotime_macrophage.set_index("cell")["pseudotime"]
    return umap_values(subset_macrophage, values, "Macrophage pseudotime", "Pseudotime")


def umap_signature(subset: ad.AnnData, scores: pd.DataFrame, signature: str) -> Figure:
    """Lineage UMAP coloured by one signature's per-cell score."""
    label = SIGNATURE_LABELS.get(signature, signature)
    values = scores.set_index("cell")[signature]
    return umap_values(subset, values, label, "Score", cmap="magma_r")


def umap_cd14_activated(
    subset_macrophage: ad.AnnData, signature_scores_macrophage: pd.DataFrame
) -> Figure:
    """Fig 4I: CD14 "activated" (TLR-NF-kB inflammation) score on the macrophage UMAP."""
    return umap_signature(subset_macrophage, signature_scores_macrophage, "cd14_activated")


def umap_m1(subset_macrophage: ad.AnnData, signature_scores_macrophage: pd.DataFrame) -> Figure:
    """Fig 4K: M1 macrophage signature score on the macrophage UMAP."""
    return umap_signature(subset_macrophage, signature_scores_macrophage, "m1")


def umap_m2(subset_macrophage: ad.AnnData, signature_scores_macrophage: pd.DataFrame) -> Figure:
    """Fig 4L: M2 macrophage signature score on the macrophage UMAP."""
    return umap_signature(subset_macrophage, signature_scores_macrophage, "m2")
