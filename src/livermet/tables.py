"""Readers for dense count tables: Microwell-seq DGE files and bulk RNA-seq count tables.

Both formats are genes x columns text tables, gzip-compressed or not (judged by the magic bytes,
not the name). The single-cell reader returns cells x genes sparse AnnData with raw integer counts
in ``X``; the bulk reader returns a genes x samples integer DataFrame. Both refuse tables whose
counts are not non-negative integers, naming the first offending gene and column.
"""

from __future__ import annotations

import logging
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd
import scipy.sparse as sp

from livermet.errors import InputError
from livermet.io import open_text

log = logging.getLogger(__name__)


def read_microwell_dge(path: str | Path, chunk_genes: int = 1000) -> ad.AnnData:
    """Microwell-seq ``*_dge.txt[.gz]`` (Human Cell Landscape): genes x barcodes, first column the
    gene symbol, as cells x genes AnnData.

    The table is dense (HCL writes 10,000 barcode columns per sample), so it is parsed in blocks
    of genes and kept sparse. Gene symbols are made unique; barcodes must already be.
    """
    path = Path(path)
    sep, barcodes, header_names_gene_column = _dge_layout(path)
    if len(set(barcodes)) != len(barcodes):
        raise InputError(f"{path}: duplicate barcodes in the header")
    blocks, genes = [], []
    with open_text(path) as fh:
        reader = pd.read_csv(
            fh,
            sep=sep,
            index_col=0,
            header=0 if header_names_gene_column else None,
            skiprows=0 if header_names_gene_column else 1,
            chunksize=chunk_genes,
        )
        for chunk in reader:
            if chunk.shape[1] != len(barcodes):
                raise InputError(
                    f"{path}: rows have {chunk.shape[1]} counts for {len(barcodes)} barcodes"
                )
            chunk.columns = barcodes
            blocks.append(sp.csr_matrix(_integer_counts(chunk, path)))
            genes.extend(chunk.index.astype(str))
    if not blocks:
        raise InputError(f"{path}: no gene rows")
    matrix = sp.vstack(blocks, format="csr").T.tocsr()
    symbols = pd.Index(genes, dtype=str)
    if symbols.has_duplicates:
        log.warning("%s: %d duplicate gene symbols made unique", path, symbols.duplicated().sum())
        symbols = ad.utils.make_index_unique(symbols)
    adata = ad.AnnData(
        X=matrix,
        obs=pd.DataFrame(index=pd.Index(barcodes, dtype=str)),
        var=pd.DataFrame(index=symbols),
    )
    log.info("%s: %d cells x %d genes, %d counts", path, *adata.shape, int(matrix.sum()))
    return adata


def _dge_layout(path: Path) -> tuple[str, list[str], bool]:
    """Separator, barcodes, and whether the header has a field for the gene column.

    HCL files start with ``GENE``; an R ``write.table`` export leaves that field out, so the
    header is one field shorter than the rows.
    """
    with open_text(path) as fh:
        header = fh.readline().rstrip("\r\n")
        first_row = fh.readline().rstrip("\r\n")
    if not header or not first_row:
        raise InputError(f"{path}: expected a header of barcodes and at least one gene row")
    sep = "\t" if "\t" in header else ","
    names = [field.strip().strip('"') for field in header.split(sep)]
    n_row_fields = len(first_row.split(sep))
    if n_row_fields == len(names):
        return sep, names[1:], True
    if n_row_fields == len(names) + 1:
        return sep, names, False
    raise InputError(f"{path}: header has {len(names)} fields but the first row {n_row_fields}")


def read_count_table(path: str | Path) -> pd.DataFrame:
    """Bulk RNA-seq counts (TSV or CSV by extension, gzip or not): genes x samples, int64.

    The first column holds gene identifiers and must be unique; every other column is a sample
    and must hold non-negative integers (``12.0`` is accepted as 12: some tools write floats).
    """
    path = Path(path)
    name = path.name.removesuffix(".gz")
    sep = "," if name.endswith(".csv") else "\t"
    with open_text(path) as fh:
        try:
            table = pd.read_csv(fh, sep=sep, index_col=0)
        except (ValueError, pd.errors.ParserError) as err:
            raise InputError(f"{path}: cannot be read as a count table: {err}") from err
    if table.shape[1] == 0:
        raise InputError(f"{path}: no sample columns (is the separator {sep!r} right?)")
    table.index = table.index.astype(str)
    table.index.name = "gene"
    duplicated = table.index[table.index.duplicated()]
    if len(duplicated):
        raise InputError(
            f"{path}: {len(duplicated)} duplicate gene identifiers, e.g. {duplicated[0]!r}"
        )
    counts = pd.DataFrame(_integer_counts(table, path), index=table.index, columns=table.columns)
    log.info("%s: %d genes x %d samples", path, *counts.shape)
    return counts


def _integer_counts(table: pd.DataFrame, path: Path) -> np.ndarray:
    """The table's values as int64, or an error naming the first value that is not a count."""
    text_columns = [column for column in table.columns if table[column].dtype == object]
    if text_columns:
        column = text_columns[0]
        gene = pd.to_numeric(table[column], errors="coerce").isna().idxmax()
        raise InputError(
            f"{path}: non-numeric value {table.at[gene, column]!r} at gene {gene}, column {column}"
        )
    values = table.to_numpy(dtype=float)
    bad = ~np.isfinite(values) | (values < 0) | (values != np.round(values))
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raise InputError(
            f"{path}: {values[row, col]:g} at gene {table.index[row]}, column "
            f"{table.columns[col]} is not a non-negative integer count"
        )
    return values.astype(np.int64)
