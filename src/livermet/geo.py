"""NCBI GEO: where its files live, and readers for the series matrix, platform SOFT and filelist.

GEO groups accessions into folders by their leading digits (``GSE159216`` lives in ``GSE159nnn``,
``GSE1`` in ``GSEnnn``); every URL here is built from that rule and a configurable base, so tests
can serve the same layout from 127.0.0.1.
"""

from __future__ import annotations

import csv
import io
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlencode

import pandas as pd

from livermet.errors import InputError
from livermet.io import open_text

log = logging.getLogger(__name__)

GEO_FTP_BASE = "https://ftp.ncbi.nlm.nih.gov/geo"
GEO_DOWNLOAD_BASE = "https://www.ncbi.nlm.nih.gov/geo/download/"
FILELIST = "filelist.txt"

_ACCESSION = re.compile(r"^(GSE|GSM|GPL)(\d+)$")
_FOLDER = {"GSE": "series", "GSM": "samples", "GPL": "platforms"}


# --- URLs -----------------------------------------------------------------------------------------


def accession_stem(accession: str) -> str:
    """The folder GEO files an accession under: its digits but the last three replaced by 'nnn'."""
    prefix, digits = _split_accession(accession)
    return f"{prefix}{digits[:-3]}nnn"


def accession_folder_url(accession: str, base: str = GEO_FTP_BASE) -> str:
    """Folder of a series, sample or platform, e.g. ``.../series/GSE159nnn/GSE159216/``."""
    prefix, _ = _split_accession(accession)
    return f"{base.rstrip('/')}/{_FOLDER[prefix]}/{accession_stem(accession)}/{accession}/"


def series_url(gse: str, base: str = GEO_FTP_BASE) -> str:
    """Folder of a series (``GSE...``)."""
    _require_prefix(gse, "GSE")
    return accession_folder_url(gse, base)


def series_matrix_name(gse: str, platform: str | None = None) -> str:
    """``GSE_series_matrix.txt.gz``, or ``GSE-GPL_series_matrix.txt.gz`` for one platform of a
    series that spans several (GEO then writes one matrix per platform)."""
    _require_prefix(gse, "GSE")
    if platform is None:
        return f"{gse}_series_matrix.txt.gz"
    _require_prefix(platform, "GPL")
    return f"{gse}-{platform}_series_matrix.txt.gz"


def series_matrix_url(gse: str, platform: str | None = None, base: str = GEO_FTP_BASE) -> str:
    """URL of a series matrix (see :func:`series_matrix_name`)."""
    return series_url(gse, base) + "matrix/" + series_matrix_name(gse, platform)


def series_suppl_url(gse: str, filename: str, base: str = GEO_FTP_BASE) -> str:
    """URL of a series supplementary file (``suppl/``), ``filelist.txt`` included."""
    return series_url(gse, base) + "suppl/" + quote(filename)


def sample_suppl_url(gsm: str, filename: str, base: str = GEO_FTP_BASE) -> str:
    """URL of a per-sample supplementary file, ``samples/GSMnnn/GSM.../suppl/<file>``."""
    _require_prefix(gsm, "GSM")
    return accession_folder_url(gsm, base) + "suppl/" + quote(filename)


def platform_soft_name(gpl: str) -> str:
    """``GPL_family.soft.gz``: the platform's SOFT file, which carries its annotation table."""
    _require_prefix(gpl, "GPL")
    return f"{gpl}_family.soft.gz"


def platform_soft_url(gpl: str, base: str = GEO_FTP_BASE) -> str:
    """URL of a platform's SOFT annotation: ``platforms/GPLnnn/GPL.../soft/..._family.soft.gz``."""
    return accession_folder_url(gpl, base) + "soft/" + platform_soft_name(gpl)


def rnaseq_counts_url(gse: str, filename: str, base: str = GEO_DOWNLOAD_BASE) -> str:
    """NCBI-generated RNA-seq counts of a series (e.g. ``GSE..._raw_counts_GRCm39_NCBI.tsv.gz``),
    served by GEO's download CGI rather than the FTP tree."""
    _require_prefix(gse, "GSE")
    query = urlencode({"type": "rnaseq_counts", "acc": gse, "format": "file", "file": filename})
    return f"{base}?{query}"


def gsm_of_filename(filename: str) -> str:
    """The GSM a per-sample file belongs to: GEO names each one ``GSM<digits>_<original name>``."""
    match = re.match(r"^(GSM\d+)_", filename)
    if not match:
        raise InputError(f"{filename}: a GEO per-sample file name starts with 'GSM<digits>_'")
    return match.group(1)


def _split_accession(accession: str) -> tuple[str, str]:
    match = _ACCESSION.match(accession or "")
    if not match:
        raise InputError(f"{accession!r} is not a GEO accession (GSE..., GSM... or GPL...)")
    return match.group(1), match.group(2)


def _require_prefix(accession: str, prefix: str) -> None:
    if _split_accession(accession)[0] != prefix:
        raise InputError(f"{accession!r}: expected a {prefix} accession")


# --- filelist.txt ---------------------------------------------------------------------------------


def read_filelist(path: str | Path) -> dict[str, int]:
    """Sizes in bytes by file name from a GEO ``filelist.txt``.

    The file describes a series' ``_RAW.tar`` (the ``Archive`` row) and its members (``File``
    rows); the members are the per-sample supplementary files, so both can be checked against it.
    """
    path = Path(path)
    with open(path, encoding="utf-8", errors="replace", newline="") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    if not rows or not {"Name", "Size"} <= set(rows[0]):
        raise InputError(f"{path}: not a GEO filelist.txt (no 'Name' and 'Size' columns)")
    try:
        return {row["Name"]: int(row["Size"]) for row in rows}
    except (TypeError, ValueError) as err:
        raise InputError(f"{path}: a 'Size' in filelist.txt is not an integer: {err}") from err


# --- series matrix --------------------------------------------------------------------------------


@dataclass(frozen=True)
class SeriesMatrix:
    """A parsed series matrix: per-sample fields and the data table (probes x samples)."""

    accession: str
    clinical: pd.DataFrame
    expression: pd.DataFrame


def read_series_matrix(path: str | Path) -> SeriesMatrix:
    """Read a ``*_series_matrix.txt[.gz]``.

    ``clinical`` has one row per GSM (index ``gsm``) with ``title``, ``source_name``, ``platform``
    and one column per ``key: value`` sample characteristic, numeric where every value is.
    ``expression`` is the table between ``!series_matrix_table_begin`` and ``_end`` (float,
    probes x GSM), whose columns must be the samples in header order; it has no rows for
    RNA-seq series, whose data are supplementary files.
    """
    path = Path(path)
    series: dict[str, list[str]] = {}
    samples: dict[str, list[list[str]]] = {}
    with open_text(path, newline="") as fh:
        line = fh.readline()
        while line and not line.startswith("!series_matrix_table_begin"):
            _collect_header_line(line, series, samples)
            line = fh.readline()
        if not line:
            raise InputError(f"{path}: no !series_matrix_table_begin line; not a series matrix")
        table = _read_table_block(fh, "!series_matrix_table_end", path, text_only=False)
    clinical = _clinical_table(samples, path)
    expression = _expression_table(table, list(clinical.index), path)
    accession = (series.get("!Series_geo_accession") or [""])[0]
    log.info(
        "%s: %s, %d samples, %d clinical fields, %d rows in the data table",
        path,
        accession,
        len(clinical),
        clinical.shape[1],
        len(expression),
    )
    return SeriesMatrix(accession=accession, clinical=clinical, expression=expression)


def _collect_header_line(line: str, series: dict, samples: dict) -> None:
    fields = next(csv.reader([line.rstrip("\r\n")], delimiter="\t"))
    if not fields:
        return
    key, values = fields[0], fields[1:]
    if key.startswith("!Series_"):
        series.setdefault(key, []).extend(values)
    elif key.startswith("!Sample_"):
        samples.setdefault(key, []).append(values)


def _clinical_table(samples: dict[str, list[list[str]]], path: Path) -> pd.DataFrame:
    if "!Sample_geo_accession" not in samples:
        raise InputError(f"{path}: no !Sample_geo_accession line")
    gsms = samples["!Sample_geo_accession"][0]
    columns = {
        "title": "!Sample_title",
        "source_name": "!Sample_source_name_ch1",
        "platform": "!Sample_platform_id",
    }
    table = {name: _one_row(samples, key, len(gsms), path) for name, key in columns.items()}
    for row in samples.get("!Sample_characteristics_ch1", []):
        _check_width(row, len(gsms), "!Sample_characteristics_ch1", path)
        for gsm_index, cell in enumerate(row):
            _add_characteristic(table, cell, gsm_index, gsms, path)
    frame = pd.DataFrame(table, index=pd.Index(gsms, name="gsm"))
    return frame.apply(_numeric_if_all_numeric)


def _one_row(samples: dict, key: str, n_samples: int, path: Path) -> list:
    rows = samples.get(key)
    if not rows:
        return [None] * n_samples
    _check_width(rows[0], n_samples, key, path)
    return rows[0]


def _check_width(row: list[str], n_samples: int, key: str, path: Path) -> None:
    if len(row) != n_samples:
        raise InputError(f"{path}: {key} has {len(row)} values for {n_samples} samples")


def _add_characteristic(table: dict, cell: str, gsm_index: int, gsms: list, path: Path) -> None:
    """GEO aligns characteristics by position, so one line can hold different keys for different
    samples: each cell is filed under its own key."""
    if not cell.strip():
        return
    key, sep, value = cell.partition(": ")
    if not sep:
        key, value = "characteristics_ch1", cell
    column = table.setdefault(key.strip(), [None] * len(gsms))
    if column[gsm_index] is not None:
        log.warning("%s: %s has two values for %r; keeping both", path, gsms[gsm_index], key)
        value = f"{column[gsm_index]}; {value}"
    column[gsm_index] = value.strip()


def _numeric_if_all_numeric(column: pd.Series) -> pd.Series:
    """Survival times and statuses become numbers; a column with any text stays text."""
    present = column.dropna()
    present = present[present.astype(str).str.upper() != "NA"]
    numbers = pd.to_numeric(present, errors="coerce")
    if present.empty or numbers.isna().any():
        return column
    return pd.to_numeric(column.where(column.astype(str).str.upper() != "NA"), errors="coerce")


def _expression_table(table: pd.DataFrame, gsms: list[str], path: Path) -> pd.DataFrame:
    if list(table.columns) != gsms:
        raise InputError(f"{path}: data table columns do not match the !Sample_geo_accession list")
    table.index.name = "ID_REF"
    if table.empty:
        log.info("%s: the data table has no rows (as for RNA-seq series)", path)
        return table.astype(float)
    if table.index.duplicated().any():
        raise InputError(f"{path}: duplicate ID_REF {table.index[table.index.duplicated()][0]}")
    for gsm in table.columns:
        if not pd.api.types.is_numeric_dtype(table[gsm]):
            numbers = pd.to_numeric(table[gsm], errors="coerce")
            probe = (numbers.isna() & table[gsm].notna()).idxmax()
            raise InputError(
                f"{path}: non-numeric value {table.at[probe, gsm]!r} at ID_REF {probe}, {gsm}"
            )
    return table.astype(float)


# --- platform annotation --------------------------------------------------------------------------


def read_platform_table(path: str | Path) -> pd.DataFrame:
    """The annotation table of a platform SOFT file (``!platform_table_begin`` .. ``_end``), as
    strings indexed by probe ``ID``. Reading stops at the end marker: a family file may go on
    with other records."""
    path = Path(path)
    with open_text(path, newline="") as fh:
        line = fh.readline()
        while line and not line.startswith("!platform_table_begin"):
            line = fh.readline()
        if not line:
            raise InputError(f"{path}: no !platform_table_begin line; not a GEO platform SOFT file")
        table = _read_table_block(fh, "!platform_table_end", path, text_only=True)
    table.index = table.index.astype(str)
    return table


def symbols_from_gene_assignment(assignment: object) -> list[str]:
    """Gene symbols of an Affymetrix ``gene_assignment`` value, distinct, in order.

    The value lists transcripts separated by `` /// ``; each is ``accession // symbol // name //
    ...``, so the symbol is the second `` // `` field. ``---`` means no assignment.
    """
    if not isinstance(assignment, str):
        return []
    symbols: list[str] = []
    for transcript in assignment.split(" /// "):
        fields = transcript.split(" // ")
        symbol = fields[1].strip() if len(fields) > 1 else ""
        if symbol and symbol != "---" and symbol not in symbols:
            symbols.append(symbol)
    return symbols


def probe_to_gene(platform: pd.DataFrame, column: str = "gene_assignment") -> pd.Series:
    """Gene symbol of each probe whose assignment names exactly one gene.

    Probes that name several genes (read-through and overlapping transcripts) are left out rather
    than credited to the first: their signal cannot be given to one gene.
    """
    if column not in platform.columns:
        raise InputError(f"platform table has no {column!r} column ({', '.join(platform.columns)})")
    symbols = platform[column].map(symbols_from_gene_assignment)
    unique = symbols[symbols.map(len) == 1].map(lambda names: names[0])
    log.info(
        "%d probes: %d map to one gene, %d to several (dropped), %d to none",
        len(symbols),
        len(unique),
        int((symbols.map(len) > 1).sum()),
        int((symbols.map(len) == 0).sum()),
    )
    return unique.rename("gene")


def collapse_to_genes(expression: pd.DataFrame, genes: pd.Series) -> pd.DataFrame:
    """Genes x samples, keeping for each gene its probe with the largest variance across samples.

    Max-variance rather than the mean: the mean of a responsive and a dead probe halves the
    signal, while the most variable probe is the one that measured the gene; it is also what a
    single-probe-per-gene method (e.g. WGCNA ``collapseRows`` ``maxRowVariance``) reports. Ties go
    to the probe listed first, so the choice is deterministic.
    """
    mapped = expression.loc[expression.index.intersection(genes.index, sort=False)]
    if mapped.empty:
        raise InputError("no probe of the expression table has a gene in the platform annotation")
    ranking = pd.DataFrame(
        {
            "gene": genes.loc[mapped.index],
            "variance": mapped.var(axis=1),
            "order": range(len(mapped)),
        }
    )
    chosen = ranking.sort_values(
        ["gene", "variance", "order"], ascending=[True, False, True], na_position="last"
    ).drop_duplicates("gene")
    collapsed = mapped.loc[chosen.index]
    collapsed.index = pd.Index(chosen["gene"], name="gene")
    return collapsed


# --- per-patient selection ------------------------------------------------------------------------


def one_sample_per_patient(clinical: pd.DataFrame, patient_field: str) -> pd.DataFrame:
    """Keep one sample per patient: the one with the lowest GSM number; rows come out in GSM order.

    Several metastases of one patient share one survival record; counting each would weight
    patients by their number of lesions. The lowest GSM is a rule anyone can repeat. A sample
    without a patient id is treated as its own patient.
    """
    if patient_field not in clinical.columns:
        raise InputError(
            f"no clinical field {patient_field!r}; fields are: {', '.join(clinical.columns)}"
        )
    numbers = pd.to_numeric(clinical.index.str.removeprefix("GSM"), errors="coerce")
    if numbers.isna().any():
        raise InputError("clinical table index must be GSM accessions to pick one per patient")
    ordered = clinical.iloc[numbers.argsort(kind="stable")]
    patient = ordered[patient_field].astype(object)
    patient = patient.where(patient.notna(), ordered.index.to_series())
    return ordered[~patient.duplicated().to_numpy()]


# --- shared ---------------------------------------------------------------------------------------


def _read_table_block(fh, end_marker: str, path: Path, text_only: bool) -> pd.DataFrame:
    """Read tab-separated lines up to ``end_marker``; a missing marker means a truncated file.

    The first column (probe IDs) is always text, so ``001`` stays ``001``. ``text_only`` reads
    every column as text without quote handling: SOFT annotation values are unquoted and may
    contain stray quote characters.
    """
    lines = []
    for line in iter(fh.readline, ""):
        if line.startswith(end_marker):
            break
        lines.append(line)
    else:
        raise InputError(f"{path}: no {end_marker} line; the file is truncated")
    if not lines:
        raise InputError(f"{path}: the table before {end_marker} has no header line")
    id_column = lines[0].split("\t", 1)[0].strip().strip('"')
    try:
        return pd.read_csv(
            io.StringIO("".join(lines)),
            sep="\t",
            index_col=0,
            quoting=csv.QUOTE_NONE if text_only else csv.QUOTE_MINIMAL,
            dtype=str if text_only else {id_column: str},
        )
    except (ValueError, pd.errors.ParserError) as err:
        raise InputError(f"{path}: cannot parse the table before {end_marker}: {err}") from err
