"""Bulk RNA-seq differential expression with limma-voom through ``inmoose``.

The paper ran limma in R on bulk liver cohorts (Fig 2G-I). ``inmoose.limma`` ports ``lmFit``,
``contrasts.fit`` and ``eBayes`` but not ``voom``. In inmoose 0.9.1 ``lmFit`` with a weight matrix
fails ("assignment destination is read-only") and its code takes the standard errors from the
unweighted design, and ``eBayes`` fails (KeyError) when the prior degrees of freedom are infinite,
in the B-statistic that we do not use. So ``voom``, the weighted least-squares fit and the
moderated t (from inmoose's ``squeezeVar``) live here, written after limma 3.54; the unweighted
fit, ``contrasts.fit`` and the variance moderation are inmoose's. ``tests/fixtures/limma`` holds an
R run that this module must reproduce.

voom rather than limma-trend (log-CPM with ``eBayes(trend=TRUE)``): limma's authors advise trend
only when library sizes are within about 3-fold, and the Weger cohort spans 7-112 M reads while
pseudobulks vary with the number of cells per animal; inmoose's trend fit is also quadratic in the
number of genes (about 70 s for 15,000 genes, against 0.2 s for voom).

The same code serves the per-animal pseudobulk test in :mod:`livermet.de`, so both count-level tests
of the project share one R-checked implementation.

inmoose and statsmodels are imported where a fit needs them: importing inmoose loads all of its
subpackages (edgepy, DESeq2, pycombat, with statsmodels and matplotlib), about 2 s in every job
that imports this module only to read a design (deconvolution) or through :mod:`livermet.de` for
Wilcoxon tests alone (subtype DE, signatures).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import patsy
from scipy.stats import false_discovery_control
from scipy.stats import t as t_dist

from livermet.errors import InputError

if TYPE_CHECKING:
    from inmoose.limma import MArrayLM

log = logging.getLogger(__name__)

BULK_COLUMNS = ["gene", "log2fc", "ave_expr", "t", "pval", "padj"]


def read_design(path: str | os.PathLike) -> pd.Series:
    """Read a design table with columns ``sample`` and ``group``; return group by sample."""
    try:
        design = pd.read_csv(path, sep="\t", dtype=str)
    except (OSError, pd.errors.ParserError) as err:
        raise InputError(f"{path}: cannot read design table ({err})") from err
    missing = {"sample", "group"} - set(design.columns)
    if missing:
        raise InputError(f"{path}: design table lacks column(s) {sorted(missing)}")
    if design["sample"].duplicated().any():
        raise InputError(f"{path}: a sample is listed twice")
    return design.set_index("sample")["group"]


def design_from_groups(groups: dict[str, list[str]]) -> pd.Series:
    """Group by sample from a config mapping group -> sample ids (``datasets.<name>.groups``)."""
    pairs = [(sample, group) for group, samples in groups.items() for sample in samples]
    design = pd.Series(dict(pairs), name="group").rename_axis("sample")
    if len(design) < len(pairs):
        raise InputError("a sample is listed under more than one group")
    return design


def align_groups(counts: pd.DataFrame, groups: pd.Series) -> tuple[pd.DataFrame, pd.Series]:
    """Keep the samples named in the design, in design order; fail on samples without counts."""
    absent = [s for s in groups.index if s not in counts.columns]
    if absent:
        raise InputError(f"design samples without a count column: {absent}")
    return counts[list(groups.index)], groups


def filter_expressed(
    counts: pd.DataFrame, groups: pd.Series, min_count: float = 10, min_total_count: float = 15
) -> pd.DataFrame:
    """Keep genes expressed enough to model, by edgeR ``filterByExpr``'s rule for small groups.

    A gene stays if its CPM reaches ``min_count`` reads at the median library size in at least as
    many samples as the smallest group, and it has ``min_total_count`` reads in all. The R fixture
    applies the same arithmetic, so both sides test the same genes.
    """
    lib_size = counts.sum(axis=0).to_numpy(dtype=float)
    cpm = counts.to_numpy(dtype=float) / lib_size * 1e6
    cpm_cutoff = min_count / np.median(lib_size) * 1e6
    min_samples = groups.value_counts().min()
    keep = ((cpm >= cpm_cutoff - 1e-14).sum(axis=1) >= min_samples - 1e-14) & (
        counts.sum(axis=1).to_numpy() >= min_total_count - 1e-14
    )
    log.info("kept %d of %d genes (filterByExpr rule)", keep.sum(), len(keep))
    return counts.loc[keep]


def log_cpm(counts: pd.DataFrame) -> pd.DataFrame:
    """limma's log2-CPM (``voom``'s ``E``): log2((count + 0.5) / (library size + 1) * 1e6)."""
    lib_size = counts.sum(axis=0).to_numpy(dtype=float)
    return np.log2((counts + 0.5) / (lib_size + 1) * 1e6)


def group_means_design(groups: pd.Series) -> patsy.DesignMatrix:
    """One indicator column per group (no intercept), so every contrast is a group difference.

    With this design the coefficients are uncorrelated, which makes ``contrasts.fit`` exact even
    with voom precision weights.
    """
    levels = _group_levels(groups)
    indicators = np.column_stack([(groups.to_numpy() == lvl).astype(float) for lvl in levels])
    return patsy.DesignMatrix(indicators, design_info=patsy.DesignInfo(list(levels)))


def _group_levels(groups: pd.Series) -> list[str]:
    """Levels in categorical order when the groups are categorical, else sorted."""
    if isinstance(groups.dtype, pd.CategoricalDtype):
        present = set(groups)
        return [str(c) for c in groups.cat.categories if c in present]
    return sorted(str(g) for g in groups.unique())


def voom_weights(counts: pd.DataFrame, design: np.ndarray) -> np.ndarray:
    """Precision weights from the mean-variance trend, as limma 3.54 ``voom`` computes them.

    Library sizes are the column sums (no TMM), as in ``voom(counts, design)`` on a matrix.
    """
    from inmoose.limma import lmFit

    lib_size = counts.sum(axis=0).to_numpy(dtype=float)
    expr = log_cpm(counts)
    fit = lmFit(expr, design)
    sx = fit.Amean.to_numpy() + np.mean(np.log2(lib_size + 1)) - np.log2(1e6)
    sy = np.sqrt(np.asarray(fit.sigma, dtype=float))
    nonzero = counts.sum(axis=1).to_numpy() > 0
    trend_x, trend_y = _lowess_trend(sx[nonzero], sy[nonzero])
    fitted_log2cpm = fit.coefficients.to_numpy() @ np.asarray(design).T
    fitted_log2count = fitted_log2cpm + np.log2(lib_size + 1) - np.log2(1e6)
    return 1.0 / np.interp(fitted_log2count, trend_x, trend_y) ** 4


def _lowess_trend(x: np.ndarray, y: np.ndarray, span: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """R ``lowess(x, y, f=span)`` (3 robustness iterations, delta = 1 % of the range), with tied x
    values averaged as ``approxfun(ties = mean)`` does."""
    from statsmodels.nonparametric.smoothers_lowess import lowess

    smooth = lowess(y, x, frac=span, it=3, delta=0.01 * np.ptp(x), return_sorted=True)
    unique_x, inverse = np.unique(smooth[:, 0], return_inverse=True)
    mean_y = np.bincount(inverse, weights=smooth[:, 1]) / np.bincount(inverse)
    return unique_x, mean_y


def weighted_lm_fit(
    expr: pd.DataFrame, design: patsy.DesignMatrix, weights: np.ndarray
) -> MArrayLM:
    """Gene-wise weighted least squares, as limma ``lmFit`` with a weight matrix.

    Solves all genes at once ((X'WX)^-1 X'Wy per gene) and returns an inmoose ``MArrayLM`` ready for
    ``contrasts_fit`` and ``eBayes``.
    """
    from inmoose.limma import MArrayLM

    x = np.asarray(design, dtype=float)
    y = expr.to_numpy(dtype=float)
    xtwx = np.einsum("gi,ij,ik->gjk", weights, x, x)
    xtwy = np.einsum("gi,ij,gi->gj", weights, x, y)
    beta = np.linalg.solve(xtwx, xtwy[..., None])[..., 0]
    resid = y - beta @ x.T
    df_residual = x.shape[0] - np.linalg.matrix_rank(x)
    sigma = np.sqrt(np.sum(weights * resid**2, axis=1) / df_residual)
    unscaled = np.sqrt(np.diagonal(np.linalg.inv(xtwx), axis1=1, axis2=2))
    names = design.design_info.column_names
    fit = MArrayLM(
        pd.DataFrame(beta, index=expr.index, columns=names),
        pd.DataFrame(unscaled, index=expr.index, columns=names),
        pd.Series(sigma, index=expr.index),
        np.full(len(expr), float(df_residual)),
        pd.DataFrame(np.linalg.inv(x.T @ x), index=names, columns=names),
    )
    fit.Amean = expr.mean(axis=1)
    fit.design = design
    return fit


def limma_de(
    counts: pd.DataFrame, groups: pd.Series, contrasts: Sequence[tuple[str, str]]
) -> pd.DataFrame:
    """limma-voom moderated t-tests of group differences (counts genes x samples, filtered).

    All samples enter one group-means model, so groups outside a contrast still inform the
    residual variance, as in ``lmFit`` + ``contrasts.fit`` + ``eBayes`` in R.

    Returns one row per gene and contrast: gene, log2fc, ave_expr (mean log2-CPM), t, pval, padj
    (Benjamini-Hochberg within contrast), contrast ("<group>_vs_<ref>").
    """
    from inmoose.limma import contrasts_fit

    groups = groups.loc[counts.columns]
    check_contrast_groups(groups, contrasts)
    design = group_means_design(groups)
    fit = weighted_lm_fit(log_cpm(counts), design, voom_weights(counts, design))
    fit = contrasts_fit(fit, _contrast_matrix(design, contrasts))
    t, pval = moderated_t(fit)
    return pd.concat(
        [_contrast_table(fit, t, pval, name) for name in fit.coefficients.columns],
        ignore_index=True,
    )


def moderated_t(fit: MArrayLM) -> tuple[pd.DataFrame, pd.DataFrame]:
    """limma ``eBayes`` moderated t-statistics and two-sided p-values (no B-statistic).

    Gene variances are squeezed towards a common prior (``squeezeVar``); the t-statistic uses the
    posterior variance on residual + prior degrees of freedom, capped at the pooled residual df.
    """
    from inmoose.limma import squeezeVar

    df_residual = np.asarray(fit.df_residual, dtype=float)
    squeezed = squeezeVar(np.asarray(fit.sigma, dtype=float) ** 2, df_residual.copy())
    s2_post = np.asarray(squeezed["var_post"], dtype=float)
    df_total = np.minimum(df_residual + squeezed["df_prior"], df_residual.sum())
    t = fit.coefficients / fit.stdev_unscaled / np.sqrt(s2_post)[:, None]
    pval = pd.DataFrame(
        2 * t_dist.sf(np.abs(t.to_numpy()), df_total[:, None]), index=t.index, columns=t.columns
    )
    return t, pval


def contrast_name(group: str, ref: str) -> str:
    """The label a contrast carries in every output table: ``<group>_vs_<ref>``."""
    return f"{group}_vs_{ref}"


def check_contrast_groups(groups: pd.Series, contrasts: Sequence[tuple[str, str]]) -> None:
    """Each compared group needs two samples: with one, its variance is not estimable."""
    sizes = groups.value_counts()
    for group, ref in contrasts:
        for name in (group, ref):
            if sizes.get(name, 0) < 2:
                raise InputError(
                    f"contrast {contrast_name(group, ref)}: group {name!r} has "
                    f"{sizes.get(name, 0)} sample(s); at least 2 are needed"
                )
    if len(groups) - len(sizes) < 1:
        raise InputError("no residual degrees of freedom: every sample is its own group")


def _contrast_matrix(
    design: patsy.DesignMatrix, contrasts: Sequence[tuple[str, str]]
) -> pd.DataFrame:
    """Columns +1 for the group and -1 for the reference, one per contrast."""
    levels = design.design_info.column_names
    matrix = pd.DataFrame(0.0, index=levels, columns=[contrast_name(g, r) for g, r in contrasts])
    for group, ref in contrasts:
        matrix.loc[group, contrast_name(group, ref)] = 1.0
        matrix.loc[ref, contrast_name(group, ref)] = -1.0
    return matrix


def _contrast_table(fit: MArrayLM, t: pd.DataFrame, pval: pd.DataFrame, name: str) -> pd.DataFrame:
    """The ``topTable`` columns for one contrast, sorted by p-value then gene."""
    table = pd.DataFrame(
        {
            "gene": fit.coefficients.index.astype(str),
            "log2fc": fit.coefficients[name].to_numpy(),
            "ave_expr": np.asarray(fit.Amean, dtype=float),
            "t": t[name].to_numpy(),
            "pval": pval[name].to_numpy(),
            "padj": false_discovery_control(pval[name].to_numpy(), method="bh"),
            "contrast": name,
        }
    )
    return table.sort_values(["pval", "gene"], kind="mergesort", ignore_index=True)


def bulk_de(
    counts: pd.DataFrame,
    groups: pd.Series,
    group: str,
    ref: str,
    min_count: float = 10,
    min_total_count: float = 15,
) -> pd.DataFrame:
    """One bulk contrast end to end: align to the design, filter, limma-voom; ``BULK_COLUMNS``."""
    counts, groups = align_groups(counts, groups)
    counts = filter_expressed(counts, groups, min_count, min_total_count)
    table = limma_de(counts, groups, [(group, ref)])
    return table[BULK_COLUMNS]
