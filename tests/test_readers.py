"""Readers: each input format gives the same cells x genes raw counts."""

import gzip

import anndata as ad
import numpy as np
import pytest
import scipy.io
import scipy.sparse as sp
from conftest import small_counts, write_rhapsody_csv

from livermet import readers
from livermet.errors import InputError
from livermet.readers import read_counts, read_rhapsody_csv


def test_rhapsody_csv_skips_header_block_and_keeps_counts(rhapsody_file):
    adata = read_counts(rhapsody_file, "rhapsody_csv")
    expected = small_counts()
    assert adata.shape == expected.shape
    assert list(adata.var_names) == list(expected.columns)
    assert list(adata.obs_names) == list(expected.index)
    np.testing.assert_array_equal(adata.X.toarray(), expected.to_numpy())


@pytest.mark.parametrize("chunk_bytes", [1 << 26, 200])
def test_rhapsody_integer_rows_and_integral_decimals_read_the_same(
    tmp_path, monkeypatch, chunk_bytes
):
    """Plain integers take the byte parser (in chunks of any size), decimals take pandas'."""
    integers = tmp_path / "int.csv.gz"
    decimals = tmp_path / "dec.csv"
    write_rhapsody_csv(small_counts(), integers)
    write_rhapsody_csv(small_counts().astype(float), decimals)
    assert ",4.0," in decimals.read_text()
    with monkeypatch.context() as patched:  # the integer file never reaches pandas
        patched.setattr(readers, "_any_rows", lambda *args: pytest.fail("pandas parsed it"))
        fast = read_rhapsody_csv(integers, chunk_bytes=chunk_bytes)
    general = read_rhapsody_csv(decimals)
    assert list(fast.obs_names) == list(general.obs_names) == list(small_counts().index)
    assert list(fast.var_names) == list(general.var_names)
    np.testing.assert_array_equal(fast.X.toarray(), general.X.toarray())


def test_rhapsody_byte_parser_reads_wide_counts_zeros_and_line_ends_as_pandas(tmp_path):
    """Multi-digit counts, zeros written "00", CRLF endings and trailing blank lines."""
    counts = small_counts()
    counts.iloc[0, 0], counts.iloc[1, 2], counts.iloc[2, 3] = 123456789, 10, 0
    path = write_rhapsody_csv(counts, tmp_path / "wide.csv")
    text = path.read_text().replace(",0,", ",00,", 1)
    assert ",00," in text
    for variant, content in {"lf": text + "\n\n", "crlf": text.replace("\n", "\r\n")}.items():
        (tmp_path / variant).write_text(content, newline="")
        adata = read_rhapsody_csv(tmp_path / variant, chunk_bytes=64)
        assert list(adata.obs_names) == list(counts.index), variant
        np.testing.assert_array_equal(adata.X.toarray(), counts.to_numpy(), err_msg=variant)
        assert adata.X.nnz == np.count_nonzero(counts.to_numpy()), variant


@pytest.mark.parametrize(
    "row", ["c9,1,2", "c9" + ",1" * 11, "c9,-1" + ",0" * 9, "c9,1e3" + ",0" * 9, "c9,,1" + ",0" * 8]
)
def test_rhapsody_byte_parser_refuses_what_is_not_plain_counts(row):
    """Short or long rows, signs and exponents go to pandas (whose errors the ingest names)."""
    good = "c1" + ",3" * 10
    assert readers._parse_integer_block(f"{good}\n".encode(), n_columns=11)[0].sum() == 30
    with pytest.raises(ValueError):
        readers._parse_integer_block(f"{good}\n{row}\n".encode(), n_columns=11)
    with pytest.raises(ValueError, match="more than 9 digits"):
        readers._parse_integer_block(b"c1,1234567890\n", n_columns=2)


def test_rhapsody_targeted_columns_keep_the_symbol(tmp_path):
    counts = small_counts().rename(columns={"Alb": "Alb|NM_009654|PolyA_1"})
    adata = read_counts(write_rhapsody_csv(counts, tmp_path / "x.csv"), "rhapsody_csv")
    assert "Alb" in adata.var_names


def test_mex_directory_matches_dense_table(tmp_path):
    counts = small_counts()
    folder = tmp_path / "mex"
    folder.mkdir()
    with gzip.open(folder / "matrix.mtx.gz", "wb") as fh:
        scipy.io.mmwrite(fh, sp.coo_matrix(counts.to_numpy().T))
    with gzip.open(folder / "features.tsv.gz", "wt") as fh:
        fh.writelines(f"ENSMUSG{i:011d}\t{g}\tGene Expression\n" for i, g in enumerate(counts))
    with gzip.open(folder / "barcodes.tsv.gz", "wt") as fh:
        fh.writelines(f"{b}\n" for b in counts.index)
    adata = read_counts(folder, "mex")
    np.testing.assert_array_equal(adata.X.toarray(), counts.to_numpy())
    assert adata.var["gene_ids"].iloc[0] == "ENSMUSG00000000000"


def test_h5ad_prefers_the_counts_layer(tmp_path):
    counts = small_counts()
    adata = ad.AnnData(np.log1p(counts.to_numpy().astype(float)))
    adata.layers["counts"] = counts.to_numpy()
    adata.write_h5ad(tmp_path / "x.h5ad")
    back = read_counts(tmp_path / "x.h5ad", "h5ad")
    np.testing.assert_array_equal(back.X.toarray(), counts.to_numpy())


def test_missing_file_names_the_path(tmp_path):
    with pytest.raises(InputError, match=r"nothere\.csv: file not found"):
        read_counts(tmp_path / "nothere.csv", "rhapsody_csv")


def test_unknown_format_is_refused(rhapsody_file):
    with pytest.raises(InputError, match="unknown format 'loom'"):
        read_counts(rhapsody_file, "loom")


def test_a_file_of_another_format_is_one_line_error(tmp_path):
    path = tmp_path / "table.csv"
    path.write_text("gene,a,b\nAlb,1,2\n")
    with pytest.raises(InputError, match="Cell_Index"):
        read_counts(path, "rhapsody_csv")
