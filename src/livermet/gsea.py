"""Hallmark GSEA of a DE contrast (Fig 2D-F) with gseapy prerank.

Ranking metric: the DE table's ``stat`` column - the Wilcoxon z-score for the cell-level test, the
moderated t for pseudobulk. Signed -log10 p would tie hundreds of genes at p = 0 in a cell-level
test and lose their order.

Two ways to get p-values (``method``):

* ``"multilevel"`` (default) - fgsea's adaptive multilevel estimate (gseapy's port), the test the
  paper ran ("fgsea" through clusterProfiler); ``fdr`` is Benjamini-Hochberg. ``permutations`` are
  the simple permutations that normalise ES and estimate the larger p-values (fgsea's
  ``nPermSimple``, 1,000 by default there; 10,000 here costs about 4 s for 15,000 genes and the
  50 hallmarks).
* ``"permutation"`` - classic GSEA gene-set permutations; ``fdr`` is GSEA's FDR q-value
  (1,000 permutations: about 14 s for 15,000 genes).

Either way the p-values and FDR are Monte-Carlo estimates: a fixed ``seed`` makes them exactly
reproducible, but another seed moves them. On the Kang 2018 IFN-beta PBMCs, FDR values < 0.25
moved by up to 0.03 between seeds at 10,000 permutations and by up to 0.011 at 100,000
(multilevel), so read FDR to two decimals, not three.

Gene sets must use the organism's own symbols (``resources/genesets``). gseapy silently upper-cases
a mouse ranking to meet human sets; :func:`check_gene_overlap` refuses that instead, since
upper-casing is not an ortholog mapping.
"""

from __future__ import annotations

import logging
import os

import gseapy
import pandas as pd

from livermet.errors import InputError

log = logging.getLogger(__name__)

GSEA_COLUMNS = ["term", "nes", "es", "pval", "fdr", "size", "leading_edge"]
GSEA_METHODS = ("multilevel", "permutation")


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
    """The ``stat`` of one method and contrast as gene -> metric, highest first (ties by gene)."""
    rows = de[(de["method"] == method) & (de["contrast"] == contrast)].dropna(subset=["stat"])
    if rows.empty:
        raise InputError(f"DE table has no rows for method {method!r} and contrast {contrast!r}")
    if rows["gene"].duplicated().any():
        raise InputError(f"DE table repeats genes within {method} / {contrast}")
    rows = rows.sort_values(["stat", "gene"], ascending=[False, True], kind="mergesort")
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


def prerank_gsea(
    ranking: pd.Series,
    gene_sets: dict[str, list[str]],
    permutations: int = 10000,
    seed: int = 0,
    threads: int = 1,
    method: str = "multilevel",
    min_size: int = 10,
    max_size: int = 500,
) -> pd.DataFrame:
    """Preranked GSEA; a tidy table of ``GSEA_COLUMNS``, by NES (highest first) then term.

    ``min_size``/``max_size`` bound the sets' overlap with the ranking (clusterProfiler's ``GSEA``
    defaults, 10 and 500). ``size`` is that overlap; ``leading_edge`` is ';'-joined.
    """
    if method not in GSEA_METHODS:
        raise InputError(f"GSEA method must be one of {GSEA_METHODS}, got {method!r}")
    if permutations < 1000:
        log.warning("%d permutations: p-values and FDR are coarse (use >= 1000)", permutations)
    check_gene_overlap(ranking, gene_sets)
    result = gseapy.prerank(
        rnk=ranking,
        gene_sets=gene_sets,
        permutation_num=permutations,
        seed=seed,
        threads=threads,
        method=method,
        min_size=min_size,
        max_size=max_size,
        outdir=None,
        no_plot=True,
        verbose=False,
    ).res2d
    ranked = set(ranking.index)
    table = pd.DataFrame(
        {
            "term": result["Term"].astype(str),
            "nes": result["NES"].astype(float),
            "es": result["ES"].astype(float),
            "pval": result["NOM p-val"].astype(float),
            "fdr": result["FDR q-val"].astype(float),
            "size": [len(set(gene_sets[t]) & ranked) for t in result["Term"]],
            "leading_edge": result["Lead_genes"].astype(str),
        }
    )
    return table.sort_values(["nes", "term"], ascending=[False, True], ignore_index=True)
