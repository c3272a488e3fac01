"""The human data sets of the config as the workflow plans them: checks and local paths, light
enough for the Snakefile to import (the analysis is in :mod:`livermet.human`).

A ``human.datasets`` entry names its tissue (liver / PBMC), disease status (normal / tumour) and
count files, each given by ``path`` or by a downloaded ``datasets`` entry and file ``role`` (one
role, or a list such as a MEX matrix's three files, read as their folder); the donor comes per
file or from a column of a cell-metadata table.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

from livermet.errors import InputError

TISSUES = ("liver", "PBMC")
STATUSES = ("normal", "tumour")
GROUPS = ("liver_normal", "liver_tumour", "pbmc_normal", "pbmc_tumour")
"""Tissue x status groups of the human cells, in the order tables and figures show them."""
FORMATS = ("microwell_dge", "rhapsody_csv", "mex", "10x_h5", "h5ad")
"""Microwell-seq dense tables (livermet.tables) and the formats of livermet.readers."""


def resolve_dataset(name: str, spec: Mapping, dataset_file: Callable[[str, str], str]) -> dict:
    """A ``human.datasets`` entry with every file given as local paths: ``path`` stays, and
    ``{dataset, role}`` (``role`` one name or a list, e.g. the three MEX files) becomes the
    downloaded files' paths via ``dataset_file``. Each file entry gets ``inputs`` (what the rule
    waits for) and ``path`` (what the reader opens: a MEX directory for MEX files)."""
    check_dataset(name, spec)
    resolved = dict(spec)
    resolved["files"] = [_resolve_file(entry, dataset_file) for entry in spec["files"]]
    if spec.get("metadata"):
        resolved["metadata"] = _resolve_file(spec["metadata"], dataset_file)
    return resolved


def _resolve_file(entry: Mapping, dataset_file: Callable[[str, str], str]) -> dict:
    entry = dict(entry)
    if "path" in entry:
        entry["inputs"] = [str(entry["path"])]
        return entry
    roles = entry["role"] if isinstance(entry["role"], list) else [entry["role"]]
    entry["inputs"] = [dataset_file(entry["dataset"], role) for role in roles]
    first = Path(entry["inputs"][0])
    entry["path"] = str(first.parent if entry.get("format") == "mex" else first)
    return entry


def dataset_inputs(spec: Mapping) -> list[str]:
    """Every local file a resolved data set reads (its count files and cell metadata)."""
    files = [path for entry in spec["files"] for path in entry["inputs"]]
    if spec.get("metadata"):
        files.extend(spec["metadata"]["inputs"])
    return files


def check_dataset(name: str, spec: Mapping) -> None:
    """One-line errors for an entry that cannot work, before anything is read."""
    where = f"human.datasets.{name}"
    if spec.get("tissue") not in TISSUES:
        raise InputError(f"{where}.tissue must be one of {TISSUES}, got {spec.get('tissue')!r}")
    if spec.get("status") not in STATUSES:
        raise InputError(f"{where}.status must be one of {STATUSES}, got {spec.get('status')!r}")
    if not spec.get("files"):
        raise InputError(f"{where}: no files")
    has_column = bool(spec.get("donor_column"))
    if has_column and not spec.get("metadata"):
        raise InputError(f"{where}: donor_column needs a metadata table")
    for k, entry in enumerate(spec["files"]):
        if entry.get("format") not in FORMATS:
            raise InputError(
                f"{where}.files[{k}].format must be one of {FORMATS}, got {entry.get('format')!r}"
            )
        if ("path" in entry) == ("dataset" in entry):
            raise InputError(f"{where}.files[{k}]: give either path or dataset + role")
        if "dataset" in entry and not entry.get("role"):
            raise InputError(f"{where}.files[{k}]: dataset {entry['dataset']!r} needs a role")
        if not has_column and not entry.get("donor"):
            raise InputError(f"{where}.files[{k}]: no donor (set files[].donor or donor_column)")
