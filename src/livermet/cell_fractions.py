"""Cell fractions of bulk cohorts (Fig 1I-K, 3F/G and the survival cohort of 3L): the workflow side
of the Bisque port in :mod:`livermet.deconvolve`.

A *level* says which atlas cells form the reference and what they are called:

* ``label``: the column of the labels table (``results/subsets/labels.tsv``: ``cell_type`` or
  ``subtype``) that names each reference cell;
* ``types``: the labels kept (None: every label but ``Unassigned``); the paper's N0-N3 reference
  is the neutrophils alone (``types: [N0, N1, N2, N3]``);
* ``others``: a coarser column (``cell_type``) under which every other cell joins the reference,
  so the rest of the tissue has a profile too (N0-N3 plus each other major type). Without it a
  bulk's variation in other cells can only be explained by the subtypes: on the demo liver bulk
  a neutrophil-only reference gets the PMN-control shift of N0 and N1 backwards (estimated against
  planted N1 r = -0.4), the whole-tissue one gets all four signs right;
* ``conditions``: the livers the reference comes from (the paper used control and PMN livers for
  the immune fractions of Fig 1I-K);
* ``scopes``: groups of types whose fractions are also reported renormalised among themselves
  (``immune: [TNK, Myeloid, B]`` gives Fig 1I-K's "share among immune cells");
* ``min_cells``: a label with fewer reference cells is left out (its fraction reported NaN where
  the level names it). A handful of cells is a misassignment, not a profile: a re-drawn demo put
  one control cell in a Tumour cluster, and a one-cell type cannot be tested for markers.

Markers are chosen as BisqueRNA's users choose them: a one-vs-rest Wilcoxon of each reference type
(Seurat ``FindAllMarkers``), genes with a positive log2 fold change of at least ``min_log2fc`` and
adjusted p below ``max_padj``, the ``n_per_type`` best by score, and genes listed for two types
dropped (``GetUniqueMarkers``). Without markers Bisque's unweighted least squares is dominated by
the few most expressed genes; on the demo bulk cohorts the markers raise the correlation with the
planted immune fractions from 0.5-0.85 to 0.75-0.95.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy.stats import mannwhitneyu

from livermet.deconvolve import markers_from_table, reference_based_decomposition
from livermet.errors import InputError
from livermet.io import write_table
from livermet.markers import subsample_per_group, wilcoxon_table

if TYPE_CHECKING:  # anndata is imported where an AnnData is made: the figure jobs need none
    import anndata as ad

log = logging.getLogger(__name__)

UNASSIGNED = "Unassigned"
LABEL_COLUMNS = ("cell", "sample", "condition", "cell_type", "subtype")
FRACTION_COLUMNS = ["sample", "group", "scope", "cell_type", "proportion"]
ALL_SCOPE = "all"


@dataclass(frozen=True)
class Level:
    """Which atlas cells form the reference, under which labels (see the module docstring)."""

    label: str
    types: tuple[str, ...] | None = None
    others: str | None = None
    conditions: tuple[str, ...] | None = None
    scopes: dict[str, tuple[str, ...]] = field(default_factory=dict)
    min_cells: int = 10

    @classmethod
    def from_config(cls, settings: Mapping) -> Level:
        return cls(
            label=settings["label"],
            types=tuple(settings["types"]) if settings.get("types") else None,
            others=settings.get("others"),
            conditions=tuple(settings["conditions"]) if settings.get("conditions") else None,
            scopes={name: tuple(types) for name, types in (settings.get("scopes") or {}).items()},
            min_cells=settings.get("min_cells", cls.min_cells),
        )


@dataclass(frozen=True)
class MarkerSettings:
    """BisqueRNA-style marker selection (module docstring); ``n_per_type`` 0 uses every gene."""

    n_per_type: int = 50
    min_log2fc: float = 2.0
    max_padj: float = 0.05
    max_cells_per_type: int = 500
    seed: int = 0


def read_labels(path) -> pd.DataFrame:
    """The labels contract table (one row per atlas cell), indexed by cell, checked."""
    table = pd.read_csv(path, sep="\t", dtype=str)
    missing = [c for c in LABEL_COLUMNS if c not in table.columns]
    if missing:
        raise InputError(f"{path}: labels table lacks column(s) {', '.join(missing)}")
    twice = table["cell"][table["cell"].duplicated()]
    if len(twice):
        raise InputError(f"{path}: cell {twice.iloc[0]!r} is listed twice")
    return table.set_index("cell")


def read_reference(atlas_path, labels_path, level: Level) -> ad.AnnData:
    """:func:`reference_cells` of the atlas and labels files, as the marker job and every
    cohort's deconvolution job read a level's reference alike."""
    import anndata as ad

    return reference_cells(ad.read_h5ad(atlas_path), read_labels(labels_path), level)


def reference_cells(atlas: ad.AnnData, labels: pd.DataFrame, level: Level) -> ad.AnnData:
    """The atlas cells of a level's reference, with its label in ``obs["reference_label"]``.

    Cells absent from the labels table or labelled ``Unassigned`` are left out; so are cells of
    other conditions than the level names, and of other types unless the level has ``others``
    (then they join under that coarser label).
    """
    for column in (level.label, level.others):
        if column is not None and column not in labels.columns:
            raise InputError(f"labels table has no column {column!r} (level label)")
    missing = atlas.obs_names.difference(labels.index)
    if len(missing) == atlas.n_obs:
        raise InputError(
            f"no atlas cell is in the labels table (e.g. {atlas.obs_names[0]!r}); "
            "are they from the same run?"
        )
    if len(missing):
        log.warning("%d atlas cells have no label and are left out", len(missing))
    names = atlas.obs_names[atlas.obs_names.isin(labels.index)]
    rows = labels.loc[names]
    label = rows[level.label].to_numpy(dtype=object)
    keep = pd.notna(label) & (label != UNASSIGNED)
    if level.types is not None:
        chosen = np.isin(label, level.types)
        if level.others is None:
            keep &= chosen
        else:
            coarse = rows[level.others].to_numpy(dtype=object)
            keep &= pd.notna(coarse) & (coarse != UNASSIGNED)
            label = np.where(chosen, label, coarse)
    if level.conditions is not None:
        keep &= rows["condition"].isin(level.conditions).to_numpy()
    if not keep.any():
        raise InputError(
            f"no atlas cell has a {level.label} among {level.types or 'the labels'} in "
            f"conditions {level.conditions or 'any'}"
        )
    counts = pd.Series(label[keep]).value_counts()
    too_few = counts[counts < level.min_cells]
    if len(too_few):
        log.warning(
            "left out of the reference, fewer than %d cells: %s", level.min_cells, too_few.to_dict()
        )
        keep &= ~np.isin(label, too_few.index)
        counts = counts.drop(too_few.index)
    if not keep.any():
        raise InputError(f"no reference label has {level.min_cells} cells (min_cells of the level)")
    reference = atlas[names[keep]].copy()
    reference.obs["reference_label"] = pd.Categorical(label[keep])
    reference.obs["reference_sample"] = rows["sample"].to_numpy()[keep]
    log.info("reference: %d cells, %s", reference.n_obs, counts.to_dict())
    if level.types is not None:
        absent = [t for t in level.types if counts.get(t, 0) == 0]
        if absent:
            # an upstream labelling that found no such cells: the fractions of the others can
            # still be estimated, these are reported as missing (NaN) rather than stopping the run
            log.warning("no reference cell labelled %s: fraction(s) NaN", ", ".join(absent))
    return reference


def select_markers(reference: ad.AnnData, settings: MarkerSettings) -> list[str] | None:
    """Marker genes of the reference types (module docstring); None when ``n_per_type`` is 0.

    The Wilcoxon runs on log-normalised ``X`` of at most ``max_cells_per_type`` cells per type
    (seeded), which keeps it cheap at atlas scale.
    """
    if settings.n_per_type == 0:
        return None
    import anndata as ad

    labels = reference.obs["reference_label"]
    keep = subsample_per_group(labels, settings.max_cells_per_type, settings.seed)
    subset = ad.AnnData(
        X=reference.X[keep],
        obs=pd.DataFrame({"label": labels.to_numpy()[keep]}, index=reference.obs_names[keep]),
        var=pd.DataFrame(index=reference.var_names),
    )
    subset.obs["label"] = subset.obs["label"].astype("category")
    table = wilcoxon_table(subset, "label", use_raw=False)
    table = table[
        (table["logfoldchanges"] >= settings.min_log2fc) & (table["pvals_adj"] < settings.max_padj)
    ].sort_values(["group", "scores"], ascending=[True, False], kind="mergesort")
    markers = markers_from_table(
        table, gene_col="names", cluster_col="group", max_per_type=settings.n_per_type
    )
    per_type = table[table["names"].isin(markers)].groupby("group", observed=True).size()
    log.info("%d unique markers: %s", len(markers), per_type.to_dict())
    if not markers:
        raise InputError(
            f"no marker gene with log2 fold change >= {settings.min_log2fc} and adjusted p < "
            f"{settings.max_padj}: lower deconvolution.markers.min_log2fc or set n_per_type 0"
        )
    return markers


MARKER_COLUMN = "gene"


def write_markers(markers: Sequence[str] | None, path) -> None:
    """Write :func:`select_markers`'s genes in their order, one a row; no rows for None (every
    shared gene). A level's markers depend on the reference only, so the workflow selects them
    once per level and every cohort's Bisque reads them (7 Wilcoxon tests of the demo's reference
    became 2). :func:`select_markers` never returns an empty list, so no rows means None."""
    write_table(pd.DataFrame({MARKER_COLUMN: list(markers or [])}), path)


def read_markers(path) -> list[str] | None:
    """The genes :func:`write_markers` wrote, in order, as strings (a gene named "NA" stays one);
    None where it wrote no rows."""
    table = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    if MARKER_COLUMN not in table.columns:
        raise InputError(f"{path}: marker table lacks column {MARKER_COLUMN!r}")
    genes = table[MARKER_COLUMN].tolist()
    return genes or None


def estimate_fractions(
    bulk: pd.DataFrame,
    reference: ad.AnnData,
    level: Level,
    markers: Sequence[str] | None,
    groups: pd.Series | None = None,
) -> pd.DataFrame:
    """Bisque fractions of each bulk sample as a long table (:data:`FRACTION_COLUMNS`).

    Scope ``all`` holds every reference type; each named scope its types renormalised to sum to
    one. A type of the level without reference cells is reported as NaN. ``group`` is the
    sample's group (``groups``, e.g. control/PMN) or empty.
    """
    result = reference_based_decomposition(
        bulk, reference, "reference_label", "reference_sample", markers=markers
    )
    log.info("Bisque used %d genes", len(result.genes_used))
    wide = result.proportions
    absent = [t for t in level.types or () if t not in wide.columns]
    wide = wide.reindex(columns=[*wide.columns, *absent])
    tables = [_long(wide, ALL_SCOPE)]
    for scope, types in level.scopes.items():
        unknown = [t for t in types if t not in wide.columns]
        if unknown:
            raise InputError(f"scope {scope!r}: {', '.join(unknown)} not in the reference types")
        part = wide[list(types)]
        tables.append(_long(part.div(part.sum(axis=1, min_count=1), axis=0), scope))
    long = pd.concat(tables, ignore_index=True)
    long.insert(1, "group", long["sample"].map(groups) if groups is not None else "")
    return long[FRACTION_COLUMNS]


def _long(wide: pd.DataFrame, scope: str) -> pd.DataFrame:
    long = wide.rename_axis(index="sample", columns="cell_type").stack(future_stack=True)
    long = long.rename("proportion").reset_index()
    long.insert(1, "scope", scope)
    return long


def bulk_from_log2(expression: pd.DataFrame) -> pd.DataFrame:
    """Linear-scale expression from log2 values (microarray RMA): Bisque mixes on the linear scale,
    where a tissue's signal is the sum of its cells'."""
    if expression.isna().any().any():
        raise InputError("log2 expression has missing values")
    return np.exp2(expression)


def compare_groups(fractions: pd.DataFrame, ref: str = "control") -> pd.DataFrame:
    """Per scope, cell type and group other than ``ref``: sizes, medians and the two-sided
    Wilcoxon rank-sum (Mann-Whitney) p against ``ref``, the paper's test for Fig 1I-K."""
    rows = []
    for (scope, cell_type), part in fractions.groupby(["scope", "cell_type"], sort=False):
        reference = part.loc[part["group"] == ref, "proportion"].dropna()
        for group in [g for g in part["group"].unique() if g != ref]:
            values = part.loc[part["group"] == group, "proportion"].dropna()
            p = (
                mannwhitneyu(values, reference, alternative="two-sided").pvalue
                if len(values) and len(reference)
                else np.nan
            )
            rows.append(
                {
                    "scope": scope,
                    "cell_type": cell_type,
                    "group": group,
                    "ref": ref,
                    "n_group": len(values),
                    "n_ref": len(reference),
                    "median_group": values.median(),
                    "median_ref": reference.median(),
                    "pval": p,
                }
            )
    return pd.DataFrame(rows)
