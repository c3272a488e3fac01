"""Over-representation of a DE comparison's up genes in gene-set collections (Fig 4G, 4H, 5E).

The paper: GO and KEGG enrichment (clusterProfiler ``enrichGO``/``enrichKEGG``) of the genes with
p < 0.05 and log2FC > 1 (Fig 4G legend), top 10 terms by p-value. Here: the hypergeometric test of
``gseapy.enrich`` offline on a GMT collection, set up as clusterProfiler's ``enricher`` with
``universe`` = the genes the DE tested:

* background (N): the tested genes annotated in at least one set of the collection;
* each set is cut to the background, and kept with ``min_size`` <= size <= ``max_size``
  (clusterProfiler's ``minGSSize`` 10 and ``maxGSSize`` 500);
* query (n): the up genes in the background; a term is tested when it holds at least one of them;
* p = P(X >= count) for X ~ Hypergeometric(N, set size, n); ``padj`` is Benjamini-Hochberg over
  the tested terms of the collection; ``gene_ratio`` = count / n, ``bg_ratio`` = size / N.

Symbols are matched exactly (mouse data, mouse sets). Enrichr's mouse libraries (KEGG_2019_Mouse)
spell mouse symbols in capitals: a collection with ``ignore_case`` maps them onto the data's
symbols case-insensitively. That is the same gene, not an ortholog mapping; a collection of
another organism's symbols shares almost no symbol with the data and stops with an error
(:func:`map_to_tested`).
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable, Mapping

import gseapy
import pandas as pd

from livermet.errors import InputError
from livermet.gsea import read_gmt

log = logging.getLogger(__name__)

ENRICHMENT_COLUMNS = [
    "collection",
    "term",
    "pval",
    "padj",
    "count",
    "set_size",
    "query_size",
    "background_size",
    "gene_ratio",
    "bg_ratio",
    "odds_ratio",
    "genes",
]
MIN_ANNOTATED_FRACTION = 0.05
"""Share of the tested genes a collection must annotate: mouse data against MSigDB mouse hallmarks
or GO BP give 20-60 %; against human symbols about 0 %."""
_WEIGHT = re.compile(r",[-+0-9.eE]+$")


def read_collection(path: str | os.PathLike) -> dict[str, list[str]]:
    """Gene sets of a GMT file; Enrichr's ``GENE,1.0`` weight suffixes are dropped."""
    return {
        term: list(dict.fromkeys(_WEIGHT.sub("", gene) for gene in genes))
        for term, genes in read_gmt(path).items()
    }


def de_block(de: pd.DataFrame, method: str) -> pd.DataFrame:
    """The rows of one DE method; a table of one comparison holds one contrast per method."""
    rows = de[de["method"] == method]
    if rows["contrast"].nunique() > 1:
        raise InputError(f"DE table holds several contrasts {sorted(set(rows['contrast']))}")
    if rows["gene"].duplicated().any():
        raise InputError(f"DE table repeats genes within method {method!r}")
    return rows


def up_genes(rows: pd.DataFrame, p_max: float = 0.05, lfc_min: float = 1.0) -> list[str]:
    """Genes with p < ``p_max`` and log2FC > ``lfc_min`` (the Fig 4G legend's thresholds)."""
    return sorted(rows.loc[(rows["pval"] < p_max) & (rows["log2fc"] > lfc_min), "gene"].astype(str))


def map_to_tested(
    gene_sets: Mapping[str, Iterable[str]],
    tested: Iterable[str],
    ignore_case: bool = False,
    collection: str = "collection",
) -> dict[str, list[str]]:
    """Each set as the tested genes it holds (in the data's spelling); empty sets dropped.

    Stops when the collection annotates fewer than :data:`MIN_ANNOTATED_FRACTION` of the tested
    genes: its symbols are almost surely another organism's or another spelling.
    """
    tested = sorted(set(map(str, tested)))
    if ignore_case:
        spelling: dict[str, str] = {}
        for gene in tested:
            spelling.setdefault(gene.upper(), gene)
        lookup = {gene: spelling.get(gene.upper()) for s in gene_sets.values() for gene in s}
    else:
        known = set(tested)
        lookup = {gene: gene for s in gene_sets.values() for gene in s if gene in known}
    mapped = {}
    for term, genes in gene_sets.items():
        hits = sorted({lookup[g] for g in genes if lookup.get(g)})
        if hits:
            mapped[term] = hits
    annotated = {g for genes in mapped.values() for g in genes}
    if len(annotated) < MIN_ANNOTATED_FRACTION * len(tested):
        raise InputError(
            f"enrichment collection {collection!r} annotates {len(annotated)} of the "
            f"{len(tested)} tested genes; do its symbols match the data's organism (set "
            "ignore_case for a library of upper-case mouse symbols)?"
        )
    return mapped


def size_filtered(gene_sets: Mapping[str, list[str]], min_size: int, max_size: int) -> dict:
    """The sets whose size (within the background) lies in [min_size, max_size]."""
    return {t: g for t, g in gene_sets.items() if min_size <= len(g) <= max_size}


def over_representation(
    query: Iterable[str],
    gene_sets: Mapping[str, list[str]],
    background: Iterable[str],
    collection: str = "collection",
) -> pd.DataFrame:
    """Hypergeometric test (``gseapy.enrich``, offline) of ``query`` in each set.

    ``gene_sets`` and ``query`` must already be cut to ``background``. Sorted by p-value, then
    term; empty (columns only) when no set holds a query gene.
    """
    background = sorted(set(background))
    query_genes = set(query).intersection(background)
    query = sorted(query_genes)
    # gseapy logs an error to the console when no set holds a query gene: an empty result here
    if all(query_genes.isdisjoint(genes) for genes in gene_sets.values()):
        return pd.DataFrame({column: [] for column in ENRICHMENT_COLUMNS})
    result = gseapy.enrich(
        gene_list=query,
        gene_sets=dict(gene_sets),
        background=background,
        outdir=None,
        no_plot=True,
        verbose=False,
    )
    res = getattr(result, "res2d", None)
    if res is None or res.empty:
        return pd.DataFrame({column: [] for column in ENRICHMENT_COLUMNS})
    overlap = res["Overlap"].str.split("/", expand=True).astype(int)
    count, set_size = overlap[0].to_numpy(), overlap[1].to_numpy()
    table = pd.DataFrame(
        {
            "collection": collection,
            "term": res["Term"].astype(str).to_numpy(),
            "pval": res["P-value"].astype(float).to_numpy(),
            "padj": res["Adjusted P-value"].astype(float).to_numpy(),
            "count": count,
            "set_size": set_size,
            "query_size": len(query),
            "background_size": len(background),
            "gene_ratio": count / len(query),
            "bg_ratio": set_size / len(background),
            "odds_ratio": res["Odds Ratio"].astype(float).to_numpy(),
            "genes": [";".join(sorted(g.split(";"))) for g in res["Genes"].astype(str)],
        }
    )
    return table.sort_values(["pval", "term"], kind="mergesort", ignore_index=True)


def enrich_de(
    de: pd.DataFrame,
    gene_sets: Mapping[str, Iterable[str]],
    collection: str,
    method: str = "wilcoxon",
    p_max: float = 0.05,
    lfc_min: float = 1.0,
    min_size: int = 10,
    max_size: int = 500,
    ignore_case: bool = False,
) -> pd.DataFrame:
    """Over-representation of the up genes of one DE table (one method's rows) in a collection.

    An empty DE table (a comparison too small to test, :mod:`livermet.lineage_de`) gives an empty
    result with a warning.
    """
    if de.empty:
        log.warning("the DE table is empty (no test could run); no enrichment")
        return pd.DataFrame({column: [] for column in ENRICHMENT_COLUMNS})
    rows = de_block(de, method)
    if rows.empty:
        raise InputError(f"DE table has no rows of method {method!r} (enrichment.de_method)")
    mapped = map_to_tested(gene_sets, rows["gene"], ignore_case, collection)
    background = sorted({g for genes in mapped.values() for g in genes})
    sets = size_filtered(mapped, min_size, max_size)
    up = up_genes(rows, p_max, lfc_min)
    query = sorted(set(up) & set(background))
    log.info(
        "%s: %d up genes (%d annotated) among %d tested; %d of %d sets within size %d-%d",
        collection,
        len(up),
        len(query),
        len(rows),
        len(sets),
        len(mapped),
        min_size,
        max_size,
    )
    return over_representation(query, sets, background, collection)
