"""Readers that turn a sample's count file into AnnData with raw integer counts in ``X``.

Each reader returns cells x genes, ``var_names`` = gene symbols and ``var["gene_ids"]`` where the
format carries them. Content checks (integers, duplicates, species) live in :mod:`livermet.ingest`;
readers only raise when a file cannot be parsed as the format it claims to be.
"""

from __future__ import annotations

from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd
import scipy.io
import scipy.sparse as sp

from livermet.errors import InputError
from livermet.io import open_bytes, open_text

FORMATS = ("rhapsody_csv", "mex", "10x_h5", "h5ad")


def read_counts(path: str | Path, fmt: str) -> ad.AnnData:
    """Read one sample's counts in ``fmt`` (one of :data:`FORMATS`)."""
    path = Path(path)
    if fmt not in _READERS:
        raise InputError(f"{path}: unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
    if not path.exists():
        raise InputError(f"{path}: file not found")
    try:
        return _READERS[fmt](path)
    except InputError:
        raise
    except Exception as err:  # any parser failure becomes one line naming file and format
        raise InputError(f"{path}: cannot be read as {fmt}: {type(err).__name__}: {err}") from err


def read_rhapsody_csv(path: Path, chunk_bytes: int = 1 << 24) -> ad.AnnData:
    """BD Rhapsody ``*_MolsPerCell.csv``: ``##`` header lines, then ``Cell_Index,<genes>``.

    The table is dense cells x genes, so it is parsed in chunks of about ``chunk_bytes`` of text
    and kept sparse. Targeted-panel columns look like ``Gene|Accession|...``: the symbol is the
    first field. Rows of plain integers (what BD writes) are split into sparse counts at the byte
    level (:func:`_parse_integer_block`); a file with anything else (decimals, text, ragged rows)
    is parsed by pandas instead, so that the ingest checks can name what is wrong.
    """
    with open_text(path) as fh:
        n_comment = 0
        line = fh.readline()
        while line.startswith("#"):
            n_comment += 1
            line = fh.readline()
    header = line.rstrip("\r\n").split(",")
    if not header or header[0] != "Cell_Index":
        raise InputError(f"{path}: expected a 'Cell_Index' header after the '##' lines")
    genes = [column.split("|")[0] for column in header[1:]]
    try:
        matrix, barcodes = _integer_rows(path, n_comment + 1, len(header), chunk_bytes)
    except ValueError:
        matrix, barcodes = _any_rows(path, n_comment, len(genes))
    return _make_adata(matrix, barcodes, genes, gene_ids=None)


def _integer_rows(
    path: Path, skip_lines: int, n_columns: int, chunk_bytes: int
) -> tuple[sp.csr_matrix, list[str]]:
    """Counts and barcodes of a table whose cells are all integers; ValueError on anything else.

    Read as bytes in blocks of whole lines, each parsed by :func:`_parse_integer_block`."""
    blocks, barcodes = [], []
    with open_bytes(path) as fh:
        for _ in range(skip_lines):
            fh.readline()
        while chunk := fh.read(chunk_bytes):
            block = chunk + fh.readline()  # whole lines
            if not block.endswith(b"\n") or block.endswith(b"\n\n"):  # end of file
                block = block.rstrip(b"\n") + b"\n"
            if block != b"\n":
                matrix, names = _parse_integer_block(block, n_columns)
                blocks.append(matrix)
                barcodes.extend(names)
    matrix = sp.vstack(blocks, format="csr") if blocks else sp.csr_matrix((0, n_columns - 1))
    return matrix, barcodes


_COMMA, _NEWLINE, _ZERO, _NINE = (ord(char) for char in ",\n09")


def _parse_integer_block(chunk: bytes, n_columns: int) -> tuple[sp.csr_matrix, list[str]]:
    """Lines of ``barcode,count,count,...`` straight into CSR; ValueError unless well formed.

    Most fields of a cell x gene table are the single byte "0", so the block is split at its
    separators with NumPy, those fields are dropped by looking at two bytes each, and only the
    rest are read as digits. A 9,000-cell sample of the 54k demo (437 MB of text, 95 % zeros):
    5.6-6.1 s against 12.8 s with NumPy's ``loadtxt`` of the dense block, and a smaller peak.
    """
    buf = np.frombuffer(chunk, dtype=np.uint8)
    is_newline = buf == _NEWLINE
    is_separator = (buf == _COMMA) | is_newline
    ends = np.flatnonzero(is_separator)
    n_rows, ragged = divmod(ends.size, n_columns)
    line_ends = buf[ends[n_columns - 1 :: n_columns]]
    if ragged or not (line_ends == _NEWLINE).all() or np.count_nonzero(is_newline) != n_rows:
        raise ValueError(f"rows without {n_columns} fields")
    lone_zero = np.zeros(ends.size, dtype=bool)  # the field is "0": "0" between two separators
    lone_zero[1:] = (buf[ends[1:] - 1] == _ZERO) & is_separator[ends[1:] - 2]
    fields = np.flatnonzero(~lone_zero)
    rows, columns = np.divmod(fields, n_columns)
    counts = columns > 0  # column 0 holds the barcodes
    fields, rows, columns = fields[counts], rows[counts], columns[counts] - 1
    starts = ends[fields - 1] + 1
    values = _read_digits(buf, starts, ends[fields] - starts)
    indptr = np.zeros(n_rows + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=n_rows), out=indptr[1:])
    matrix = sp.csr_matrix((values, columns.astype(np.int32), indptr), (n_rows, n_columns - 1))
    matrix.eliminate_zeros()  # fields such as "00"
    first_fields = zip(
        np.r_[0, ends[n_columns - 1 : -1 : n_columns] + 1], ends[::n_columns], strict=True
    )
    barcodes = [chunk[start:end].decode().strip() for start, end in first_fields]
    return matrix, barcodes


def _read_digits(buf: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """The non-negative int32 each field spells in decimal digits; ValueError on anything else."""
    values = np.zeros(starts.size, dtype=np.int32)
    if not starts.size:
        return values
    if lengths.min() < 1 or lengths.max() > 9:
        raise ValueError("empty field or more than 9 digits")
    for offset in range(int(lengths.max())):
        live = np.flatnonzero(lengths > offset)
        digits = buf[starts[live] + offset]
        if ((digits < _ZERO) | (digits > _NINE)).any():
            raise ValueError("a count that is not a plain non-negative integer")
        values[live] = values[live] * 10 + (digits - _ZERO)
    return values


def _any_rows(path: Path, n_comment: int, n_genes: int) -> tuple[sp.csr_matrix, list[str]]:
    """Counts and barcodes as pandas parses them, in chunks of 2,000 cells."""
    blocks, barcodes = [], []
    # low_memory=False: the chunks bound the memory already, and pandas' own low-memory parsing of
    # ~24k columns costs 2.6 times the CPU (9000 cells: 42 s against 16 s)
    reader = pd.read_csv(
        path,
        skiprows=n_comment,
        index_col=0,
        chunksize=2000,
        compression="infer",
        low_memory=False,
    )
    for chunk in reader:
        if chunk.empty:
            continue
        values = chunk.to_numpy()
        if not np.issubdtype(values.dtype, np.number):
            raise InputError(f"{path}: non-numeric counts near Cell_Index {chunk.index[0]}")
        blocks.append(sp.csr_matrix(values))
        barcodes.extend(chunk.index.astype(str))
    matrix = sp.vstack(blocks, format="csr") if blocks else sp.csr_matrix((0, n_genes))
    return matrix, barcodes


def read_mex(path: Path) -> ad.AnnData:
    """10x / BD MEX directory: ``matrix.mtx[.gz]`` (genes x cells), features or genes, barcodes."""
    matrix_file = _first_existing(path, ["matrix.mtx.gz", "matrix.mtx"])
    features_file = _first_existing(
        path, ["features.tsv.gz", "features.tsv", "genes.tsv.gz", "genes.tsv"]
    )
    barcodes_file = _first_existing(path, ["barcodes.tsv.gz", "barcodes.tsv"])
    with open_bytes(matrix_file) as fh:
        matrix = sp.csr_matrix(scipy.io.mmread(fh).T)
    features = pd.read_csv(features_file, sep="\t", header=None, dtype=str)
    barcodes = pd.read_csv(barcodes_file, sep="\t", header=None, dtype=str)[0].tolist()
    symbols = features[1] if features.shape[1] > 1 else features[0]
    return _make_adata(matrix, barcodes, symbols.tolist(), gene_ids=features[0].tolist())


def read_10x_h5(path: Path) -> ad.AnnData:
    """Cell Ranger ``filtered_feature_bc_matrix.h5`` through scanpy's reader."""
    import scanpy as sc

    adata = sc.read_10x_h5(path)
    return _make_adata(
        sp.csr_matrix(adata.X),
        adata.obs_names.tolist(),
        adata.var_names.tolist(),
        gene_ids=adata.var.get("gene_ids", pd.Series(dtype=str)).tolist() or None,
    )


def read_h5ad_counts(path: Path) -> ad.AnnData:
    """An ``.h5ad`` whose raw counts are in ``layers["counts"]`` or, failing that, in ``X``."""
    adata = ad.read_h5ad(path)
    matrix = adata.layers["counts"] if "counts" in adata.layers else adata.X
    gene_ids = adata.var["gene_ids"].tolist() if "gene_ids" in adata.var else None
    return _make_adata(
        sp.csr_matrix(matrix), adata.obs_names.tolist(), adata.var_names.tolist(), gene_ids
    )


def _first_existing(folder: Path, names: list[str]) -> Path:
    if not folder.is_dir():
        raise InputError(f"{folder}: a MEX input must be a directory")
    for name in names:
        if (folder / name).exists():
            return folder / name
    raise InputError(f"{folder}: none of {', '.join(names)} found in the MEX directory")


def _make_adata(
    matrix: sp.csr_matrix, barcodes: list[str], genes: list[str], gene_ids: list[str] | None
) -> ad.AnnData:
    var = pd.DataFrame(index=pd.Index(genes, dtype=str))
    if gene_ids is not None:
        var["gene_ids"] = gene_ids
    return ad.AnnData(X=matrix, obs=pd.DataFrame(index=pd.Index(barcodes, dtype=str)), var=var)


_READERS = {
    "rhapsody_csv": read_rhapsody_csv,
    "mex": read_mex,
    "10x_h5": read_10x_h5,
    "h5ad": read_h5ad_counts,
}
