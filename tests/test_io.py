"""Writing outputs: .h5ad files compressed as the config asks (an unknown setting is refused),
gzipped tables the same bytes on every run."""

import time

import anndata as ad
import h5py
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import yaml
from workflow_utils import REPO

from livermet.errors import InputError
from livermet.io import (
    H5AD_COMPRESSION_VARIABLE,
    H5AD_COMPRESSIONS,
    read_h5ad_without_layers,
    read_table,
    write_h5ad,
    write_h5ad_with_layers_of,
    write_table,
)


def small_adata() -> ad.AnnData:
    counts = sp.random(50, 30, density=0.3, format="csr", random_state=0, dtype=np.float32)
    return ad.AnnData(counts, layers={"counts": counts.copy()})


@pytest.mark.parametrize("setting, filter_name", [("none", None), ("lzf", "lzf"), ("gzip", "gzip")])
def test_h5ad_is_written_with_the_configured_compression(
    tmp_path, monkeypatch, setting, filter_name
):
    monkeypatch.setenv(H5AD_COMPRESSION_VARIABLE, setting)
    adata = small_adata()
    write_h5ad(adata, tmp_path / "x.h5ad")
    with h5py.File(tmp_path / "x.h5ad") as fh:
        assert fh["X/data"].compression == filter_name
        assert fh["layers/counts/data"].compression == filter_name
    back = ad.read_h5ad(tmp_path / "x.h5ad")
    assert (back.X != adata.X).nnz == 0


def test_uncompressed_is_the_default(tmp_path, monkeypatch):
    monkeypatch.delenv(H5AD_COMPRESSION_VARIABLE, raising=False)
    write_h5ad(small_adata(), tmp_path / "x.h5ad")
    with h5py.File(tmp_path / "x.h5ad") as fh:
        assert fh["X/data"].compression is None


def test_unknown_compression_is_refused_before_writing(tmp_path, monkeypatch):
    monkeypatch.setenv(H5AD_COMPRESSION_VARIABLE, "zstd")
    with pytest.raises(InputError, match=r"h5ad_compression: 'zstd' is not one of none, lzf, gzip"):
        write_h5ad(small_adata(), tmp_path / "x.h5ad")
    assert not list(tmp_path.iterdir())


def test_a_gzipped_table_is_the_same_bytes_each_time(tmp_path):
    """No timestamp or temporary file name in the gzip header: reruns compare equal."""
    table = pd.DataFrame({"gene": ["Alb", "Prok2"], "value": [1.5, 2.25]})
    write_table(table, tmp_path / "a.tsv.gz")
    time.sleep(1.1)  # gzip headers record whole seconds
    write_table(table, tmp_path / "b.tsv.gz")
    assert (tmp_path / "a.tsv.gz").read_bytes() == (tmp_path / "b.tsv.gz").read_bytes()
    assert (tmp_path / "a.tsv.gz").read_bytes()[:2] == b"\x1f\x8b"
    pd.testing.assert_frame_equal(read_table(tmp_path / "a.tsv.gz"), table)


def test_the_config_schema_allows_exactly_the_writers_compressions():
    schema = yaml.safe_load((REPO / "config" / "schemas" / "config.schema.yaml").read_text())
    assert schema["properties"]["h5ad_compression"]["enum"] == list(H5AD_COMPRESSIONS)


def test_layers_pass_through_a_job_that_reads_without_them(tmp_path):
    adata = small_adata()
    adata.layers["counts"].data[:] = np.arange(1, adata.layers["counts"].nnz + 1)
    adata.obsm["X_pca"] = np.ones((50, 2), dtype=np.float32)
    adata.uns["atlas"] = {"seed": 3}
    write_h5ad(adata, tmp_path / "in.h5ad")

    read = read_h5ad_without_layers(tmp_path / "in.h5ad")
    assert not read.layers and (read.X != adata.X).nnz == 0 and read.uns["atlas"]["seed"] == 3
    read.obs["cell_type"] = pd.Categorical(["a", "b"] * 25)
    read.obs["kind"] = ["x", "y"] * 25  # repeated strings: stored as a categorical, as by anndata
    write_h5ad_with_layers_of(read, tmp_path / "out.h5ad", tmp_path / "in.h5ad")

    back = ad.read_h5ad(tmp_path / "out.h5ad")
    assert isinstance(back.obs["kind"].dtype, pd.CategoricalDtype)
    assert (back.layers["counts"] != adata.layers["counts"]).nnz == 0
    assert (back.X != adata.X).nnz == 0 and list(back.obs["cell_type"][:2]) == ["a", "b"]
    np.testing.assert_array_equal(back.obsm["X_pca"], adata.obsm["X_pca"])
    assert back.uns["atlas"]["seed"] == 3
