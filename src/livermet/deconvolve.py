"""Bisque reference-based decomposition of bulk RNA-seq (a Python port of BisqueRNA 1.0.5).

The paper estimated immune (Fig 1I-K) and N0-N3 neutrophil (Fig 3F/G/L) fractions in bulk livers
and in the GSE159216 metastases with ``BisqueRNA::ReferenceBasedDecomposition`` using its
single-cell data as reference. No Python package implements Bisque, so this module follows the R
source step by step (Jew et al., Nat Commun 2020):

1. genes: those in the bulk, the reference and the marker list (all shared genes without markers);
2. CPM: counts of each cell and of each bulk sample are scaled to 1e6 *over those genes* (Bisque's
   default ``old.cpm = TRUE``); reference genes with zero variance across cells and bulk genes with
   zero counts in every sample are dropped;
3. signature (``GenerateSCReference``): mean CPM of the cells of each type, pooled over individuals;
4. pseudo-bulk of each reference individual: signature x that individual's observed cell-type
   fractions (``sc.ref %*% sc.props``), i.e. what a bulk of that individual would look like on the
   CPM scale of the signature;
5. gene-wise linear transform of the bulk onto that pseudo-bulk distribution, which removes the
   gene-specific technical bias between bulk and single-cell protocols:
   - without overlap (``use.overlap = FALSE``, the only choice when bulk and reference come from
     different individuals, as in the paper): z-score each gene across bulk samples, then rescale
     to the pseudo-bulk mean and a shrunken pseudo-bulk spread ``sqrt(SS / n + 1)`` (exactly the
     released R expression, ``sqrt(sum((Y - mean)^2) / n + 1)``);
   - with overlap: per gene, regress z-scored pseudo-bulk on z-scored bulk of the individuals
     present in both (no intercept), apply to the other bulk samples and unscale;
   genes whose transform cannot be learned (zero variance) are dropped;
6. per bulk sample, non-negative least squares with proportions summing to one
   (``lsei::pnnls(sum = 1)``). That is solved exactly, as lsei does, by NNLS on the signature
   minus the sample plus one row of ones (see :func:`simplex_nnls`), not a weighted penalty row.

Deviations, both logged: reference cells with no counts in the selected genes are dropped (Bisque
stops), and bulk samples with no counts in them are left out of the fit and reported as NaN rows
(Bisque stops too); one failed library should not end a 300-sample cohort.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.optimize import nnls

from livermet.errors import InputError

if TYPE_CHECKING:  # anndata is imported where an AnnData is made: the figure jobs need none
    import anndata as ad

log = logging.getLogger(__name__)

CPM_SCALE = 1e6


@dataclass(frozen=True)
class BisqueResult:
    """Decomposition output; ``proportions`` is bulk sample x cell type, rows sum to one."""

    proportions: pd.DataFrame
    sc_proportions: pd.DataFrame  # reference individual x cell type, counted from the cells
    rnorm: pd.Series  # Euclidean norm of the NNLS residual per bulk sample (transformed scale)
    genes_used: list[str]


def reference_based_decomposition(
    bulk: pd.DataFrame,
    reference: ad.AnnData,
    cell_type_key: str,
    individual_key: str,
    markers: Iterable[str] | None = None,
    counts_layer: str | None = "counts",
    use_overlap: bool = False,
) -> BisqueResult:
    """Estimate cell-type fractions of each bulk sample from a single-cell reference (Bisque).

    ``bulk`` holds raw counts, genes (rows) x samples (columns), with the same gene identifiers as
    ``reference.var_names`` (map Ensembl IDs or orthologs first, e.g. with
    :func:`aggregate_bulk_genes`). ``reference`` holds raw counts in ``layers[counts_layer]`` (``X``
    when ``counts_layer`` is None) and the cell type and individual of each cell in ``obs``.
    ``use_overlap`` learns the bulk transform from individuals present in both data sets (bulk
    column names equal to ``obs[individual_key]`` values) and decomposes the other bulk samples.
    """
    _check_bulk(bulk)
    cell_types, individuals = _reference_labels(reference, cell_type_key, individual_key)
    genes = select_genes(bulk.index, reference.var_names, markers)
    counts = _reference_counts(reference, counts_layer)
    columns = reference.var_names.get_indexer(genes)
    cell_types, individuals = _drop_empty_cells(counts, columns, cell_types, individuals)
    varying = _varying_genes(counts, columns, cell_types.codes >= 0)
    bulk_cpm, empty_samples = bulk_to_cpm(bulk.loc[genes])
    expressed = bulk_cpm.to_numpy().sum(axis=1) > 0
    keep = varying & expressed
    log.info(
        "dropped %d zero-variance reference genes and %d unexpressed bulk genes; %d genes left",
        int((~varying).sum()),
        int((~expressed).sum()),
        int(keep.sum()),
    )
    if not keep.any():
        raise InputError("no genes left after removing zero-variance and unexpressed genes")
    signature = cell_type_signature(counts, cell_types, reference.var_names, genes)[keep]
    sc_props = individual_proportions(cell_types, individuals)
    pseudobulk = signature.to_numpy() @ sc_props.T.to_numpy()  # genes x individuals
    transformed, targets = _transform_bulk(pseudobulk, sc_props.index, bulk_cpm[keep], use_overlap)
    learned = ~np.isnan(transformed).any(axis=1)
    if not learned.any():
        raise InputError("no gene left: the bulk transform could not be learned for any gene")
    log.info("dropped %d genes whose bulk transform could not be learned", int((~learned).sum()))
    proportions, rnorm = _decompose_samples(signature.to_numpy()[learned], transformed[learned])
    estimated = pd.DataFrame(proportions, index=targets, columns=signature.columns)
    return BisqueResult(
        proportions=_with_empty_samples(estimated, empty_samples, bulk.columns),
        sc_proportions=sc_props,
        rnorm=pd.Series(rnorm, index=targets, name="rnorm"),
        genes_used=list(signature.index[learned]),
    )


def select_genes(
    bulk_genes: Iterable[str], reference_genes: Iterable[str], markers: Iterable[str] | None
) -> pd.Index:
    """Genes in bulk, reference and (when given) the marker list, in reference order.

    Logs how many genes each side lacks: a low overlap usually means identifiers differ (Ensembl IDs
    vs symbols, human vs mouse symbols, upper vs title case).
    """
    bulk_genes = pd.Index(bulk_genes)
    reference_genes = pd.Index(reference_genes)
    shared = reference_genes[reference_genes.isin(bulk_genes)]
    log.info(
        "%d genes shared; %d reference genes not in bulk, %d bulk genes not in reference",
        len(shared),
        len(reference_genes) - len(shared),
        len(bulk_genes) - len(shared),
    )
    if shared.empty:
        raise InputError(
            "no gene shared between bulk and reference (e.g. "
            f"{list(bulk_genes[:2])} vs {list(reference_genes[:2])}): map identifiers first"
        )
    if markers is None:
        return shared
    marker_set = set(markers)
    selected = shared[shared.isin(marker_set)]
    log.info("%d of %d marker genes are in bulk and reference", len(selected), len(marker_set))
    if selected.empty:
        raise InputError("no marker gene found in both bulk and reference")
    return selected


def markers_from_table(
    table: pd.DataFrame,
    gene_col: str = "gene",
    cluster_col: str = "cluster",
    unique_markers: bool = True,
    max_per_type: int | None = None,
    weight_col: str | None = None,
    min_weight: float | None = None,
) -> list[str]:
    """Marker genes from a Seurat/scanpy-style marker table, filtered as BisqueRNA filters them.

    ``unique_markers`` drops genes listed for more than one cell type (``GetUniqueMarkers``);
    ``min_weight`` keeps rows with ``weight_col`` (e.g. log fold change) at or above it;
    ``max_per_type`` keeps the first rows of each type, so the table must be sorted by importance.
    """
    missing = [c for c in (gene_col, cluster_col, weight_col) if c and c not in table.columns]
    if missing:
        raise InputError(f"marker table lacks column(s): {', '.join(missing)}")
    rows = table
    if unique_markers:
        rows = rows[~rows[gene_col].duplicated(keep=False)]
    if min_weight is not None:
        if weight_col is None:
            raise InputError("min_weight needs weight_col")
        rows = rows[rows[weight_col] >= min_weight]
    if max_per_type is not None:
        rows = rows.groupby(cluster_col, sort=False, observed=True).head(max_per_type)
    return list(dict.fromkeys(rows[gene_col]))


def aggregate_bulk_genes(
    bulk: pd.DataFrame, mapping: Mapping[str, str] | pd.Series
) -> pd.DataFrame:
    """Rename bulk genes through ``mapping`` (e.g. Ensembl ID -> symbol), summing counts that meet.

    Unmapped genes are dropped (their number is logged). Summing is right for raw counts: reads of
    two IDs for one symbol are reads of that symbol.
    """
    targets = bulk.index.map(pd.Series(mapping))
    mapped = targets.notna()
    log.info("mapped %d of %d bulk genes", int(mapped.sum()), len(bulk))
    if not mapped.any():
        raise InputError("no bulk gene identifier is in the mapping")
    return bulk[mapped].groupby(targets[mapped]).sum()


def bulk_to_cpm(bulk: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Counts per million of each bulk sample; samples with no counts are set aside, not divided."""
    library = bulk.sum(axis=0)
    empty = list(library.index[library <= 0])
    if empty:
        warnings.warn(
            f"{len(empty)} bulk sample(s) have no counts in the selected genes and are left "
            f"undecomposed (NaN): {', '.join(map(str, empty[:10]))}",
            stacklevel=2,
        )
    kept = bulk.loc[:, library > 0]
    if kept.shape[1] == 0:
        raise InputError("every bulk sample has zero counts in the selected genes")
    return kept / library[library > 0] * CPM_SCALE, empty


def cell_type_signature(
    counts: sp.csr_matrix, cell_types: pd.Categorical, var_names: pd.Index, genes: pd.Index
) -> pd.DataFrame:
    """Mean CPM of ``genes`` over the cells of each type (genes x types), as GenerateSCReference.

    A cell's CPM is taken over ``genes`` only (Bisque's default ``old.cpm``); cells without a type
    (NaN) or without counts in ``genes`` are ignored. Computed as one sparse-times-dense product of
    the counts with per-cell weights 1e6 / (library * cells of the type): no CPM or dense copy.
    """
    columns = var_names.get_indexer(genes)
    library = selected_library(counts, columns)
    codes = np.where(library > 0, cell_types.codes, -1)
    cells = np.flatnonzero(codes >= 0)
    n_per_type = np.bincount(codes[cells], minlength=len(cell_types.categories))
    weights = np.zeros((counts.shape[0], len(cell_types.categories)))
    weights[cells, codes[cells]] = CPM_SCALE / library[cells] / n_per_type[codes[cells]]
    means = np.asarray(counts.T @ weights)[columns]
    return pd.DataFrame(means, index=pd.Index(genes), columns=cell_types.categories)


def selected_library(counts: sp.csr_matrix, columns: np.ndarray) -> np.ndarray:
    """Counts of each cell summed over the selected gene columns (a sparse mat-vec, no copy)."""
    selected = np.zeros(counts.shape[1])
    selected[columns] = 1.0
    return np.asarray(counts @ selected).ravel()


def individual_proportions(cell_types: pd.Categorical, individuals: pd.Categorical) -> pd.DataFrame:
    """Observed fraction of each cell type among each individual's cells (individual x type).

    Cells without a type or individual (NaN) are not counted.
    """
    table = pd.crosstab(
        pd.Series(individuals, name="individual"), pd.Series(cell_types, name="cell_type")
    )
    table = table.reindex(columns=cell_types.categories, fill_value=0)
    return table.div(table.sum(axis=1), axis=0)


def semisupervised_transform(pseudobulk: np.ndarray, bulk: np.ndarray) -> np.ndarray:
    """Map each bulk gene onto the pseudo-bulk distribution (Bisque without overlapping samples).

    z-score across bulk samples (sample SD), then scale by ``sqrt(SS / n + 1)`` of the pseudo-bulk
    and shift to its mean; NaN where the bulk gene does not vary (no transform can be learned).
    """
    n = pseudobulk.shape[1]
    centre = pseudobulk.mean(axis=1, keepdims=True)
    shrunk_scale = np.sqrt(((pseudobulk - centre) ** 2).sum(axis=1, keepdims=True) / n + 1)
    return _zscore(bulk) * shrunk_scale + centre


def supervised_transform(
    pseudobulk_train: np.ndarray, bulk_train: np.ndarray, bulk_target: np.ndarray
) -> np.ndarray:
    """Per-gene regression of pseudo-bulk on bulk over the overlapping individuals (Bisque overlap).

    On z-scores without intercept the slope is sum(zx * zy) / sum(zx^2); predictions are unscaled
    to the pseudo-bulk. With one overlapping individual (no variance anywhere) the ratio of the two
    values is used; a gene that varies on one side only gets NaN, as in ``SupervisedTransformBulk``.
    """
    y_centre, y_scale = _centre_scale(pseudobulk_train)
    x_centre, x_scale = _centre_scale(bulk_train)
    with np.errstate(divide="ignore", invalid="ignore"):
        zx = (bulk_train - x_centre) / x_scale
        zy = (pseudobulk_train - y_centre) / y_scale
        slope = (zx * zy).sum(axis=1, keepdims=True) / (zx**2).sum(axis=1, keepdims=True)
        regressed = (bulk_target - x_centre) / x_scale * slope * y_scale + y_centre
        ratio = pseudobulk_train[:, :1] / bulk_train[:, :1]
    ratio[(ratio == 0) | ~np.isfinite(ratio)] = np.nan
    x_flat, y_flat = ~(x_scale > 0), ~(y_scale > 0)
    out = np.where(x_flat & y_flat, bulk_target * ratio, regressed)
    out[(x_flat ^ y_flat).ravel()] = np.nan
    return out


def simplex_nnls(signature: np.ndarray, sample: np.ndarray) -> np.ndarray:
    """Least squares ``signature @ x ~ sample`` with x >= 0 and sum(x) = 1, solved exactly.

    lsei's reformulation (``pnnls(sum = 1)``): for x on the simplex, signature @ x - sample equals
    (signature - sample) @ x, so solve NNLS of D = [signature - sample; 1 ... 1] against
    e = [0 ... 0; 1] and rescale the solution to sum to one. The minimiser is the constrained one
    for any data scale, unlike a heavily weighted row of ones. The genes-long NNLS is first reduced
    by a thin QR of D (||Dy - e||^2 = ||Ry - Q'e||^2 + const, and Q'e is the last row of Q), so a
    sample costs one QR instead of an NNLS over ~20,000 rows.
    """
    design = np.vstack([signature - sample[:, None], np.ones((1, signature.shape[1]))])
    q, r = np.linalg.qr(design)
    solution, _ = nnls(r, q[-1], maxiter=50 * signature.shape[1])
    return solution / solution.sum()


def _decompose_samples(
    signature: np.ndarray, transformed: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Fractions (samples x types) and residual norms (Bisque's ``rnorm``) for every bulk sample."""
    fractions = np.array([simplex_nnls(signature, column) for column in transformed.T])
    residual_norms = np.linalg.norm(signature @ fractions.T - transformed, axis=0)
    return fractions, residual_norms


def _transform_bulk(
    pseudobulk: np.ndarray, individuals: pd.Index, bulk_cpm: pd.DataFrame, use_overlap: bool
) -> tuple[np.ndarray, pd.Index]:
    """Transformed bulk (genes x samples to decompose) and the names of those samples."""
    if not use_overlap:
        return semisupervised_transform(pseudobulk, bulk_cpm.to_numpy()), bulk_cpm.columns
    overlap, targets = _overlapping_samples(bulk_cpm.columns, individuals)
    transformed = supervised_transform(
        pseudobulk[:, individuals.get_indexer(overlap)],
        bulk_cpm[overlap].to_numpy(),
        bulk_cpm[targets].to_numpy(),
    )
    return transformed, targets


def _zscore(values: np.ndarray) -> np.ndarray:
    """Row-wise z-scores with the sample SD, as R's ``scale``; NaN rows where the SD is zero."""
    centre, scale = _centre_scale(values)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (values - centre) / scale
    z[~(scale > 0).ravel()] = np.nan
    return z


def _centre_scale(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row means and sample SDs (ddof 1; NaN with a single column, like R's ``sd``)."""
    centre = values.mean(axis=1, keepdims=True)
    if values.shape[1] < 2:
        return centre, np.full_like(centre, np.nan)
    return centre, values.std(axis=1, ddof=1, keepdims=True)


def _check_bulk(bulk: pd.DataFrame) -> None:
    """Bulk must be a numeric, non-negative genes x samples count table with unique gene IDs."""
    if bulk.index.has_duplicates:
        raise InputError("bulk table has duplicated gene identifiers; aggregate them first")
    values = bulk.to_numpy()
    if not np.issubdtype(values.dtype, np.number):
        raise InputError("bulk table must be numeric counts (genes x samples)")
    if np.isnan(values).any() or (values < 0).any():
        raise InputError("bulk counts must be non-negative and not missing")
    if bulk.shape[1] < 2:
        raise InputError("Bisque needs at least two bulk samples to learn its gene-wise transform")


def _reference_labels(
    reference: ad.AnnData, cell_type_key: str, individual_key: str
) -> tuple[pd.Categorical, pd.Categorical]:
    """Cell-type and individual labels as categoricals without unused categories, checked.

    Declared cell types with no cells are dropped (logged): a type absent from the reference has
    no profile and cannot be estimated.
    """
    for key in (cell_type_key, individual_key):
        if key not in reference.obs.columns:
            raise InputError(f"reference obs has no column {key!r}")
    if reference.var_names.has_duplicates:
        raise InputError("reference has duplicated gene names")
    cell_types = pd.Categorical(reference.obs[cell_type_key].astype("category"))
    unused = [c for c in cell_types.categories if c not in set(cell_types.unique())]
    if unused:
        log.warning("cell types with no reference cells are left out: %s", ", ".join(unused))
        cell_types = cell_types.remove_unused_categories()
    individuals = pd.Categorical(reference.obs[individual_key].astype(str))
    if pd.isna(cell_types).any():
        raise InputError(f"reference obs[{cell_type_key!r}] has missing labels")
    if len(cell_types.categories) < 2:
        raise InputError("reference has a single cell type: nothing to decompose")
    if len(individuals.categories) < 2:
        raise InputError("Bisque needs at least two reference individuals (three or more advised)")
    if len(individuals.categories) == 2:
        log.warning("only two reference individuals; Bisque advises three or more")
    return cell_types, individuals


def _reference_counts(reference: ad.AnnData, counts_layer: str | None) -> sp.csr_matrix:
    """Raw counts as CSR (cells x genes) without densifying."""
    if counts_layer is not None and counts_layer not in reference.layers:
        raise InputError(f"reference has no layers[{counts_layer!r}] with raw counts")
    matrix = reference.X if counts_layer is None else reference.layers[counts_layer]
    return sp.csr_matrix(matrix)


def _drop_empty_cells(
    counts: sp.csr_matrix,
    columns: np.ndarray,
    cell_types: pd.Categorical,
    individuals: pd.Categorical,
) -> tuple[pd.Categorical, pd.Categorical]:
    """Unlabel (NaN) cells without counts in the selected genes: their CPM is undefined.

    Bisque would stop instead. Labels that lose all their cells are removed, with a warning.
    """
    empty = selected_library(counts, columns) <= 0
    if not empty.any():
        return cell_types, individuals
    log.warning("dropped %d reference cells with no counts in the selected genes", int(empty.sum()))
    kept_types = pd.Categorical(np.where(empty, None, cell_types), categories=cell_types.categories)
    lost = [c for c in kept_types.categories if c not in set(kept_types.dropna().unique())]
    if lost:
        log.warning("cell types left without cells, so left out: %s", ", ".join(lost))
    kept_individuals = pd.Categorical(
        np.where(empty, None, individuals), categories=individuals.categories
    )
    return kept_types.remove_unused_categories(), kept_individuals.remove_unused_categories()


def _varying_genes(counts: sp.csr_matrix, columns: np.ndarray, kept: np.ndarray) -> np.ndarray:
    """Selected genes whose CPM is not identical in every kept cell (exact, no variance round-off).

    A gene measured in some but not all kept cells varies; one measured in none does not; only
    genes measured in every kept cell need their CPM values compared. (Dropped cells have no counts
    in the selected genes, so they add no nonzeros to these columns.)
    """
    measured = np.bincount(counts.indices[counts.data != 0], minlength=counts.shape[1])[columns]
    n_kept = int(kept.sum())
    varying = (measured > 0) & (measured < n_kept)
    everywhere = np.flatnonzero(measured == n_kept)
    if everywhere.size:
        library = selected_library(counts, columns)[kept]
        block = counts[np.flatnonzero(kept)][:, columns[everywhere]].toarray()
        cpm = block * (CPM_SCALE / library)[:, None]
        varying[everywhere] = cpm.max(axis=0) > cpm.min(axis=0)
    return varying


def _overlapping_samples(bulk_samples: pd.Index, individuals: pd.Index) -> tuple[list, pd.Index]:
    """Bulk samples that are reference individuals (to learn from) and the rest (to decompose)."""
    overlap = [s for s in bulk_samples if s in set(individuals)]
    if not overlap:
        raise InputError("use_overlap: no bulk sample is named like a reference individual")
    targets = bulk_samples.difference(overlap, sort=False)
    if targets.empty:
        raise InputError("use_overlap: every bulk sample is a reference individual; none is left")
    log.info("learning the transform from %d overlapping individuals", len(overlap))
    return overlap, targets


def _with_empty_samples(
    proportions: pd.DataFrame, empty: list[str], bulk_order: pd.Index
) -> pd.DataFrame:
    """Add all-NaN rows for bulk samples with a zero library; keep the bulk's sample order."""
    wanted = set(proportions.index) | set(empty)
    return proportions.reindex([s for s in bulk_order if s in wanted])
