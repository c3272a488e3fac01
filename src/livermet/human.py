"""Human validation: neutrophils across platforms with the N1 signature (Fig 3M) and the
patient-level shares of CRLM livers (Fig 5F-I, S3).

The paper collected healthy blood (Han et al. 2020, Microwell-seq), healthy liver (GSE134355,
Microwell-seq) and colorectal cancer liver metastasis (CRLM) liver and blood (Wu et al. 2022, 10x),
found neutrophils by CXCR2, S100A8, G0S2, S100A12 and CSF3R, integrated them with Harmony over
samples and scored the N1 signature per cell with Seurat's AddModuleScore. Here, per data set
(``human.datasets`` of the config: files, format, tissue, status, donors):

1. read the counts (Microwell-seq dense tables, 10x MEX or h5, h5ad) and the donor (and sample)
   of every cell, from the file or a cell-metadata column; drop cells with fewer than
   ``min_genes`` genes;
2. cluster the data set (log CP10k, variable genes, PCA, Harmony over sample, Leiden) and name
   each cluster by the human marker set with the highest mean score (sets compete, so S100A8-high
   monocytes are not taken for neutrophils); neutrophils are the cells of clusters named
   ``Neutrophil`` whose mean neutrophil-marker score also reaches ``neutrophils.min_score``;
3. in the data sets marked ``correlations``, recluster the T/NK cells and the macrophages and name
   their subclusters with the mouse subtype markers translated to human symbols
   (:mod:`livermet.subcluster`, the mouse pipeline's own step).

Then all neutrophils together: normalised again, Harmony over sample, Leiden and UMAP
(:mod:`livermet.atlas`), and the N1 signature (mouse symbols, translated one gene each by
:mod:`livermet.orthologs`; genes lost are reported) scored per cell by ``sc.tl.score_genes``.
The four groups (liver / PBMC x normal / tumour) are compared within each tissue by the paper's
cell-level Wilcoxon rank-sum test and, side by side, by Welch's t-test on donor means: cells of
one donor are not independent, and with two healthy blood donors a rank test on donor means
cannot go below p = 1/3. Disease status is confounded with platform in this design (healthy =
Microwell-seq, patients = 10x); a platform shift of the score cannot be told from an effect.

Patient shares (Fig 5F-I, S3): per patient of the correlation data sets, the share of N1-like
neutrophils (score at or above the ``n1_like_quantile`` of all their neutrophils) and the share
of each T/NK and macrophage subtype within its lineage; for each configured pair, Spearman's
correlation with its p and the paper's Wilcoxon rank-sum test of y between patients with x above
the median (high) and the rest (low).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy import stats

from livermet.annotate import (
    AnnotationSettings,
    label_clusters,
    load_marker_sets,
    score_cell_types,
)
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
from livermet.human_plan import check_dataset
from livermet.ingest import check_counts
from livermet.orthologs import map_genes
from livermet.readers import read_counts
from livermet.signatures import score_signatures
from livermet.subcluster import build_subset, subset_spec
from livermet.tables import read_microwell_dge

log = logging.getLogger(__name__)

COMPARISONS = (("liver", "liver_tumour", "liver_normal"), ("PBMC", "pbmc_tumour", "pbmc_normal"))
N1 = "N1"
UNASSIGNED = "Unassigned"
CELL_COLUMNS = [
    "cell",
    "dataset",
    "sample",
    "donor",
    "barcode",
    "tissue",
    "status",
    "group",
    "cluster",
    "lineage",
    "neutrophil_score",
    "is_neutrophil",
    "subtype",
]
SUMMARY_COLUMNS = [
    "dataset",
    "tissue",
    "status",
    "n_samples",
    "n_donors",
    "n_cells_read",
    "n_cells",
    "n_clusters",
    "n_neutrophil_clusters",
    "n_neutrophils",
    "pct_neutrophils",
    "min_genes",
    "min_neutrophil_score",
    "min_confidence",
    "markers_used",
    "markers_missing",
]
SCORE_COLUMNS = ["cell", "dataset", "sample", "donor", "tissue", "status", "group", "leiden"]
TEST_COLUMNS = [
    "tissue",
    "group",
    "reference",
    "method",
    "unit",
    "n_group",
    "n_reference",
    "mean_group",
    "mean_reference",
    "difference",
    "statistic",
    "pval",
]
SHARE_COLUMNS = [
    "dataset",
    "donor",
    "population",
    "lineage",
    "n_cells",
    "n_lineage",
    "share",
    "definition",
]
CORRELATION_COLUMNS = [
    "x",
    "y",
    "n_patients",
    "rho",
    "p",
    "n_high",
    "n_low",
    "mean_y_high",
    "mean_y_low",
    "wilcoxon_p",
]


# --- settings ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SubtypeLineage:
    """A lineage reclustered in the correlation data sets: its cluster label and subtype sets."""

    name: str
    select: tuple[str, ...]  # cluster labels (human marker sets) whose cells form the lineage
    marker_sets: dict[str, list[str]]


@dataclass(frozen=True)
class HumanSettings:
    """Parameters of the human stage (config ``human:``); see config/config.yaml."""

    min_genes: int = 100
    target_sum: float = 1e4
    neutrophil_set: str = "Neutrophil"
    min_neutrophil_score: float = 1.0
    annotation: AnnotationSettings = field(default_factory=AnnotationSettings)
    clustering: AtlasSettings = field(default_factory=AtlasSettings)
    integration: AtlasSettings = field(default_factory=AtlasSettings)
    subclustering: AtlasSettings = field(default_factory=AtlasSettings)
    min_subset_cells: int = 20
    score_min_genes: int = 5
    ctrl_size: int = 100
    n_bins: int = 24
    n1_like_quantile: float = 0.75
    min_lineage_cells: int = 10
    seed: int = 0

    @classmethod
    def from_config(cls, human: Mapping, seed: int) -> HumanSettings:
        """Settings from the config's ``human`` section and the global seed."""

        def atlas(section: str) -> AtlasSettings:
            return AtlasSettings(harmony_key="sample", seed=seed, **human[section])

        return cls(
            min_genes=human["min_genes"],
            target_sum=human["target_sum"],
            neutrophil_set=human["neutrophils"]["set"],
            min_neutrophil_score=human["neutrophils"]["min_score"],
            annotation=AnnotationSettings(seed=seed, **human["annotation"]),
            clustering=atlas("clustering"),
            integration=atlas("integration"),
            subclustering=atlas("subclustering"),
            min_subset_cells=human["min_subset_cells"],
            score_min_genes=human["score"]["min_genes"],
            ctrl_size=human["score"]["ctrl_size"],
            n_bins=human["score"]["n_bins"],
            n1_like_quantile=human["correlations"]["n1_like_quantile"],
            min_lineage_cells=human["correlations"]["min_lineage_cells"],
            seed=seed,
        )


def translate_marker_sets(
    marker_sets: Mapping[str, Sequence[str]], source: str
) -> dict[str, list[str]]:
    """Mouse marker sets in human symbols (one target per gene); sets left empty are dropped."""
    translated = {}
    for name, genes in marker_sets.items():
        mapping, n_lost = map_genes(genes, "mouse_to_human", unique_targets=False)
        human = list(dict.fromkeys(mapping))
        if n_lost:
            lost = [g for g in genes if g not in mapping.index]
            log.info("%s %s: no human ortholog for %s", source, name, ", ".join(lost))
        if human:
            translated[name] = human
        else:
            log.warning("%s %s: no marker has a human ortholog; set left out", source, name)
    return translated


def subtype_lineages(subtypes: Mapping[str, Mapping]) -> list[SubtypeLineage]:
    """The lineages of ``human.subtypes`` with their mouse marker files read and translated."""
    return [
        SubtypeLineage(
            name,
            tuple(spec["select"]),
            translate_marker_sets(load_marker_sets(spec["markers"]), f"{spec['markers']}:"),
        )
        for name, spec in subtypes.items()
    ]


# --- data sets -----------------------------------------------------------------------------------
def read_dataset(name: str, spec: Mapping) -> ad.AnnData:
    """All cells of a resolved data set: raw counts in ``X`` and ``layers["counts"]`` (genes
    shared by its files), obs ``dataset``, ``sample``, ``donor``, ``barcode``, ``tissue``,
    ``status``, ``group``; cell names ``<dataset>:<sample>:<barcode>``."""
    check_dataset(name, spec)
    metadata = read_metadata(spec["metadata"]["path"], spec) if spec.get("metadata") else None
    parts = [_read_file(name, entry, metadata, spec) for entry in spec["files"]]
    adata = ad.concat(parts, join="inner", merge="same") if len(parts) > 1 else parts[0]
    if adata.n_obs == 0:
        raise InputError(f"human data set {name}: no cells left after the metadata selection")
    if adata.obs_names.has_duplicates:
        dup = adata.obs_names[adata.obs_names.duplicated()][0]
        raise InputError(f"human data set {name}: cell {dup} occurs twice (same sample twice?)")
    adata.obs["dataset"] = name
    adata.obs["tissue"] = spec["tissue"]
    adata.obs["status"] = spec["status"]
    adata.obs["group"] = f"{spec['tissue'].lower()}_{spec['status']}"
    adata.layers["counts"] = adata.X.copy()
    log.info(
        "human data set %s: %d cells x %d genes, %d samples of %d donors",
        name,
        adata.n_obs,
        adata.n_vars,
        adata.obs["sample"].nunique(),
        adata.obs["donor"].nunique(),
    )
    return adata


def read_metadata(path: str | Path, spec: Mapping) -> pd.DataFrame:
    """A cell-metadata table (TSV, or CSV by extension; gzip or not) indexed by barcode, with the
    rows of ``select`` ({column: value or [values]}) only."""
    path = Path(path)
    sep = "," if path.name.removesuffix(".gz").endswith(".csv") else "\t"
    try:
        table = pd.read_csv(path, sep=sep, dtype=str)
    except (OSError, ValueError) as err:
        raise InputError(f"{path}: cannot read the cell metadata: {err}") from err
    barcode = spec.get("barcode_column") or table.columns[0]
    needed = [barcode, spec.get("donor_column"), spec.get("sample_column")]
    needed += list(spec.get("select") or {})
    missing = [c for c in needed if c and c not in table.columns]
    if missing:
        raise InputError(f"{path}: no column(s) {missing}; columns are {list(table.columns)}")
    for column, values in (spec.get("select") or {}).items():
        allowed = [str(v) for v in (values if isinstance(values, list) else [values])]
        table = table[table[column].isin(allowed)]
    if table[barcode].duplicated().any():
        raise InputError(f"{path}: barcode column {barcode!r} has duplicates")
    return table.set_index(barcode)


def _read_file(
    name: str, entry: Mapping, metadata: pd.DataFrame | None, spec: Mapping
) -> ad.AnnData:
    path = entry["path"]
    try:
        if entry["format"] == "microwell_dge":
            adata = read_microwell_dge(path)
        else:
            adata = read_counts(path, entry["format"])
        # Processed human matrices often drop the MT- genes (Kang 2018), so the ingest check's
        # mitochondrial test (prefix "") gives way to the symbol-case test of the species.
        check_counts(adata, path, mito_prefix="")
        check_human_symbols(adata, path)
    except InputError as err:
        raise InputError(f"human data set {name}: {err}") from None
    adata.var_names_make_unique()
    adata.obs["barcode"] = adata.obs_names.astype(str)
    if metadata is not None:
        kept = adata.obs_names.isin(metadata.index)
        log.info("%s: %d of %d barcodes in the selected metadata", path, kept.sum(), adata.n_obs)
        adata = adata[kept].copy()
        rows = metadata.loc[adata.obs_names]
    if entry.get("donor"):
        donor = pd.Series(str(entry["donor"]), index=adata.obs_names)
    else:
        donor = rows[spec["donor_column"]].astype(str)
    if entry.get("sample"):
        sample = pd.Series(str(entry["sample"]), index=adata.obs_names)
    elif spec.get("sample_column") and metadata is not None:
        sample = rows[spec["sample_column"]].astype(str)
    else:
        sample = donor
    adata.obs["donor"] = donor.to_numpy()
    adata.obs["sample"] = sample.to_numpy()
    adata.obs_names = [
        f"{name}:{s}:{b}" for s, b in zip(adata.obs["sample"], adata.obs["barcode"], strict=True)
    ]
    adata.X = sp.csr_matrix(adata.X, dtype=np.int32)
    return adata


def check_human_symbols(adata: ad.AnnData, path: str | Path, min_share: float = 0.8) -> None:
    """Human gene symbols are upper case (mouse ones capitalised): a matrix whose symbols are
    mostly not is the wrong species or has no symbols."""
    symbols = adata.var_names.astype(str)
    upper = np.mean([name == name.upper() for name in symbols])
    if upper < min_share:
        raise InputError(
            f"{path}: {100 * (1 - upper):.0f} % of gene names are not upper case (e.g. "
            f"{next(n for n in symbols if n != n.upper())!r}); human symbols expected"
        )


# --- neutrophils per data set --------------------------------------------------------------------
@dataclass(frozen=True)
class DatasetResult:
    """What one data set gives the later steps."""

    cells: pd.DataFrame
    clusters: pd.DataFrame
    subclusters: pd.DataFrame
    summary: pd.DataFrame
    neutrophils: ad.AnnData


def filter_cells(adata: ad.AnnData, min_genes: int) -> ad.AnnData:
    """Cells with at least ``min_genes`` detected genes (empty and broken barcodes go)."""
    n_genes = np.asarray((adata.layers["counts"] > 0).sum(axis=1)).ravel()
    kept = adata[n_genes >= min_genes].copy()
    log.info("%d of %d cells have >= %d genes", kept.n_obs, adata.n_obs, min_genes)
    if kept.n_obs < 3:
        raise InputError(f"{kept.n_obs} cells with at least {min_genes} genes (human.min_genes)")
    return kept


def embed(adata: ad.AnnData, settings: AtlasSettings, name: str, min_gene_cells: int = 3) -> None:
    """Variable genes (Seurat vst among genes seen in ``min_gene_cells`` cells), scaled PCA and
    Harmony over ``settings.harmony_key`` (skipped with one sample) into ``X_pca_harmony``;
    ``name`` says which data in the log."""
    genes = vst_variable_genes(adata, settings.n_hvg, min_gene_cells, name)
    adata.obsm["X_pca"], _ = scaled_pca(adata, genes, settings.n_pcs)
    key = settings.harmony_key
    if adata.obs[key].nunique() > 1:
        adata.obsm["X_pca_harmony"] = run_harmony(
            adata.obsm["X_pca"], adata.obs, key, settings.seed
        )
    else:
        log.info("one %s only: no Harmony correction", key)
        adata.obsm["X_pca_harmony"] = adata.obsm["X_pca"].astype(np.float32)


def present_sets(
    adata: ad.AnnData, marker_sets: Mapping[str, Sequence[str]], required: str | None
) -> tuple[dict[str, list[str]], list[str]]:
    """Marker sets restricted to genes in the data, and the markers missing. A set with fewer
    than half of its genes in the data is left out (logged): processed matrices drop genes a
    tissue does not express, and a liver set reduced to SERPINA1 would name blood monocytes
    "hepatocytes". ``required`` (the neutrophil set) then is an error instead."""
    if required is not None and required not in marker_sets:
        raise InputError(f"marker sets have no set named {required!r} (human.neutrophils.set)")
    present, missing = {}, []
    for name, genes in marker_sets.items():
        found = [g for g in genes if g in adata.var_names]
        missing.extend(g for g in genes if g not in adata.var_names)
        if found and 2 * len(found) >= len(genes):
            present[name] = found
        elif name == required:
            raise InputError(
                f"{len(found)} of the {name} markers {list(genes)} in the data; "
                "at least half are needed"
            )
        else:
            log.warning("marker set %s: %d of %s in the data; left out", name, len(found), genes)
    return present, missing


def find_neutrophils(
    adata: ad.AnnData, marker_sets: Mapping[str, Sequence[str]], settings: HumanSettings
) -> tuple[pd.DataFrame, list[str]]:
    """Cluster one normalised data set and name its clusters; sets ``obs`` ``cluster``,
    ``lineage``, ``neutrophil_score`` and ``is_neutrophil``. Returns the cluster table and the
    neutrophil markers missing from the data."""
    embed(adata, settings.clustering, f"human data set {adata.obs['dataset'].iloc[0]}")
    leiden_clusters(adata, settings.clustering)
    sets, missing = present_sets(adata, marker_sets, settings.neutrophil_set)
    scores = score_cell_types(adata, sets, settings.seed)
    clusters = label_clusters(scores, adata.obs["leiden"], settings.annotation)
    column = f"score_{settings.neutrophil_set}"
    clusters["is_neutrophil"] = (clusters["cell_type"] == settings.neutrophil_set) & (
        clusters[column] >= settings.min_neutrophil_score
    )
    labels = clusters.set_index("cluster")
    adata.obs["cluster"] = adata.obs["leiden"].astype(str)
    adata.obs["lineage"] = adata.obs["leiden"].map(labels["cell_type"]).astype(str)
    adata.obs["neutrophil_score"] = scores[settings.neutrophil_set].to_numpy()
    adata.obs["is_neutrophil"] = adata.obs["leiden"].map(labels["is_neutrophil"]).astype(bool)
    neutrophil_missing = [g for g in marker_sets[settings.neutrophil_set] if g in missing]
    return clusters.rename(columns={"cell_type": "lineage"}), neutrophil_missing


def lineage_subtypes(
    adata: ad.AnnData, lineages: Sequence[SubtypeLineage], settings: HumanSettings
) -> tuple[pd.Series, pd.DataFrame]:
    """Subtype of each T/NK and macrophage cell (``Unassigned`` where no set fits): each lineage
    reclustered and named by :func:`livermet.subcluster.build_subset`, as the mouse subsets
    are, but without their UMAP, which nothing here draws. Returns the per-cell labels (other
    cells "") and the subclusters' table."""
    subtype = pd.Series("", index=adata.obs_names, dtype=object)
    tables = []
    parent = ad.AnnData(
        X=adata.layers["counts"],
        obs=pd.DataFrame(
            {
                "sample": adata.obs["sample"].to_numpy(),
                "condition": adata.obs["status"].to_numpy(),
                "cell_type": adata.obs["lineage"].to_numpy(),
            },
            index=adata.obs_names,
        ),
        var=pd.DataFrame(index=adata.var_names),
        layers={"counts": adata.layers["counts"]},
    )
    for lineage in lineages:
        members = parent.obs["cell_type"].isin(lineage.select)
        n_cells = int(members.sum())
        if n_cells < settings.min_subset_cells:
            log.warning(
                "%s: %d cells labelled %s, fewer than human.min_subset_cells; not subclustered",
                lineage.name,
                n_cells,
                lineage.select,
            )
            subtype[members.to_numpy()] = UNASSIGNED
            continue
        spec = subset_spec(
            lineage.name,
            {"parent": "atlas", "select": list(lineage.select), "markers": ""},
            asdict(settings.subclustering),
            {
                "min_confidence": settings.annotation.min_confidence,
                "min_score": settings.annotation.min_score,
                "seed": settings.seed,
            },
            min_cells=settings.min_subset_cells,
        )
        sets, _ = present_sets(parent, lineage.marker_sets, required=None)
        subset, clusters, _, _ = build_subset(parent, spec, sets, layout=False)
        subtype[subset.obs_names] = subset.obs["subtype"].astype(str).to_numpy()
        tables.append(clusters.assign(lineage=lineage.name))
    columns = ["lineage", "cluster", "n_cells", "best_type", "best_score", "confidence", "subtype"]
    table = pd.concat(tables, ignore_index=True) if tables else pd.DataFrame(columns=columns)
    return subtype, table[columns]


def process_dataset(
    name: str,
    spec: Mapping,
    marker_sets: Mapping[str, Sequence[str]],
    lineages: Sequence[SubtypeLineage],
    settings: HumanSettings,
) -> DatasetResult:
    """The per-data-set step: read, filter, cluster and name, find the neutrophils, and (for a
    correlation data set) name the T/NK and macrophage subtypes. A data set's own
    ``min_neutrophil_score`` replaces the global one."""
    if spec.get("min_neutrophil_score") is not None:
        settings = replace(settings, min_neutrophil_score=float(spec["min_neutrophil_score"]))
    adata = read_dataset(name, spec)
    n_read = adata.n_obs
    adata = filter_cells(adata, settings.min_genes)
    normalise(adata, settings.target_sum)
    clusters, missing = find_neutrophils(adata, marker_sets, settings)
    subclusters = pd.DataFrame(columns=["lineage", "cluster", "n_cells", "best_type"])
    adata.obs["subtype"] = ""
    if spec.get("correlations"):
        adata.obs["subtype"], subclusters = lineage_subtypes(adata, lineages, settings)
    cells = adata.obs.rename_axis("cell").reset_index()[CELL_COLUMNS]
    n_neutrophils = int(adata.obs["is_neutrophil"].sum())
    summary = pd.DataFrame(
        [
            {
                "dataset": name,
                "tissue": spec["tissue"],
                "status": spec["status"],
                "n_samples": adata.obs["sample"].nunique(),
                "n_donors": adata.obs["donor"].nunique(),
                "n_cells_read": n_read,
                "n_cells": adata.n_obs,
                "n_clusters": len(clusters),
                "n_neutrophil_clusters": int(clusters["is_neutrophil"].sum()),
                "n_neutrophils": n_neutrophils,
                "pct_neutrophils": 100 * n_neutrophils / adata.n_obs,
                "min_genes": settings.min_genes,
                "min_neutrophil_score": settings.min_neutrophil_score,
                "min_confidence": settings.annotation.min_confidence,
                "markers_used": ",".join(
                    g for g in marker_sets[settings.neutrophil_set] if g not in missing
                ),
                "markers_missing": ",".join(missing),
            }
        ],
        columns=SUMMARY_COLUMNS,
    )
    log.info(
        "human data set %s: %d neutrophils (%.1f %%) in %d of %d clusters; markers missing: %s",
        name,
        n_neutrophils,
        summary.at[0, "pct_neutrophils"],
        summary.at[0, "n_neutrophil_clusters"],
        len(clusters),
        ", ".join(missing) or "none",
    )
    neutrophils = neutrophil_cells(adata)
    return DatasetResult(cells, clusters, subclusters, summary, neutrophils)


def neutrophil_cells(adata: ad.AnnData) -> ad.AnnData:
    """The neutrophils with raw counts (``X`` and ``layers["counts"]``) and their metadata."""
    keep = adata.obs["is_neutrophil"].to_numpy(dtype=bool)
    counts = adata.layers["counts"][keep]
    obs = adata.obs.loc[
        keep, ["dataset", "sample", "donor", "barcode", "tissue", "status", "group"]
    ]
    return ad.AnnData(
        X=counts.copy(),
        obs=obs.astype(str),
        var=pd.DataFrame(index=adata.var_names),
        layers={"counts": counts.copy()},
    )


# --- integration and the N1 signature ------------------------------------------------------------
def integrate_neutrophils(parts: Sequence[ad.AnnData], settings: AtlasSettings) -> ad.AnnData:
    """All data sets' neutrophils on their shared genes: log CP10k, Harmony over sample, Leiden
    and UMAP (:mod:`livermet.atlas`)."""
    parts = [part for part in parts if part.n_obs]
    if not parts:
        raise InputError("no neutrophils in any human data set")
    adata = ad.concat(parts, join="inner")
    for key in ("dataset", "sample", "donor", "tissue", "status", "group"):
        adata.obs[key] = adata.obs[key].astype("category")
    if adata.n_obs < 10:
        raise InputError(f"{adata.n_obs} neutrophils in all human data sets; at least 10 needed")
    normalise(adata, settings.target_sum)
    embed(adata, settings, "human neutrophils")
    graph_pcs = min(settings.graph_pcs, adata.obsm["X_pca_harmony"].shape[1])
    cluster(adata, replace(settings, graph_pcs=graph_pcs))
    log.info(
        "integrated %d neutrophils x %d genes of %d samples: %d Leiden clusters",
        adata.n_obs,
        adata.n_vars,
        adata.obs["sample"].nunique(),
        adata.obs["leiden"].nunique(),
    )
    return adata


def translate_signature(mouse_genes: Sequence[str], var_names: pd.Index) -> pd.DataFrame:
    """The mouse signature in human symbols, gene by gene: ``human_gene`` and ``status``
    (``scored``, ``no_ortholog``, or ``not_in_data`` for an ortholog the data lack)."""
    genes = list(dict.fromkeys(str(g) for g in mouse_genes))
    mapping, _ = map_genes(genes, "mouse_to_human", unique_targets=False)
    human = pd.Series(genes).map(mapping)
    status = np.where(
        human.isna(), "no_ortholog", np.where(human.isin(var_names), "scored", "not_in_data")
    )
    table = pd.DataFrame({"gene": genes, "human_gene": human.fillna(""), "status": status})
    lost = table[table["status"] != "scored"]
    log.info(
        "N1 signature: %d of %d genes scored; lost: %s",
        (table["status"] == "scored").sum(),
        len(table),
        ", ".join(f"{g} ({s})" for g, s in zip(lost["gene"], lost["status"], strict=True))
        or "none",
    )
    return table


def read_signature(path: str | Path) -> list[str]:
    """The mouse genes of the N1 signature table (column ``gene``)."""
    table = pd.read_csv(path, sep="\t")
    if "gene" not in table.columns:
        raise InputError(f"{path}: no column 'gene'")
    if table.empty:
        raise InputError(f"{path}: the N1 signature has no genes")
    return table["gene"].astype(str).tolist()


def score_n1(
    adata: ad.AnnData, mouse_genes: Sequence[str], settings: HumanSettings
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """N1 signature score per neutrophil (``sc.tl.score_genes`` on log CP10k, Seurat's
    AddModuleScore defaults; also kept in ``obs["n1_score"]``) and the translation table of the
    signature."""
    translation = translate_signature(mouse_genes, adata.var_names)
    genes = translation.loc[translation["status"] == "scored", "human_gene"].tolist()
    scores = score_signatures(
        adata,
        {"n1": list(dict.fromkeys(genes))},
        min_genes=settings.score_min_genes,
        ctrl_size=settings.ctrl_size,
        n_bins=settings.n_bins,
        seed=settings.seed,
        source="N1 signature (human orthologs)",
    )
    adata.obs["n1_score"] = scores["n1"].to_numpy()
    table = adata.obs.rename_axis("cell").reset_index()
    table = table.reindex(columns=SCORE_COLUMNS).astype(str).assign(score=scores["n1"].to_numpy())
    return table, translation


def compare_groups(scores: pd.DataFrame) -> pd.DataFrame:
    """Tumour vs normal within each tissue: the paper's cell-level Wilcoxon rank-sum test and
    Welch's t-test on donor means, one row each (NaN where a side has too few cells/donors)."""
    rows = []
    donors = scores.groupby(["group", "dataset", "donor"], observed=True)["score"].mean()
    for tissue, group, reference in COMPARISONS:
        cells = {
            g: scores.loc[scores["group"] == g, "score"].to_numpy() for g in (group, reference)
        }
        means = {g: donors[g].to_numpy() if g in donors.index else np.array([]) for g in cells}
        rows.append(_row(tissue, group, reference, "wilcoxon_cells", "cells", cells))
        rows.append(_row(tissue, group, reference, "welch_donor_means", "donors", means))
    return pd.DataFrame(rows, columns=TEST_COLUMNS)


def _row(tissue: str, group: str, reference: str, method: str, unit: str, values: dict) -> dict:
    a, b = values[group], values[reference]
    statistic = pval = np.nan
    if method == "wilcoxon_cells" and len(a) and len(b):
        statistic, pval = stats.mannwhitneyu(a, b, alternative="two-sided")
    elif method == "welch_donor_means" and len(a) >= 2 and len(b) >= 2:
        statistic, pval = stats.ttest_ind(a, b, equal_var=False)
    else:
        log.warning("%s vs %s (%s): too few %s to test", group, reference, method, unit)
    mean_a = float(np.mean(a)) if len(a) else np.nan
    mean_b = float(np.mean(b)) if len(b) else np.nan
    return {
        "tissue": tissue,
        "group": group,
        "reference": reference,
        "method": method,
        "unit": unit,
        "n_group": len(a),
        "n_reference": len(b),
        "mean_group": mean_a,
        "mean_reference": mean_b,
        "difference": mean_a - mean_b,
        "statistic": float(statistic),
        "pval": float(pval),
    }


# --- patient-level shares and correlations -------------------------------------------------------
def patient_shares(
    cells: pd.DataFrame,
    scores: pd.DataFrame,
    lineages: Sequence[SubtypeLineage],
    settings: HumanSettings,
) -> pd.DataFrame:
    """Per patient (data set and donor) of the correlation data sets: the N1-like share of
    neutrophils and each subtype's share of its lineage (NaN below ``min_lineage_cells``)."""
    datasets = cells["dataset"].unique()
    neutrophils = scores[scores["dataset"].isin(datasets)]
    if neutrophils.empty:
        raise InputError("no scored neutrophils in the correlation data sets")
    threshold = float(np.quantile(neutrophils["score"], settings.n1_like_quantile))
    log.info(
        "N1-like: score >= %.4g (quantile %.2f of %d neutrophils)",
        threshold,
        settings.n1_like_quantile,
        len(neutrophils),
    )
    patients = cells[["dataset", "donor"]].drop_duplicates().sort_values(["dataset", "donor"])
    rows = []
    n1_like = neutrophils.assign(hit=neutrophils["score"] >= threshold)
    n1_rule = f"N1 score >= {threshold:.4g} (quantile {settings.n1_like_quantile:g})"
    for dataset, donor in patients.itertuples(index=False):
        mine = n1_like[(n1_like["dataset"] == dataset) & (n1_like["donor"] == donor)]
        rows.append(
            _share(dataset, donor, N1, "neutrophil", int(mine["hit"].sum()), len(mine), n1_rule)
        )
        own = cells[(cells["dataset"] == dataset) & (cells["donor"] == donor)]
        for lineage in lineages:
            members = own[own["lineage"].isin(lineage.select)]
            for subtype in lineage.marker_sets:
                n = int((members["subtype"] == subtype).sum())
                rule = f"{'/'.join(lineage.select)} subcluster named {subtype}"
                rows.append(_share(dataset, donor, subtype, lineage.name, n, len(members), rule))
    table = pd.DataFrame(rows, columns=SHARE_COLUMNS)
    too_few = table["n_lineage"] < settings.min_lineage_cells
    table.loc[too_few, "share"] = np.nan
    return table


def _share(dataset, donor, population, lineage, n_cells, n_lineage, definition) -> dict:
    return {
        "dataset": dataset,
        "donor": donor,
        "population": population,
        "lineage": lineage,
        "n_cells": n_cells,
        "n_lineage": n_lineage,
        "share": n_cells / n_lineage if n_lineage else np.nan,
        "definition": definition,
    }


def correlate(shares: pd.DataFrame, pairs: Sequence[Sequence[str]]) -> pd.DataFrame:
    """For each (x, y) pair: Spearman's rho and p over patients, and the Wilcoxon rank-sum test of
    y between patients with x above the median (high) and the others (low)."""
    wide = shares.pivot_table(
        index=["dataset", "donor"], columns="population", values="share", dropna=False
    )
    rows = []
    for x, y in pairs:
        for name in (x, y):
            if name not in wide.columns:
                raise InputError(
                    f"human.correlations.pairs: no population {name!r}; known: {list(wide.columns)}"
                )
        both = wide[[x, y]].dropna()
        rows.append({"x": x, "y": y, **_pair_statistics(both[x].to_numpy(), both[y].to_numpy())})
    return pd.DataFrame(rows, columns=CORRELATION_COLUMNS)


def _pair_statistics(x: np.ndarray, y: np.ndarray) -> dict:
    result = dict.fromkeys(CORRELATION_COLUMNS[2:], np.nan) | {"n_patients": len(x)}
    if len(x) < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        log.warning("a pair with %d patients or a constant share: not tested", len(x))
        return result
    rho, p = stats.spearmanr(x, y)
    high = x > np.median(x)
    result |= {
        "rho": float(rho),
        "p": float(p),
        "n_high": int(high.sum()),
        "n_low": int((~high).sum()),
    }
    if high.any() and (~high).any():
        result |= {
            "mean_y_high": float(y[high].mean()),
            "mean_y_low": float(y[~high].mean()),
            "wilcoxon_p": float(stats.mannwhitneyu(y[high], y[~high], alternative="two-sided")[1]),
        }
    return result
