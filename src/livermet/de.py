"""Condition differential expression within one cell type (Fig 2A-C; Table S2).

Two tests side by side, one long table (column ``method``):

* ``wilcoxon`` - the paper's test: Seurat ``FindMarkers`` on cells, here
  ``scanpy.tl.rank_genes_groups(method="wilcoxon", tie_correct=True)`` with the reference condition
  as ``reference``. Cells of one animal are not independent, so with two animals per condition its
  p-values measure cell numbers more than reproducibility across animals.
* ``pseudobulk`` - raw counts summed per animal within the cell type, then limma-voom
  (:func:`livermet.bulk.limma_de`, checked against R) on the animals of all conditions. voom
  rather than pydeseq2: one R-checked implementation for bulk and pseudobulk, voom weights absorb
  the unequal pseudobulk library sizes that come from unequal cell numbers, and limma's variance
  moderation is well behaved with two animals per group.

Both rows carry the same descriptive columns: ``mean_group``/``mean_ref`` (mean counts per 10,000
per cell for ``wilcoxon``; mean over animals of the pooled counts per 10,000 for ``pseudobulk``)
and ``pct_group``/``pct_ref`` (fraction of cells with a count). ``stat`` is the ranking statistic
GSEA uses: the Wilcoxon z-score or the moderated t. ``padj`` is Benjamini-Hochberg within method
and contrast (Seurat's ``p_val_adj`` is Bonferroni).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import anndata as ad
import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.stats import false_discovery_control

from livermet.bulk import check_contrast_groups, contrast_name, filter_expressed, limma_de
from livermet.errors import InputError

log = logging.getLogger(__name__)

CONTRASTS = ("PMN_vs_control", "MN_vs_control", "MN_vs_PMN")
METHODS = ("wilcoxon", "pseudobulk")
MIN_WILCOXON_CELLS = 3
"""Cells each compared group needs for the Wilcoxon test (Seurat FindMarkers' own minimum)."""
DE_COLUMNS = [
    "gene",
    "log2fc",
    "pval",
    "padj",
    "mean_group",
    "mean_ref",
    "pct_group",
    "pct_ref",
    "stat",
    "method",
    "contrast",
]


def parse_contrast(name: str) -> tuple[str, str]:
    """Split ``"<group>_vs_<ref>"`` into (group, ref)."""
    parts = name.split("_vs_")
    if len(parts) != 2 or not all(parts):
        raise InputError(f"contrast {name!r} is not of the form <group>_vs_<ref>")
    return parts[0], parts[1]


def condition_de(
    adata: ad.AnnData,
    cell_type: str,
    contrasts: Sequence[str] = CONTRASTS,
    methods: Sequence[str] = METHODS,
    min_pct: float = 0.1,
    min_cells: int = 10,
    cell_type_key: str = "cell_type",
    condition_key: str = "condition",
    sample_key: str = "sample",
) -> pd.DataFrame:
    """DE between conditions for the cells of one type; one row per gene, method and contrast.

    ``min_pct``: the Wilcoxon test is restricted to genes detected in at least this fraction of the
    cells of either compared condition (Seurat's ``min.pct``; 0.1 in Seurat 4). ``min_cells``: an
    animal enters the pseudobulk fit only with at least this many cells of the type.
    The result is sorted by contrast, method, p-value and gene, so reruns give identical tables.
    """
    _check_obs(adata, [cell_type_key, condition_key, sample_key])
    if "counts" not in adata.layers:
        raise InputError('AnnData lacks layers["counts"] (raw counts) needed for DE')
    unknown = set(methods) - set(METHODS)
    if unknown:
        raise InputError(f"unknown DE method(s) {sorted(unknown)}; choose from {METHODS}")
    cells = adata[adata.obs[cell_type_key].astype(str) == cell_type].copy()
    if cells.n_obs == 0:
        raise InputError(f"no cells of type {cell_type!r} in obs[{cell_type_key!r}]")
    pairs = [parse_contrast(c) for c in contrasts]
    tables = []
    if "wilcoxon" in methods:
        tables += [wilcoxon_de(cells, g, r, min_pct, condition_key) for g, r in pairs]
    if "pseudobulk" in methods:
        tables.append(pseudobulk_de(cells, pairs, min_cells, condition_key, sample_key))
    table = pd.concat(tables, ignore_index=True)[DE_COLUMNS]
    table["_order"] = table["contrast"].map(
        {contrast_name(g, r): i for i, (g, r) in enumerate(pairs)}
    )
    table = table.sort_values(["_order", "method", "pval", "gene"], kind="mergesort")
    return table.drop(columns="_order").reset_index(drop=True)


def _check_obs(adata: ad.AnnData, keys: Sequence[str]) -> None:
    missing = [k for k in keys if k not in adata.obs]
    if missing:
        raise InputError(f"AnnData obs lacks column(s) {missing}")


def wilcoxon_de(
    cells: ad.AnnData, group: str, ref: str, min_pct: float, condition_key: str = "condition"
) -> pd.DataFrame:
    """Cell-level Wilcoxon rank-sum test of ``group`` against ``ref`` on log-normalised ``X``.

    log2fc is Seurat's: log2(mean CP10k + 1) difference between conditions.
    """
    import scanpy as sc  # here: jobs that use this module's other helpers need not load it (1.3 s)

    in_group, in_ref = _condition_masks(cells, group, ref, condition_key)
    counts = _csr(cells.layers["counts"])
    pct_group, pct_ref = detection_rate(counts, in_group), detection_rate(counts, in_ref)
    tested = np.maximum(pct_group, pct_ref) >= min_pct
    if not tested.any():
        raise InputError(f"{group} vs {ref}: no gene is detected in {min_pct:.0%} of cells")
    keep = in_group | in_ref
    test_data = ad.AnnData(
        X=_csr(cells.X)[keep],
        obs=pd.DataFrame(
            {"condition": np.where(in_group[keep], group, ref)},
            index=cells.obs_names[keep].astype(str),
            dtype="category",
        ),
        var=pd.DataFrame(index=cells.var_names.astype(str)),
    )
    sc.tl.rank_genes_groups(
        test_data,
        "condition",
        groups=[group],
        reference=ref,
        method="wilcoxon",
        tie_correct=True,
        mask_var=tested,
        use_raw=False,
    )
    ranked = sc.get.rank_genes_groups_df(test_data, group=group).set_index("names")
    genes = cells.var_names[tested].astype(str)
    ranked = ranked.loc[genes]
    mean_group = mean_normalised(cells.X, in_group)[tested]
    mean_ref = mean_normalised(cells.X, in_ref)[tested]
    log.info("%s vs %s: Wilcoxon on %d cells x %d genes", group, ref, keep.sum(), tested.sum())
    return pd.DataFrame(
        {
            "gene": genes,
            "log2fc": np.log2(mean_group + 1) - np.log2(mean_ref + 1),
            "pval": ranked["pvals"].to_numpy(),
            "padj": false_discovery_control(ranked["pvals"].to_numpy(), method="bh"),
            "mean_group": mean_group,
            "mean_ref": mean_ref,
            "pct_group": pct_group[tested],
            "pct_ref": pct_ref[tested],
            "stat": ranked["scores"].to_numpy(),
            "method": "wilcoxon",
            "contrast": contrast_name(group, ref),
        }
    )


def _condition_masks(
    cells: ad.AnnData, group: str, ref: str, condition_key: str
) -> tuple[np.ndarray, np.ndarray]:
    """Boolean cell masks of the two compared groups of ``obs[condition_key]`` (a condition, or
    a subtype for :mod:`livermet.lineage_de`); each needs cells to compare."""
    condition = cells.obs[condition_key].astype(str).to_numpy()
    in_group, in_ref = condition == group, condition == ref
    for name, mask in ((group, in_group), (ref, in_ref)):
        if mask.sum() < MIN_WILCOXON_CELLS:
            raise InputError(f"{group} vs {ref}: {mask.sum()} cell(s) in {condition_key} {name!r}")
    return in_group, in_ref


def _csr(matrix) -> sp.csr_matrix:
    """The matrix as CSR without densifying (dense input stays as cheap as it already is)."""
    return matrix if sp.issparse(matrix) and matrix.format == "csr" else sp.csr_matrix(matrix)


def detection_rate(counts: sp.csr_matrix, cells: np.ndarray) -> np.ndarray:
    """Fraction of the selected cells with a non-zero count, per gene."""
    selected = counts[cells]
    return np.asarray((selected > 0).sum(axis=0)).ravel() / max(selected.shape[0], 1)


def mean_normalised(log_norm, cells: np.ndarray) -> np.ndarray:
    """Mean counts per 10,000 (expm1 of log-normalised X) over the selected cells, per gene."""
    return np.asarray(_csr(log_norm)[cells].expm1().mean(axis=0)).ravel()


def pseudobulk_counts(
    cells: ad.AnnData, min_cells: int, condition_key: str = "condition", sample_key: str = "sample"
) -> tuple[pd.DataFrame, pd.Series]:
    """Raw counts summed per animal (genes x samples) and each animal's condition.

    Animals with fewer than ``min_cells`` cells of the type are left out: their sums are too noisy.
    """
    samples = cells.obs[sample_key].astype(str).to_numpy()
    conditions = cells.obs[condition_key].astype(str).to_numpy()
    per_sample = pd.DataFrame({"sample": samples, "condition": conditions}).drop_duplicates()
    if per_sample["sample"].duplicated().any():
        bad = per_sample.loc[per_sample["sample"].duplicated(), "sample"].iloc[0]
        raise InputError(f"sample {bad!r} has cells in more than one condition")
    n_cells = pd.Series(samples).value_counts()
    kept = sorted(s for s in per_sample["sample"] if n_cells[s] >= min_cells)
    dropped = sorted(set(per_sample["sample"]) - set(kept))
    if dropped:
        log.info("pseudobulk leaves out animals with < %d cells: %s", min_cells, dropped)
    member = sp.csr_matrix((samples[None, :] == np.array(kept)[:, None]).astype(np.float64))
    summed = np.asarray((member @ _csr(cells.layers["counts"])).todense())
    counts = pd.DataFrame(summed.T, index=cells.var_names.astype(str), columns=kept)
    condition_of = per_sample.set_index("sample")["condition"]
    return counts.round().astype(np.int64), condition_of.loc[kept]


def pseudobulk_de(
    cells: ad.AnnData,
    pairs: Sequence[tuple[str, str]],
    min_cells: int = 10,
    condition_key: str = "condition",
    sample_key: str = "sample",
) -> pd.DataFrame:
    """limma-voom on per-animal pseudobulks; all animals in one model, one block per contrast."""
    counts, conditions = pseudobulk_counts(cells, min_cells, condition_key, sample_key)
    check_contrast_groups(conditions, pairs)
    expressed = filter_expressed(counts, conditions)
    fit = limma_de(expressed, conditions, pairs).set_index("gene")
    cp10k = counts / counts.sum(axis=0) * 1e4
    cell_counts = _csr(cells.layers["counts"])
    cell_condition = cells.obs[condition_key].astype(str).to_numpy()
    blocks = []
    for group, ref in pairs:
        result = fit[fit["contrast"] == contrast_name(group, ref)]
        genes = result.index
        gene_idx = cells.var_names.astype(str).get_indexer(genes)
        blocks.append(
            pd.DataFrame(
                {
                    "gene": genes,
                    "log2fc": result["log2fc"].to_numpy(),
                    "pval": result["pval"].to_numpy(),
                    "padj": result["padj"].to_numpy(),
                    "mean_group": cp10k.loc[genes, conditions == group].mean(axis=1).to_numpy(),
                    "mean_ref": cp10k.loc[genes, conditions == ref].mean(axis=1).to_numpy(),
                    "pct_group": detection_rate(cell_counts, cell_condition == group)[gene_idx],
                    "pct_ref": detection_rate(cell_counts, cell_condition == ref)[gene_idx],
                    "stat": result["t"].to_numpy(),
                    "method": "pseudobulk",
                    "contrast": contrast_name(group, ref),
                }
            )
        )
    return pd.concat(blocks, ignore_index=True)
