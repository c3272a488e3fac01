"""Ingest: one sample's count file -> AnnData with raw integer counts and the sample's metadata.

This is the gate of the pipeline: every content problem a user can make (wrong file, wrong species,
normalised instead of raw counts, duplicated cells) is caught here with one line that names the
sample and the file, before anything downstream is written.
"""

from __future__ import annotations

import logging

import anndata as ad
import numpy as np
import pandas as pd
import scipy.sparse as sp

from livermet import CONDITIONS
from livermet.errors import InputError
from livermet.readers import read_counts

log = logging.getLogger(__name__)


def ingest_sample(
    path: str, fmt: str, sample: str, condition: str, batch: str, mito_prefix: str
) -> ad.AnnData:
    """Read and check one sample; ``layers["counts"]`` and ``X`` both hold the raw counts."""
    try:
        adata = read_counts(path, fmt)
        check_counts(adata, path, mito_prefix)
    except InputError as err:
        raise InputError(f"sample {sample}: {err}") from None
    adata.var_names_make_unique()
    adata.obs["barcode"] = adata.obs_names.astype(str)
    adata.obs_names = [f"{sample}_{barcode}" for barcode in adata.obs_names]
    adata.obs["sample"] = sample
    adata.obs["condition"] = pd.Categorical([condition] * adata.n_obs, CONDITIONS, ordered=True)
    adata.obs["batch"] = batch
    adata.X = sp.csr_matrix(adata.X, dtype=np.int32)
    adata.X.eliminate_zeros()
    adata.layers["counts"] = adata.X.copy()
    log.info("sample %s: %d cells x %d genes from %s", sample, adata.n_obs, adata.n_vars, path)
    return adata


def check_counts(adata: ad.AnnData, path: str, mito_prefix: str) -> None:
    """Refuse what is not a raw UMI matrix of this species; each failure is one line."""
    if adata.n_obs == 0 or adata.n_vars == 0:
        raise InputError(f"{path}: no cells or no genes ({adata.n_obs} x {adata.n_vars})")
    _check_unique(adata.obs_names, "barcodes", path)
    # Repeated symbols with distinct gene IDs are real (var_names_make_unique resolves them);
    # repeated names without IDs to tell them apart are a broken file.
    if not ("gene_ids" in adata.var and adata.var["gene_ids"].is_unique):
        _check_unique(adata.var_names, "genes", path)
    values = adata.X.data if sp.issparse(adata.X) else np.asarray(adata.X).ravel()
    if values.size and values.min() < 0:
        raise InputError(f"{path}: negative counts (minimum {values.min()})")
    if values.size and not np.all(np.equal(np.mod(values, 1), 0)):
        raise InputError(f"{path}: non-integer counts; expected raw UMI counts, not normalised")
    if not adata.var_names.str.startswith(mito_prefix).any():
        raise InputError(
            f"{path}: no mitochondrial genes (prefix {mito_prefix!r}); "
            "wrong species or gene identifiers?"
        )


def _check_unique(names: pd.Index, what: str, path: str) -> None:
    duplicated = names[names.duplicated()]
    if len(duplicated):
        examples = ", ".join(map(str, duplicated[:3]))
        raise InputError(f"{path}: {len(duplicated)} duplicate {what} (e.g. {examples})")
