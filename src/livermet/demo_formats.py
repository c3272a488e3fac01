"""Writers of the demo's count files, in the layouts of the real downloads (one writer per format).

Every writer is atomic (a temporary name beside the target, renamed into place) and deterministic:
gzip members carry no timestamp and no file name, so the same counts give byte-identical files.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import anndata as ad
import anndata.io
import numpy as np
import pandas as pd
import scipy.sparse as sp

from livermet.errors import InputError
from livermet.io import atomic_path, open_text_output

CSV_CHUNK_ROWS = 256
MTX_CHUNK_ENTRIES = 2_000_000
"""Count matrices are gzipped at level 1: 5x faster than level 6 on their long runs of zeros, for
files about 1.5x larger."""
RHAPSODY_RULE = "#" * 90
RHAPSODY_PIPELINE = "BD Rhapsody Sequence Analysis Pipeline Version 1.12.1 (livermet demo)"
RHAPSODY_REFERENCE = "livermet demo mouse gene universe (Ensembl BioMart symbols)"


def write_rhapsody_csv(counts: ad.AnnData, path: str | os.PathLike, sample: str) -> None:
    """BD Rhapsody ``<sample>_RSEC_MolsPerCell.csv``: a ``##`` block between ``####`` rules, then
    ``Cell_Index,<genes>`` and one dense row of integer molecule counts per cell."""
    matrix = sp.csr_matrix(counts.X)
    cell_index = counts.obs_names.to_numpy()
    with open_text_output(path, compresslevel=1) as handle:
        handle.write(
            f"{RHAPSODY_RULE}\n## {RHAPSODY_PIPELINE}\n## Sample - {sample}\n"
            f"## Reference - {RHAPSODY_REFERENCE}\n{RHAPSODY_RULE}\n"
        )
        handle.write("Cell_Index," + ",".join(counts.var_names) + "\n")
        handle.flush()
        for start in range(0, matrix.shape[0], CSV_CHUNK_ROWS):
            rows = slice(start, start + CSV_CHUNK_ROWS)
            handle.buffer.write(dense_csv_rows(matrix[rows], cell_index[rows]))


def dense_csv_rows(block: sp.csr_matrix, first_column: np.ndarray) -> bytes:
    """Dense CSV lines of a sparse block, fast: a ``,0,0,...`` byte template per row gets the
    single-digit counts written in place; the few larger counts are spliced in per row."""
    n_rows, n_genes = block.shape
    text = np.full((n_rows, 2 * n_genes), ord("0"), dtype=np.uint8)
    text[:, 0::2] = ord(",")
    row_of_entry = np.repeat(np.arange(n_rows), np.diff(block.indptr))
    single = block.data < 10
    text[row_of_entry[single], 2 * block.indices[single] + 1] += block.data[single].astype(np.uint8)
    lines = []
    for row in range(n_rows):
        entries = slice(block.indptr[row], block.indptr[row + 1])
        large = block.data[entries] >= 10
        body = text[row].tobytes()
        pieces, previous = [str(first_column[row]).encode()], 0
        for gene, value in zip(
            block.indices[entries][large], block.data[entries][large], strict=True
        ):
            position = 2 * int(gene) + 1
            pieces += [body[previous:position], str(value).encode()]
            previous = position + 1
        pieces += [body[previous:], b"\n"]
        lines.append(b"".join(pieces))
    return b"".join(lines)


def write_mex(counts: ad.AnnData, path: str | os.PathLike) -> None:
    """A MEX directory: ``matrix.mtx.gz`` (genes x cells, 1-based coordinates), ``features.tsv.gz``
    (gene_id, symbol, "Gene Expression") and ``barcodes.tsv.gz``, swapped in as a whole."""
    matrix = sp.coo_matrix(sp.csr_matrix(counts.X))
    entries = np.column_stack([matrix.col + 1, matrix.row + 1, matrix.data])
    features = pd.DataFrame(
        {"id": counts.var["gene_ids"], "symbol": counts.var_names, "type": "Gene Expression"}
    )
    with _atomic_directory(path) as folder:
        with open_text_output(folder / "matrix.mtx.gz", compresslevel=1) as handle:
            handle.write("%%MatrixMarket matrix coordinate integer general\n")
            handle.write(f"{matrix.shape[1]} {matrix.shape[0]} {matrix.nnz}\n")
            handle.flush()
            for start in range(0, len(entries), MTX_CHUNK_ENTRIES):
                handle.buffer.write(integer_lines(entries[start : start + MTX_CHUNK_ENTRIES], b" "))
        with open_text_output(folder / "features.tsv.gz") as handle:
            features.to_csv(handle, sep="\t", header=False, index=False)
        with open_text_output(folder / "barcodes.tsv.gz") as handle:
            handle.write("".join(f"{barcode}\n" for barcode in counts.obs_names))


def integer_lines(table: np.ndarray, separator: bytes) -> bytes:
    """Rows of non-negative integers as text lines, formatted with numpy (~10x faster than csv
    writers): each number's digits are scattered into a byte buffer at their offsets."""
    values = np.asarray(table, dtype=np.int64).ravel()
    n_digits = np.floor(np.log10(np.maximum(values, 1))).astype(np.int64) + 1
    ends = np.cumsum(n_digits + 1)
    text = np.full(ends[-1], separator[0], dtype=np.uint8)
    text[ends[table.shape[1] - 1 :: table.shape[1]] - 1] = ord("\n")
    last_digit = ends - 2
    text[last_digit] = ord("0") + values % 10
    for place in range(1, int(n_digits.max())):
        longer = np.flatnonzero(n_digits > place)
        text[last_digit[longer] - place] = ord("0") + values[longer] // 10**place % 10
    return text.tobytes()


def write_counts_h5ad(counts: ad.AnnData, path: str | os.PathLike) -> None:
    """AnnData with raw integer counts in ``X`` and Ensembl IDs in ``var["gene_ids"]``.

    HDF5 leaves the part of a dataset's last chunk beyond its end uninitialised unless told to
    fill chunks when allocating them; with compression, stale memory there changes the file's
    bytes from run to run (seen as ~1 in 10 demo runs). ``fill_time="alloc"`` makes them stable.
    """
    with atomic_path(path, suffix=".h5ad") as tmp:
        anndata.io.write_h5ad(
            tmp, counts, dataset_kwargs={"compression": "lzf", "fill_time": "alloc"}
        )


WRITERS = {
    "rhapsody_csv": lambda counts, path, sample: write_rhapsody_csv(counts, path, sample),
    "mex": lambda counts, path, sample: write_mex(counts, path),
    "h5ad": lambda counts, path, sample: write_counts_h5ad(counts, path),
}
"""Formats the demo writes, keyed as in the samples sheet's ``format`` column."""


def write_sample(counts: ad.AnnData, path: str | os.PathLike, fmt: str, sample: str) -> None:
    if fmt not in WRITERS:
        raise InputError(
            f"sample {sample}: the demo cannot write format {fmt!r}; "
            f"choose one of {', '.join(WRITERS)}"
        )
    WRITERS[fmt](counts, path, sample)


@contextlib.contextmanager
def _atomic_directory(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary directory beside ``path``; on success it replaces ``path`` (an old
    directory is moved aside first and then deleted, as a directory cannot be renamed over)."""
    final = Path(path)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", dir=final.parent))
    try:
        yield tmp
        old = None
        if final.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{final.name}.old.", dir=final.parent))
            os.replace(final, old / final.name)
        os.replace(tmp, final)
        if old is not None:
            shutil.rmtree(old)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
