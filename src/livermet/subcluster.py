"""Subclustering: one lineage of the atlas -> its own Harmony-corrected graph and named subtypes.

The paper isolated the T/NK and myeloid cells ("Subset"), normalised them again, integrated them
with Harmony and named the subpopulations from known markers; neutrophils and macrophages were
then split once more (N0-N3, Kupffer1-3 / MAC1-3). Each call here does one such step, so a
lineage's parent may be the atlas or another lineage: the same code names myeloid lineages,
neutrophil subtypes, macrophage subtypes and T/NK subtypes, each from its own marker file.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field, fields, replace

import anndata as ad
import pandas as pd

from livermet.annotate import AnnotationSettings, annotate, composition
from livermet.atlas import (
    AtlasSettings,
    cluster,
    leiden_clusters,
    normalise,
    run_harmony,
    scaled_pca,
    vst_variable_genes,
)
from livermet.errors import InputError

log = logging.getLogger(__name__)

KEPT_OBS = ("sample", "condition", "batch", "cell_type")
"""Parent annotations carried into a subset (the parent's clusters and scores are not)."""

ATLAS_FIELDS = {item.name for item in fields(AtlasSettings)}
ANNOTATION_FIELDS = {item.name for item in fields(AnnotationSettings)}


@dataclass(frozen=True)
class SubsetSpec:
    """Which cells form a lineage and how it is reclustered and named."""

    name: str
    select: tuple[str, ...]
    column: str
    atlas: AtlasSettings
    annotation: AnnotationSettings = field(default_factory=AnnotationSettings)
    min_cells: int = 20
    min_gene_cells: int = 3


def subset_spec(
    name: str,
    lineage: dict,
    atlas: dict,
    annotation: dict,
    min_cells: int = 20,
    min_gene_cells: int = 3,
) -> SubsetSpec:
    """A lineage's spec from config: its entry overrides the atlas parameters it names."""
    overrides = {key: value for key, value in lineage.items() if key in ATLAS_FIELDS}
    options = {key: value for key, value in annotation.items() if key in ANNOTATION_FIELDS}
    return SubsetSpec(
        name=name,
        select=tuple(lineage["select"]),
        column="cell_type" if lineage["parent"] == "atlas" else "subtype",
        atlas=AtlasSettings(**{**atlas, **overrides}),
        annotation=AnnotationSettings(**options),
        min_cells=min_cells,
        min_gene_cells=min_gene_cells,
    )


def select_lineage(parent: ad.AnnData, spec: SubsetSpec) -> ad.AnnData:
    """The cells whose ``spec.column`` is one of ``spec.select``: counts and core obs only."""
    if spec.column not in parent.obs:
        raise InputError(f"subset {spec.name}: parent has no obs column {spec.column!r}")
    mask = parent.obs[spec.column].isin(spec.select).to_numpy()
    if mask.sum() < spec.min_cells:
        raise InputError(
            f"subset {spec.name}: {mask.sum()} cells labelled {list(spec.select)} in "
            f"{spec.column!r}; at least {spec.min_cells} needed (subsets.min_cells)"
        )
    obs = parent.obs.loc[mask, [key for key in KEPT_OBS if key in parent.obs]].copy()
    for key in obs.columns:
        if isinstance(obs[key].dtype, pd.CategoricalDtype):
            obs[key] = obs[key].cat.remove_unused_categories()
    counts = parent.layers["counts"][mask]
    var = parent.var[[key for key in ("gene_ids",) if key in parent.var]].copy()
    return ad.AnnData(X=counts, obs=obs, var=var, layers={"counts": counts})


def embed_subset(subset: ad.AnnData, spec: SubsetSpec) -> None:
    """Scaled PCA on the subset's variable genes and Harmony on ``harmony_key``."""
    genes = vst_variable_genes(subset, spec.atlas.n_hvg, spec.min_gene_cells, f"subset {spec.name}")
    subset.var["highly_variable"] = subset.var_names.isin(genes)
    subset.obsm["X_pca"], _ = scaled_pca(subset, genes, spec.atlas.n_pcs)
    subset.obsm["X_pca_harmony"] = run_harmony(
        subset.obsm["X_pca"], subset.obs, spec.atlas.harmony_key, spec.atlas.seed
    )


def recluster(subset: ad.AnnData, spec: SubsetSpec, layout: bool = True) -> None:
    """Normalise again, embed, build the lineage graph and cluster it (``obs["subcluster"]``);
    with ``layout``, also its UMAP (``obsm["X_umap"]``)."""
    normalise(subset, spec.atlas.target_sum)
    embed_subset(subset, spec)
    graph_pcs = min(spec.atlas.graph_pcs, subset.obsm["X_pca_harmony"].shape[1])
    (cluster if layout else leiden_clusters)(subset, replace(spec.atlas, graph_pcs=graph_pcs))
    subset.obs["subcluster"] = subset.obs.pop("leiden")


def build_subset(
    parent: ad.AnnData, spec: SubsetSpec, marker_sets: dict[str, list[str]], layout: bool = True
) -> tuple[ad.AnnData, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The whole step: subset, recluster, name. Returns the subset and its cluster, marker and
    composition tables. ``layout=False`` skips the UMAP, for callers that keep only the names
    (the clusters and names do not depend on it)."""
    subset = select_lineage(parent, spec)
    log.info("subset %s: %d cells x %d genes", spec.name, *subset.shape)
    recluster(subset, spec, layout)
    clusters, markers = annotate(
        subset, marker_sets, spec.annotation, cluster_key="subcluster", label_key="subtype"
    )
    subset.uns["subset"] = {
        "name": spec.name,
        "select": list(spec.select),
        "column": spec.column,
        **asdict(spec.atlas),
    }
    log.info(
        "subset %s: %d subclusters -> %s",
        spec.name,
        subset.obs["subcluster"].nunique(),
        subset.obs["subtype"].value_counts().to_dict(),
    )
    return subset, clusters, markers, composition(subset.obs, key="subtype")


def finest_labels(atlas_cells: pd.DataFrame, subsets: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """One label per atlas cell: the deepest subset label that names it, else its major type.

    ``subsets`` maps lineage -> (cell-indexed) subtype column, ordered parent before child, so a
    neutrophil's N0-N3 label overrides the "Neutrophil" label it got in the myeloid subset.
    """
    labels = atlas_cells[["sample", "condition", "cell_type"]].copy()
    labels["subtype"] = labels["cell_type"].astype(str)
    for lineage, subtypes in subsets.items():
        unknown = subtypes.index.difference(labels.index)
        if len(unknown):
            raise InputError(
                f"subset {lineage}: {len(unknown)} cells not in the atlas (e.g. {unknown[0]})"
            )
        labels.loc[subtypes.index, "subtype"] = subtypes.astype(str)
    return labels.rename_axis("cell").reset_index()
