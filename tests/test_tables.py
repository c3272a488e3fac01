"""Microwell-seq DGE and bulk count table readers."""

import gzip
from pathlib import Path

import numpy as np
import pytest
from conftest import shared_file

from livermet.errors import InputError
from livermet.tables import read_count_table, read_microwell_dge

FIXTURES = Path(__file__).parent / "fixtures" / "geo"
DGE = FIXTURES / "GSM4000001_Mini-Liver1_dge.txt"
# The fixture's counts, genes x barcodes, as written in the file.
DGE_COUNTS = np.array(
    [[0, 1, 0, 0, 2], [5, 0, 12, 0, 0], [0, 0, 3, 1, 0], [10, 4, 0, 7, 1], [1, 0, 0, 0, 0]]
)


def _write(path: Path, text: str) -> Path:
    if path.suffix == ".gz":
        with gzip.open(path, "wt") as fh:
            fh.write(text)
    else:
        path.write_text(text)
    return path


def test_dge_becomes_cells_by_genes_sparse_with_the_same_counts():
    adata = read_microwell_dge(DGE)
    assert adata.shape == (5, 5)
    assert adata.obs_names[0] == "AAACGAAAGTTTCACCC"
    assert adata.var_names.tolist() == ["A1BG", "S100A8", "CSF3R", "MT-CO1", "S100A8-1"]
    assert adata.X.format == "csr"
    assert np.array_equal(adata.X.toarray(), DGE_COUNTS.T)


@pytest.mark.parametrize(
    ("name", "transform"),
    [
        ("gz_dge.txt.gz", lambda text: text),
        ("quoted_dge.txt", lambda text: "\n".join(_quote_header(text.split("\n")))),
        ("rstyle_dge.txt", lambda text: text.replace("GENE\t", "", 1)),
        ("comma_dge.csv", lambda text: text.replace("\t", ",")),
    ],
)
def test_dge_layout_variants_read_the_same(tmp_path, name, transform):
    """gzip, quoted header, R write.table header without the gene field, comma-separated."""
    path = _write(tmp_path / name, transform(DGE.read_text()))
    adata = read_microwell_dge(path, chunk_genes=2)
    assert adata.obs_names.tolist() == read_microwell_dge(DGE).obs_names.tolist()
    assert np.array_equal(adata.X.toarray(), DGE_COUNTS.T)


def _quote_header(lines):
    return ['"' + lines[0].replace("\t", '"\t"') + '"', *lines[1:]]


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("CSF3R\t0\t0\t3", "CSF3R\t0\t0\t3.5", r"3.5 at gene CSF3R, column ACGTACGTACGTACGTA"),
        ("CSF3R\t0\t0\t3", "CSF3R\t0\t0\t-3", r"-3 at gene CSF3R"),
        ("CSF3R\t0\t0\t3", "CSF3R\t0\t0\tx", r"non-numeric value 'x' at gene CSF3R"),
        ("TTTAAATTTAAATTTAA", "AAACGAAAGTTTCACCC", "duplicate barcodes"),
    ],
)
def test_dge_refuses_what_is_not_a_count_table(tmp_path, old, new, message):
    path = _write(tmp_path / "bad_dge.txt", DGE.read_text().replace(old, new, 1))
    with pytest.raises(InputError, match=message):
        read_microwell_dge(path)


def test_dge_with_ragged_rows_is_refused(tmp_path):
    path = _write(tmp_path / "ragged_dge.txt", DGE.read_text().replace("A1BG\t0\t", "A1BG\t"))
    with pytest.raises(InputError, match="header has 6 fields but the first row 5"):
        read_microwell_dge(path)


COUNTS_TSV = "GeneID\tGSM1\tGSM2\tGSM3\nENSMUSG01\t10\t0\t5\nENSMUSG02\t3\t7\t0\n"


@pytest.mark.parametrize("name", ["counts.tsv", "counts.tsv.gz", "counts.csv", "counts.csv.gz"])
def test_count_table_reads_tsv_csv_plain_and_gzip(tmp_path, name):
    text = COUNTS_TSV.replace("\t", ",") if ".csv" in name else COUNTS_TSV
    counts = read_count_table(_write(tmp_path / name, text))
    assert counts.index.tolist() == ["ENSMUSG01", "ENSMUSG02"]
    assert counts.columns.tolist() == ["GSM1", "GSM2", "GSM3"]
    assert counts.dtypes.unique().tolist() == [np.dtype("int64")]
    assert counts.loc["ENSMUSG02", "GSM2"] == 7


def test_count_table_accepts_integral_floats(tmp_path):
    counts = read_count_table(_write(tmp_path / "c.tsv", COUNTS_TSV.replace("\t10\t", "\t10.0\t")))
    assert counts.loc["ENSMUSG01", "GSM1"] == 10


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            "\t10\t",
            "\t10.5\t",
            r"10.5 at gene ENSMUSG01, column GSM1 is not a non-negative integer",
        ),
        ("\t10\t", "\t-1\t", r"-1 at gene ENSMUSG01"),
        ("\t10\t", "\t\t", r"nan at gene ENSMUSG01, column GSM1"),
        ("\t10\t", "\tten\t", r"non-numeric value 'ten' at gene ENSMUSG01, column GSM1"),
        ("ENSMUSG02", "ENSMUSG01", r"1 duplicate gene identifiers, e.g. 'ENSMUSG01'"),
    ],
)
def test_count_table_refuses_non_counts(tmp_path, old, new, message):
    path = _write(tmp_path / "bad.tsv", COUNTS_TSV.replace(old, new, 1))
    with pytest.raises(InputError, match=message):
        read_count_table(path)


def test_count_table_with_the_wrong_separator_has_no_samples(tmp_path):
    path = _write(tmp_path / "counts.tsv", COUNTS_TSV.replace("\t", ","))
    with pytest.raises(InputError, match="no sample columns"):
        read_count_table(path)


def test_missing_file_is_named(tmp_path):
    with pytest.raises(InputError, match="file not found"):
        read_count_table(tmp_path / "absent.tsv")


@pytest.mark.realdata
def test_real_mouse_liver_bulk_counts_read_as_integers():
    counts = read_count_table(shared_file("weger2018_mouse_liver_bulk_counts.tsv.gz"))
    assert counts.shape == (40614, 12)
    assert counts.index.str.startswith("ENSMUS").all()
    assert (counts.to_numpy() >= 0).all() and counts.to_numpy().sum() > 1_000_000
