"""Differences in cell composition between conditions (Fig 3C, 3E, 4D, 5C; usable for Fig 1G/1I-K).

Input: a composition table as :func:`livermet.annotate.composition` writes it (``sample``,
``condition``, the label column, ``n_cells``, ``proportion``; zeros included). Two tests, one long
table (column ``method``):

* ``propeller`` (default) - speckle's propeller (Phipson et al., Bioinformatics 2022): per-animal
  proportions, transformed (``logit``: log(p / (1 - p)) of (count + 0.5) / (total + 0.5 x number
  of labels), speckle's offset and default; or ``asin``: arcsine square root), then one limma fit
  per label on the group-means design of all animals, ``eBayes(robust=TRUE)``. The ``overall``
  row is propeller.anova's moderated F test across the conditions present; the pairwise rows are
  propeller.ttest's moderated t of each contrast in the same three-condition model. The animal is
  the unit, so two animals per condition give the residual degrees of freedom (3 with 6 animals)
  and the moderation across labels borrows the rest. ``tests/fixtures/propeller`` holds an R limma
  3.54 run of speckle's code that this module reproduces.
* ``wilcoxon_cells`` - the paper's test ("P value was calculated using Wilcoxon test", Fig 1): per
  label and pair of conditions, every cell of the two conditions carries an indicator (1 if it
  has the label, else 0), and the indicators are compared by a two-sided Wilcoxon rank-sum test
  (normal approximation with tie and continuity correction, as R ``wilcox.test`` on ties); the
  ``overall`` row is the Kruskal-Wallis test of the indicators across conditions. This treats every
  cell as an independent replicate: it tests whether the pooled cell fractions differ, and its
  standard error shrinks with the number of cells, not of animals. Animals differ in composition
  far beyond binomial noise, so with two animals per condition its p-values are overconfident
  (thousands of cells turn any animal-to-animal difference into "significance").

Columns of the result: the label column (``subtype`` by default), ``contrast`` (``overall``,
``PMN_vs_control``, ``MN_vs_control``, ``MN_vs_PMN``), ``method``, ``mean_control``,
``mean_PMN``, ``mean_MN`` (mean over animals of the per-animal proportion, each animal counts
once), ``prop_diff`` and ``prop_ratio`` (group minus / over reference of those means; speckle's
PropRatio; empty on ``overall`` rows), ``statistic`` (propeller: moderated F on ``overall``,
moderated t otherwise; wilcoxon_cells: Kruskal-Wallis H on ``overall``, the rank-sum W = U of the
group otherwise), ``p`` and ``fdr`` (Benjamini-Hochberg across labels within method and contrast,
as speckle does). A label no compared cell carries has no test (``p`` empty).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import pandas as pd
from inmoose.limma import contrasts_fit, fitFDist, lmFit
from scipy import stats
from scipy.optimize import brentq

from livermet import CONDITIONS, OVERALL
from livermet.bulk import _contrast_matrix, check_contrast_groups, contrast_name, group_means_design
from livermet.errors import InputError

log = logging.getLogger(__name__)

METHODS = ("propeller", "wilcoxon_cells")
TRANSFORMS = ("logit", "asin")
PAIRS = (("PMN", "control"), ("MN", "control"), ("MN", "PMN"))
WINSOR_TAIL_P = (0.05, 0.1)
"""limma's default tail proportions for the robust (Winsorized) prior fit."""


def result_columns(key: str = "subtype") -> list[str]:
    """Column order of :func:`composition_test`'s table."""
    return [
        key,
        "contrast",
        "method",
        *(f"mean_{c}" for c in CONDITIONS),
        "prop_diff",
        "prop_ratio",
        "statistic",
        "p",
        "fdr",
    ]


# --- input ---------------------------------------------------------------------------------------
def check_composition(table: pd.DataFrame, key: str = "subtype", source: str = "table") -> None:
    """Fail with one line naming ``source`` on a table the tests cannot use."""
    missing = [c for c in ("sample", "condition", key, "n_cells") if c not in table.columns]
    if missing:
        raise InputError(f"{source}: composition table lacks column(s) {missing}")
    unknown = sorted(set(table["condition"].astype(str)) - set(CONDITIONS))
    if unknown:
        raise InputError(
            f"{source}: unknown condition(s) {unknown}; expected {', '.join(CONDITIONS)}"
        )
    n_cells = pd.to_numeric(table["n_cells"], errors="coerce")
    if n_cells.isna().any() or (n_cells < 0).any() or (n_cells % 1 != 0).any():
        raise InputError(f"{source}: n_cells must be non-negative whole numbers")
    conditions = table.groupby("sample")["condition"].nunique()
    if (conditions > 1).any():
        sample = conditions[conditions > 1].index[0]
        raise InputError(f"{source}: sample {sample!r} is in more than one condition")
    if table.duplicated(["sample", key]).any():
        row = table.loc[table.duplicated(["sample", key])].iloc[0]
        raise InputError(f"{source}: sample {row['sample']!r} lists {key} {row[key]!r} twice")


def count_matrix(table: pd.DataFrame, key: str = "subtype") -> tuple[pd.DataFrame, pd.Series]:
    """Labels x samples cell counts and each sample's condition (ordered control < PMN < MN).

    Samples without a single cell and labels without a single cell have nothing to test and are
    left out (speckle's ``table(sample, clusters)`` never has them).
    """
    counts = table.pivot_table(
        index=key,
        columns="sample",
        values="n_cells",
        aggfunc="sum",
        fill_value=0,
        sort=False,
        observed=True,
    ).astype(np.int64)
    empty_samples = counts.columns[counts.sum(axis=0) == 0]
    if len(empty_samples):
        log.warning("samples without cells left out: %s", list(empty_samples))
    empty_labels = counts.index[counts.sum(axis=1) == 0]
    if len(empty_labels):
        log.info("%s without cells in any sample left out: %s", key, list(empty_labels))
    counts = counts.loc[counts.sum(axis=1) > 0, counts.sum(axis=0) > 0]
    condition = table.groupby("sample")["condition"].first().astype(str)
    order = sorted(counts.columns, key=lambda s: (CONDITIONS.index(condition[s]), str(s)))
    counts = counts[order]
    groups = pd.Series(
        pd.Categorical(condition[order], categories=CONDITIONS, ordered=True),
        index=pd.Index(order, name="sample"),
        name="condition",
    )
    counts.columns.name = "sample"
    return counts, groups


def transform_proportions(counts: pd.DataFrame, transform: str = "logit") -> pd.DataFrame:
    """speckle ``getTransformedProps``: logit of offset proportions, or arcsine square root."""
    if transform == "logit":
        offset = (counts + 0.5) / (counts + 0.5).sum(axis=0)
        return np.log(offset / (1 - offset))
    if transform == "asin":
        return np.arcsin(np.sqrt(counts / counts.sum(axis=0)))
    raise InputError(f"unknown composition transform {transform!r}; choose from {TRANSFORMS}")


def mean_proportions(counts: pd.DataFrame, groups: pd.Series) -> pd.DataFrame:
    """Labels x conditions mean of the per-sample proportions (speckle's PropMean)."""
    props = counts / counts.sum(axis=0)
    means = props.T.groupby(groups.to_numpy(), observed=False).mean().T
    return means.reindex(columns=list(CONDITIONS))


def tested_pairs(groups: pd.Series) -> list[tuple[str, str]]:
    """The contrasts whose two conditions both have animals."""
    present = set(groups.astype(str))
    pairs = [(g, r) for g, r in PAIRS if g in present and r in present]
    if not pairs:
        raise InputError(f"composition needs two conditions to compare; found {sorted(present)}")
    return pairs


# --- limma moderation with limma's robust prior (not in inmoose 0.9.1) ----------------------------
def fit_f_dist_robustly(
    x: np.ndarray, df1: float, winsor_tail_p: tuple[float, float] = WINSOR_TAIL_P
) -> dict:
    """limma 3.54 ``fitFDistRobustly`` without a covariate, for one residual df shared by all rows.

    Fits the scaled F prior of the variances ``x`` from their Winsorized log-values and gives each
    row its own prior df (``df2_shrunk``), smaller for rows whose variance is an outlier
    (Phipson et al., Ann Appl Stat 2016). With fewer than 1 / min(winsor_tail_p) rows nothing is
    Winsorized and the result is the ordinary ``fitFDist`` one.
    """
    x = np.asarray(x, dtype=float).copy()
    n = len(x)
    if n == 2:
        fit = fitFDist(x, df1)
        return {"scale": fit["scale"], "df2": fit["df2"], "df2_shrunk": np.full(n, fit["df2"])}
    median = np.median(x)
    if median <= 0:
        raise InputError("composition test: most variances are zero; nothing to moderate")
    x = np.maximum(x, median * 1e-12)
    non_robust = fitFDist(x, df1)
    tail = np.asarray(winsor_tail_p, dtype=float)
    if (tail < 1 / n).all():
        return {**non_robust, "df2_shrunk": np.full(n, non_robust["df2"])}
    z = np.log(x)
    z_trend = stats.trim_mean(z, tail[1])
    z_resid = z - z_trend
    z_low, z_high = np.quantile(z_resid, [tail[0], 1 - tail[1]])
    z_wins = np.clip(z_resid, z_low, z_high)
    zw_mean = z_wins.mean()
    zw_var = np.mean((z_wins - zw_mean) ** 2) * n / (n - 1)

    def objective(link: float) -> float:
        return np.log(zw_var / _winsorized_moments(df1, _link_inverse(link), tail)[1])

    moments_inf = _winsorized_moments(df1, np.inf, tail)
    if np.log(zw_var / moments_inf[1]) <= 0:
        return _robust_infinite_prior(z, z_trend + zw_mean - moments_inf[0], df1, n)
    if np.isinf(non_robust["df2"]):
        return {**non_robust, "df2_shrunk": np.full(n, np.inf)}
    low = non_robust["df2"] / (1 + non_robust["df2"])
    if objective(low) >= 0:
        df2 = non_robust["df2"]
    else:
        df2 = _link_inverse(brentq(objective, low, 1.0, xtol=1e-12, rtol=4 * np.finfo(float).eps))
    z_mean = _winsorized_moments(df1, df2, tail)[0]
    z_centre = z_trend + zw_mean - z_mean
    f_stat = np.exp(z - z_centre)
    log_tail_p = stats.f.logsf(f_stat, df1, df2)
    log_empirical = np.log(n - stats.rankdata(f_stat) + 0.5) - np.log(n)
    log_not_outlier = np.minimum(log_tail_p - log_empirical, 0)
    df2_shrunk = np.full(n, df2)
    if (log_not_outlier < 0).any():
        not_outlier = np.exp(log_not_outlier)
        if np.isneginf(log_tail_p.min()):
            df2_shrunk = not_outlier * df2
        else:
            df2_outlier = np.log(0.5) / log_tail_p.min() * df2
            df2_outlier *= np.log(0.5) / stats.f.logsf(f_stat.max(), df1, df2_outlier)
            df2_shrunk = not_outlier * df2 - np.expm1(log_not_outlier) * df2_outlier
        order = np.argsort(log_tail_p, kind="stable")
        ordered = df2_shrunk[order]
        running = np.cumsum(ordered) / np.arange(1, n + 1)
        lowest = int(np.argmin(running))
        ordered[: lowest + 1] = running[lowest]
        df2_shrunk[order] = np.maximum.accumulate(ordered)
    return {"scale": np.exp(z_centre), "df2": df2, "df2_shrunk": df2_shrunk}


def _robust_infinite_prior(z: np.ndarray, z_centre: float, df1: float, n: int) -> dict:
    """fitFDistRobustly's branch where the Winsorized variance says the prior df is infinite."""
    f_stat = np.exp(z - z_centre)
    tail_p = stats.chi2.sf(f_stat * df1, df1)
    empirical = (n - stats.rankdata(f_stat) + 0.5) / n
    not_outlier = np.minimum(tail_p / empirical, 1)
    df2_shrunk = np.full(n, np.inf)
    outlier = not_outlier < 1
    if outlier.any():
        df2_shrunk[outlier] = not_outlier[outlier] * n * df1
        order = np.argsort(tail_p, kind="stable")
        df2_shrunk[order] = np.maximum.accumulate(df2_shrunk[order])
    return {"scale": np.exp(z_centre), "df2": np.inf, "df2_shrunk": df2_shrunk}


def _link_inverse(link: float) -> float:
    return np.inf if link >= 1 else link / (1 - link)


def _f_ppf(q: np.ndarray, df1: float, df2: float) -> np.ndarray:
    return stats.chi2.ppf(q, df1) / df1 if np.isinf(df2) else stats.f.ppf(q, df1, df2)


def _f_pdf(x: np.ndarray, df1: float, df2: float) -> np.ndarray:
    return stats.chi2.pdf(x * df1, df1) * df1 if np.isinf(df2) else stats.f.pdf(x, df1, df2)


def _winsorized_moments(df1: float, df2: float, tail: np.ndarray) -> tuple[float, float]:
    """Mean and variance of the Winsorized log of an F(df1, df2) variable (128-point Gauss rule)."""
    nodes, weights = np.polynomial.legendre.leggauss(128)
    nodes, weights = (nodes + 1) / 2, weights / 2
    fq = _f_ppf(np.array([tail[0], 1 - tail[1]]), df1, df2)
    zq = np.log(fq)
    q = fq / (1 + fq)
    q_nodes = q[0] + (q[1] - q[0]) * nodes
    f_nodes = q_nodes / (1 - q_nodes)
    z_nodes = np.log(f_nodes)
    density = _f_pdf(f_nodes, df1, df2) / (1 - q_nodes) ** 2
    width = q[1] - q[0]
    mean = width * np.sum(weights * density * z_nodes) + np.sum(zq * tail)
    var = width * np.sum(weights * density * (z_nodes - mean) ** 2) + np.sum(
        (zq - mean) ** 2 * tail
    )
    return mean, var


def squeeze_variances(
    variances: np.ndarray, df: float, robust: bool
) -> tuple[np.ndarray, np.ndarray]:
    """limma ``squeezeVar``: posterior variances and the prior df of each row."""
    variances = np.asarray(variances, dtype=float)
    if robust:
        fit = fit_f_dist_robustly(variances, df)
        df_prior = fit["df2_shrunk"]
    else:
        fit = fitFDist(variances, df)
        df_prior = np.full(len(variances), fit["df2"])
    prior = np.broadcast_to(fit["scale"], variances.shape)
    finite = np.isfinite(df_prior)
    posterior = prior.astype(float).copy()
    posterior[finite] = (df * variances[finite] + df_prior[finite] * prior[finite]) / (
        df + df_prior[finite]
    )
    return posterior, df_prior


# --- propeller ------------------------------------------------------------------------------------
def propeller_test(
    counts: pd.DataFrame, groups: pd.Series, transform: str = "logit", robust: bool = True
) -> pd.DataFrame:
    """speckle propeller on labels x samples counts: the F test and every pairwise moderated t.

    One group-means fit of all animals (``lmFit``, ``contrasts.fit`` from inmoose); the variance
    moderation is limma's ``eBayes(robust=robust)``, robust off with fewer than 3 labels as speckle
    does. The F test is limma's ``classifyTestsF`` on the contrasts of each condition with the
    first, which is propeller.anova's test of the non-intercept coefficients.
    """
    pairs = tested_pairs(groups)
    check_contrast_groups(groups.astype(str), pairs)
    trans = transform_proportions(counts, transform)
    if len(trans) <= 2:
        robust = False
    design = group_means_design(groups)
    fit = lmFit(trans, design)
    df_residual = float(np.asarray(fit.df_residual, dtype=float)[0])
    s2_post, df_prior = squeeze_variances(
        np.asarray(fit.sigma, dtype=float) ** 2, df_residual, robust
    )
    df_pooled = df_residual * len(trans)
    present = design.design_info.column_names
    overall = _moderated_f(fit, present, s2_post, df_residual + df_prior)
    pairwise = contrasts_fit(fit, _contrast_matrix(design, pairs))
    t = pairwise.coefficients / pairwise.stdev_unscaled / np.sqrt(s2_post)[:, None]
    df_total = np.minimum(df_residual + df_prior, df_pooled)
    p = 2 * stats.t.sf(np.abs(t.to_numpy()), df_total[:, None])
    rows = [overall]
    for j, name in enumerate(t.columns):
        rows.append(
            pd.DataFrame(
                {"contrast": name, "statistic": t[name].to_numpy(), "p": p[:, j]}, index=trans.index
            )
        )
    return pd.concat(rows).assign(method="propeller")


def _moderated_f(fit, levels: Sequence[str], s2_post: np.ndarray, df2: np.ndarray) -> pd.DataFrame:
    """Moderated F of all conditions equal: each condition against the first, jointly."""
    contrasts = [(level, levels[0]) for level in levels[1:]]
    matrix = np.zeros((len(levels), len(contrasts)))
    for j, (group, ref) in enumerate(contrasts):
        matrix[levels.index(group), j], matrix[levels.index(ref), j] = 1.0, -1.0
    unscaled_cov = matrix.T @ np.asarray(fit.cov_coefficients, dtype=float) @ matrix
    sd = np.sqrt(np.diag(unscaled_cov))
    correlation = unscaled_cov / np.outer(sd, sd)
    coefficients = np.asarray(fit.coefficients, dtype=float) @ matrix
    t = coefficients / sd / np.sqrt(s2_post)[:, None]
    f = np.einsum("gi,ij,gj->g", t, np.linalg.inv(correlation), t) / len(contrasts)
    p = np.where(
        np.isinf(df2),
        stats.chi2.sf(f * len(contrasts), len(contrasts)),
        stats.f.sf(f, len(contrasts), np.where(np.isinf(df2), 1.0, df2)),
    )
    return pd.DataFrame({"contrast": OVERALL, "statistic": f, "p": p}, index=fit.coefficients.index)


# --- the paper's cell-level Wilcoxon -------------------------------------------------------------
def wilcoxon_cells_test(counts: pd.DataFrame, groups: pd.Series) -> pd.DataFrame:
    """Per label: Kruskal-Wallis across conditions and rank-sum tests per pair, on cell indicators.

    Every cell of a condition is one observation, 1 if it carries the label: the cells of all
    animals of a condition are pooled, which is what a cell-level test on a Seurat object does.
    """
    pairs = tested_pairs(groups)
    by_condition = counts.T.groupby(groups.astype(str).to_numpy()).sum().T
    present = [c for c in CONDITIONS if c in by_condition.columns]
    totals = by_condition.sum(axis=0)
    rows = []
    for label, with_label in by_condition.iterrows():
        cells = {c: _indicators(with_label[c], totals[c]) for c in present}
        rows.append((label, OVERALL, *_kruskal(list(cells.values()))))
        for group, ref in pairs:
            rows.append((label, contrast_name(group, ref), *_rank_sum(cells[group], cells[ref])))
    table = pd.DataFrame(rows, columns=["label", "contrast", "statistic", "p"]).set_index("label")
    table.index.name = counts.index.name
    return table.assign(method="wilcoxon_cells")


def _indicators(with_label: int, total: int) -> np.ndarray:
    return np.repeat(np.array([1.0, 0.0]), [int(with_label), int(total - with_label)])


def _kruskal(samples: list[np.ndarray]) -> tuple[float, float]:
    if np.ptp(np.concatenate(samples)) == 0:
        return np.nan, np.nan  # no cell of these conditions has the label: nothing to test
    return tuple(stats.kruskal(*samples))


def _rank_sum(group: np.ndarray, ref: np.ndarray) -> tuple[float, float]:
    if np.ptp(np.concatenate([group, ref])) == 0:
        return np.nan, np.nan
    result = stats.mannwhitneyu(
        group, ref, alternative="two-sided", method="asymptotic", use_continuity=True
    )
    return result.statistic, result.pvalue


# --- both ----------------------------------------------------------------------------------------
def composition_test(
    table: pd.DataFrame,
    key: str = "subtype",
    methods: Sequence[str] = METHODS,
    transform: str = "logit",
    robust: bool = True,
    source: str = "table",
) -> pd.DataFrame:
    """Test every label of a composition table for a change with condition; see the module doc.

    ``source`` names the table in error messages (its file path in the workflow).
    """
    unknown = sorted(set(methods) - set(METHODS))
    if unknown or not methods:
        raise InputError(f"unknown composition method(s) {unknown}; choose from {METHODS}")
    if transform not in TRANSFORMS:
        raise InputError(f"unknown composition transform {transform!r}; choose from {TRANSFORMS}")
    check_composition(table, key, source)
    counts, groups = count_matrix(table, key)
    means = mean_proportions(counts, groups)
    tests = []
    if "propeller" in methods:
        tests.append(propeller_test(counts, groups, transform, robust))
    if "wilcoxon_cells" in methods:
        tests.append(wilcoxon_cells_test(counts, groups))
    result = pd.concat(tests).rename_axis(key).reset_index()
    result = _add_effects(result, means, key)
    result["fdr"] = result.groupby(["method", "contrast"])["p"].transform(_bh)
    order = {name: i for i, name in enumerate([OVERALL, *(contrast_name(g, r) for g, r in PAIRS)])}
    labels = {label: i for i, label in enumerate(counts.index)}
    result = result.assign(
        _m=result["method"].map({m: i for i, m in enumerate(METHODS)}),
        _c=result["contrast"].map(order),
        _l=result[key].map(labels),
    ).sort_values(["_m", "_c", "_l"], kind="mergesort")
    log.info("tested %d %s values with %s", len(counts), key, list(methods))
    return result[result_columns(key)].reset_index(drop=True)


def _add_effects(result: pd.DataFrame, means: pd.DataFrame, key: str) -> pd.DataFrame:
    """Per-condition mean proportions, and their difference and ratio for each contrast."""
    for condition in CONDITIONS:
        result[f"mean_{condition}"] = result[key].map(means[condition]).to_numpy()
    result["prop_diff"] = np.nan
    result["prop_ratio"] = np.nan
    for group, ref in PAIRS:
        rows = result["contrast"] == contrast_name(group, ref)
        g, r = result.loc[rows, f"mean_{group}"], result.loc[rows, f"mean_{ref}"]
        result.loc[rows, "prop_diff"] = g - r
        with np.errstate(divide="ignore", invalid="ignore"):
            result.loc[rows, "prop_ratio"] = g / r
    return result


def _bh(p: pd.Series) -> pd.Series:
    """Benjamini-Hochberg over the tested rows; untested rows (no p) stay empty."""
    adjusted = pd.Series(np.nan, index=p.index)
    tested = p.notna()
    if tested.any():
        adjusted[tested] = stats.false_discovery_control(p[tested].to_numpy(), method="bh")
    return adjusted


def read_composition(path: str, key: str = "subtype") -> pd.DataFrame:
    """A composition table from disk, labels read as text."""
    from livermet.io import read_table

    try:
        return read_table(path, dtype={key: str, "sample": str, "condition": str})
    except (OSError, pd.errors.ParserError) as err:
        raise InputError(f"{path}: cannot read composition table ({err})") from err
