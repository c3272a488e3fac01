"""Hallmark GSEA of a DE contrast (Fig 2D-F) with gseapy prerank.

Ranking metric: the DE table's ``stat`` column - the Wilcoxon z-score for the cell-level test, the
moderated t for pseudobulk - with ties broken by ``log2fc``, then by gene. Sparse genes share their
Wilcoxon z (13 % of the genes of the demo hepatocyte tables sit in such ties); among them the
larger fold change ranks further out instead of the alphabetically first (ES moves by < 0.0003:
the tied genes sit near the middle). Signed -log10 p would order genes exactly as z does, except
that it ties every gene whose cell-level p underflows to 0. Ties do not make p-values or FDR move
between seeds; only the Monte-Carlo effort below decides that.

Two ways to get p-values (``method``):

* ``"multilevel"`` (default) - fgsea's estimate (gseapy's port), the test the paper ran ("fgsea"
  through clusterProfiler). ``permutations`` simple permutations normalise ES into NES and give
  the p-values down to about 1e-3 (fgsea's ``nPermSimple``); adaptive multilevel splitting with
  ``sample_size`` samples per level (fgsea's ``sampleSize``) gives the smaller ones; fgsea keeps,
  set by set, the estimate with the smaller error, reported as ``log2err`` (the standard deviation
  of log2 p). ``fdr`` is Benjamini-Hochberg.
* ``"permutation"`` - classic GSEA gene-set permutations; ``fdr`` is GSEA's FDR q-value, pooled
  over all sets (1,000 permutations: about 14 s for 15,000 genes); no refinement, no ``fdr_se``.

Precision. Both estimates are Monte-Carlo: a fixed ``seed`` makes the table exactly reproducible,
another seed moves it. A set's BH FDR is ``p * m / rank`` of the set that sets it, so its error is
that p-value's error times ``m / rank``: at 10,000 permutations the FDR of the demo hepatocyte sets
with FDR < 0.25 moved by up to 0.029-0.056 between seeds. The multilevel run is therefore refined
(:func:`refine_imprecise_sets`): the sets with FDR < ``refine_fdr_below`` whose Monte-Carlo
standard error ``fdr_se`` exceeds ``fdr_se_target`` run again with both efforts (permutations and
sample size) raised by the factor the worst of them needs, up to ``max_permutations`` and
``max_sample_size``. Every row says what it got: ``fdr_se``, ``log2err``, ``permutations`` and
``sample_size``.

What that buys on the demo hepatocytes (largest FDR spread over seeds 1-3 of the three contrasts,
CPU per contrast on 2 cores): without refinement FDR < 0.01 within 0.0042, < 0.05 within 0.017,
< 0.25 within 0.035 (6 s); refined up to the default caps, 50,000 permutations and sample size
2,501: 0.00085 (the third decimal), 0.0065 and 0.027 (33 s); up to 200,000 and 10,001: 0.00073,
0.0036 and 0.012 (114 s). An SE of 0.00025 at FDR ~0.2 would take about 10^7 permutations (~15 min
per contrast), so read such FDR to two decimals and check ``fdr_se``.

Gene sets must use the organism's own symbols (``resources/genesets``). gseapy silently upper-cases
a mouse ranking to meet human sets; :func:`check_gene_overlap` refuses that instead, since
upper-casing is not an ortholog mapping.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Callable

import gseapy
import numpy as np
import pandas as pd

from livermet.errors import InputError

log = logging.getLogger(__name__)

GSEA_COLUMNS = [
    "term",
    "nes",
    "es",
    "pval",
    "fdr",
    "fdr_se",
    "log2err",
    "permutations",
    "sample_size",
    "size",
    "leading_edge",
]
GSEA_METHODS = ("multilevel", "permutation")
SAMPLE_SIZE = 101  # fgsea's default sampleSize: multilevel samples per level in the first pass
MIN_REFINE_FACTOR = 2.0  # each refinement at least doubles the effort: all passes < 2x the last
REFINED = ["nes", "pval", "log2err", "permutations", "sample_size"]


def read_gmt(path: str | os.PathLike) -> dict[str, list[str]]:
    """Gene sets of a GMT file: name -> genes (one set per line: name, description, genes)."""
    gene_sets = {}
    with open(path) as handle:
        for number, line in enumerate(handle, start=1):
            fields = line.rstrip("\n").split("\t")
            if len(fields) < 3 or not fields[0]:
                raise InputError(f"{path}:{number}: a GMT line needs a name, description and genes")
            gene_sets[fields[0]] = [g for g in fields[2:] if g]
    if not gene_sets:
        raise InputError(f"{path}: no gene sets")
    return gene_sets


def ranking_from_de(de: pd.DataFrame, method: str, contrast: str) -> pd.Series:
    """The ``stat`` of one method and contrast as gene -> metric, highest first.

    Ties in ``stat`` are ordered by ``log2fc`` (larger first, so the larger effect sits further
    out at either end), then by gene, so the order never depends on the input row order.
    """
    rows = de[(de["method"] == method) & (de["contrast"] == contrast)].dropna(subset=["stat"])
    if rows.empty:
        raise InputError(f"DE table has no rows for method {method!r} and contrast {contrast!r}")
    if rows["gene"].duplicated().any():
        raise InputError(f"DE table repeats genes within {method} / {contrast}")
    rows = rows.sort_values(
        ["stat", "log2fc", "gene"], ascending=[False, False, True], kind="mergesort"
    )
    return pd.Series(rows["stat"].to_numpy(), index=rows["gene"].astype(str), name="stat")


def check_gene_overlap(
    ranking: pd.Series, gene_sets: dict[str, list[str]], min_fraction: float = 0.1
) -> float:
    """Share of the gene-set genes found (exact symbol) among the ranked genes.

    Below ``min_fraction`` the symbols almost surely belong to another organism (HALLMARK genes in
    a mouse ranking: 0 %), so stop with a message that names the setting.
    """
    set_genes = {g for genes in gene_sets.values() for g in genes}
    fraction = len(set_genes & set(ranking.index)) / len(set_genes)
    if fraction < min_fraction:
        raise InputError(
            f"only {fraction:.1%} of gene-set genes are among the ranked genes; "
            "do the gene sets match the data's organism (gsea.organism)?"
        )
    return fraction


def bh_fdr_with_se(pval: pd.Series, log2err: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Benjamini-Hochberg FDR of ``pval`` and its Monte-Carlo standard error.

    A set's FDR is ``p * m / rank`` of the set (itself or one of larger p) that gives the running
    minimum, so its relative error is that p-value's: ``ln 2 * log2err`` (fgsea's log2err is the
    standard deviation of log2 p). Error 0 where FDR is capped at 1. NaN p-values (fgsea's
    unbalanced sets) stay out of the correction and get NaN, as in gseapy.
    """
    tested = pval.dropna().sort_values(kind="mergesort")
    raw = (tested * len(tested) / np.arange(1, len(tested) + 1)).clip(upper=1.0)
    fdr = pd.Series(np.nan, index=pval.index)
    fdr_se = pd.Series(np.nan, index=pval.index)
    best, source = math.inf, None
    for term in reversed(tested.index):
        if raw[term] <= best:
            best, source = raw[term], term
        fdr[term] = best
        fdr_se[term] = 0.0 if best >= 1.0 else best * math.log(2) * log2err[source]
    return fdr, fdr_se


def prerank_gsea(
    ranking: pd.Series,
    gene_sets: dict[str, list[str]],
    permutations: int = 10000,
    seed: int = 0,
    threads: int = 1,
    method: str = "multilevel",
    min_size: int = 10,
    max_size: int = 500,
    max_permutations: int = 50000,
    max_sample_size: int = 2501,
    fdr_se_target: float = 0.00025,
    refine_fdr_below: float = 0.25,
) -> pd.DataFrame:
    """Preranked GSEA; a tidy table of ``GSEA_COLUMNS``, by NES (highest first) then term.

    ``min_size``/``max_size`` bound the sets' overlap with the ranking (clusterProfiler's ``GSEA``
    defaults, 10 and 500). ``size`` is that overlap; ``leading_edge`` is ';'-joined. The last four
    arguments drive :func:`refine_imprecise_sets` (multilevel only; ``max_permutations`` equal to
    ``permutations`` turns it off).
    """
    if method not in GSEA_METHODS:
        raise InputError(f"GSEA method must be one of {GSEA_METHODS}, got {method!r}")
    if permutations < 1000:
        log.warning("%d permutations: p-values and FDR are coarse (use >= 1000)", permutations)
    if max_permutations < permutations or max_sample_size < SAMPLE_SIZE:
        raise InputError(
            f"gsea.max_permutations ({max_permutations}) must be >= gsea.permutations "
            f"({permutations}) and gsea.max_sample_size ({max_sample_size}) >= {SAMPLE_SIZE}"
        )
    check_gene_overlap(ranking, gene_sets)

    def run(sets: dict[str, list[str]], n_perm: int, sample_size: int) -> pd.DataFrame:
        return _prerank(
            ranking, sets, n_perm, sample_size, seed, threads, method, min_size, max_size
        )

    table = run(gene_sets, permutations, SAMPLE_SIZE)
    if method == "multilevel":
        table = refine_imprecise_sets(
            table,
            gene_sets,
            run,
            max_permutations=max_permutations,
            max_sample_size=max_sample_size,
            fdr_se_target=fdr_se_target,
            refine_fdr_below=refine_fdr_below,
        )
    ranked = set(ranking.index)
    table["size"] = [len(set(gene_sets[t]) & ranked) for t in table.index]
    table = table.rename_axis("term").reset_index()[GSEA_COLUMNS]
    return table.sort_values(["nes", "term"], ascending=[False, True], ignore_index=True)


def refine_imprecise_sets(
    table: pd.DataFrame,
    gene_sets: dict[str, list[str]],
    run: Callable[[dict[str, list[str]], int, int], pd.DataFrame],
    max_permutations: int,
    max_sample_size: int,
    fdr_se_target: float,
    refine_fdr_below: float,
) -> pd.DataFrame:
    """Rerun the sets whose FDR is below ``refine_fdr_below`` but less precise than wanted.

    Both fgsea efforts rise by the same factor, ``(fdr_se / fdr_se_target)**2`` of the worst such
    set (at least 2), since both estimators' variance falls as 1 / effort; fgsea then keeps, set by
    set, the estimate with the smaller error. Passes repeat while sets stay imprecise and neither
    cap is reached. A rerun set takes the new NES, p and error; BH FDR and ``fdr_se`` are then
    recomputed over all sets. Sets above ``refine_fdr_below`` keep the first pass (their FDR varies
    by a few hundredths between seeds, which does not change a call at 0.25).
    """
    permutations = int(table["permutations"].iloc[0])
    sample_size = int(table["sample_size"].iloc[0])
    while True:
        table["fdr"], table["fdr_se"] = bh_fdr_with_se(table["pval"], table["log2err"])
        imprecise = (table["fdr"] < refine_fdr_below) & ~(table["fdr_se"] <= fdr_se_target)
        if (
            not imprecise.any()
            or permutations >= max_permutations
            or sample_size >= max_sample_size
        ):
            break
        needed = (table.loc[imprecise, "fdr_se"] / fdr_se_target) ** 2
        factor = float(np.nanmax([MIN_REFINE_FACTOR, *needed]))
        permutations = min(max_permutations, math.ceil(permutations * factor))
        sample_size = min(max_sample_size, math.ceil(sample_size * factor) // 2 * 2 + 1)
        log.info(
            "refining %d sets (FDR < %g, FDR SE > %g) at %d permutations, sample size %d",
            imprecise.sum(),
            refine_fdr_below,
            fdr_se_target,
            permutations,
            sample_size,
        )
        again = run({t: gene_sets[t] for t in table.index[imprecise]}, permutations, sample_size)
        table.loc[again.index, REFINED] = again[REFINED]
    wanted = table["fdr"] < refine_fdr_below
    log.info(
        "%d of %d sets with FDR < %g have FDR SE <= %g; largest FDR SE among them %.2g",
        (wanted & (table["fdr_se"] <= fdr_se_target)).sum(),
        wanted.sum(),
        refine_fdr_below,
        fdr_se_target,
        table.loc[wanted, "fdr_se"].max(),
    )
    return table


def _prerank(
    ranking: pd.Series,
    gene_sets: dict[str, list[str]],
    permutations: int,
    sample_size: int,
    seed: int,
    threads: int,
    method: str,
    min_size: int,
    max_size: int,
) -> pd.DataFrame:
    """One gseapy prerank run, indexed by term: es, nes, pval, fdr (gseapy's), log2err, efforts.

    ``log2err`` and ``sample_size`` are empty for ``"permutation"``, which has neither.
    """
    result = gseapy.prerank(
        rnk=ranking,
        gene_sets=gene_sets,
        permutation_num=permutations,
        sample_size=sample_size,
        seed=seed,
        threads=threads,
        method=method,
        min_size=min_size,
        max_size=max_size,
        outdir=None,
        no_plot=True,
        verbose=False,
    ).res2d
    log2err = result["log2err"] if "log2err" in result else np.nan
    return pd.DataFrame(
        {
            "nes": result["NES"].astype(float).to_numpy(),
            "es": result["ES"].astype(float).to_numpy(),
            "pval": result["NOM p-val"].astype(float).to_numpy(),
            "fdr": result["FDR q-val"].astype(float).to_numpy(),
            "fdr_se": np.nan,
            "log2err": pd.Series(log2err, index=result.index, dtype=float).to_numpy(),
            "permutations": permutations,
            "sample_size": pd.array(
                [sample_size if method == "multilevel" else pd.NA] * len(result), dtype="Int64"
            ),
            "leading_edge": result["Lead_genes"].astype(str).to_numpy(),
        },
        index=pd.Index(result["Term"].astype(str), name="term"),
    )
