"""Ingest: metadata attached, and every bad input refused with one line naming sample and file."""

import pytest
from conftest import small_counts, write_rhapsody_csv

from livermet.errors import InputError
from livermet.ingest import ingest_sample


def ingest(path):
    return ingest_sample(path, "rhapsody_csv", "ctrl_1", "control", "b1", "mt-")


def test_ingest_attaches_sample_metadata_and_counts_layer(rhapsody_file):
    adata = ingest(rhapsody_file)
    assert adata.obs_names[0] == "ctrl_1_1000"
    assert set(adata.obs["sample"]) == {"ctrl_1"}
    assert list(adata.obs["condition"].cat.categories) == ["control", "PMN", "MN"]
    assert adata.obs["condition"].cat.ordered
    assert (adata.layers["counts"] != adata.X).nnz == 0
    assert adata.X.dtype.kind == "i"


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda c: c.assign(Alb=-c["Alb"] - 1), "negative counts"),
        (lambda c: c.astype(float).assign(Alb=c["Alb"] + 0.5), "non-integer counts"),
        (lambda c: c.drop(columns=["mt-Co1", "mt-Nd1"]), "no mitochondrial genes"),
        (lambda c: c.iloc[[0, 0, 1]], "duplicate barcodes"),
        (lambda c: c.rename(columns={"Apoa1": "Alb"}), "duplicate genes"),
        (lambda c: c.iloc[:0], "no cells or no genes"),
    ],
)
def test_bad_counts_give_one_line_error_naming_sample_and_file(tmp_path, mutate, message):
    path = write_rhapsody_csv(mutate(small_counts()), tmp_path / "bad.csv")
    with pytest.raises(InputError, match=message) as err:
        ingest(path)
    text = str(err.value)
    assert text.startswith("sample ctrl_1: ") and str(path) in text and "\n" not in text
