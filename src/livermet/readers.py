"""Readers that turn a sample's count file into AnnData with raw integer counts in ``X``.

Each reader returns cells x genes, ``var_names`` = gene symbols and ``var["gene_ids"]`` where the
format carries them. Content checks (integers, duplicates, species) live in :mod:`livermet.ingest`;
readers only raise when a file cannot be parsed as the format it claims to be.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd
import scipy.io
import scipy.sparse as sp

from livermet.errors import InputError
from livermet.io import open_text

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


def read_rhapsody_csv(path: Path, chunk_bytes: int = 1 << 26) -> ad.AnnData:
    """BD Rhapsody ``*_MolsPerCell.csv``: ``##`` header lines, then ``Cell_Index,<genes>``.

    The table is dense cells x genes, so it is parsed in chunks of about ``chunk_bytes`` of text
    and kept sparse. Targeted-panel columns look like ``Gene|Accession|...``: the symbol is the
    first field. Rows of plain integers (what BD writes) go through NumPy's integer parser; a
    file with anything else (decimals, text, ragged rows) is parsed by pandas instead, so that
    the ingest checks can name what is wrong.
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

    NumPy's C parser of integers is twice as fast as pandas' general one on these wide tables
    (a 9,000-cell sample: 14 s against 27 s on 2 cores)."""
    blocks, barcodes = [], []
    with open_text(path) as fh:
        for _ in range(skip_lines):
            fh.readline()
        while lines := fh.readlines(chunk_bytes):
            values = np.loadtxt(
                lines,
                delimiter=",",
                dtype=np.int32,
                usecols=range(1, n_columns),
                comments=None,
                ndmin=2,
            )
            blocks.append(sp.csr_matrix(values))
            barcodes.extend(line.split(",", 1)[0].strip() for line in lines if line.strip())
    matrix = sp.vstack(blocks, format="csr") if blocks else sp.csr_matrix((0, n_columns - 1))
    return matrix, barcodes


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
    with _open_binary(matrix_file) as fh:
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


def _open_binary(path: Path):
    return gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")


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
