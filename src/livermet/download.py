"""Download external files so that only a complete, verified file ever reaches its final path.

A download streams into ``.<name>.part`` beside the destination, retries with exponential backoff
on connection errors, timeouts and 5xx answers, and resumes with an HTTP ``Range`` (or FTP
``REST``) where the server allows. Before the rename it refuses an HTML page served in place of
data, checks the size against the server's length and any size from GEO's ``filelist.txt`` or the
config, checks a sha256 pinned in config, and test-reads gzip, tar and zip containers. Each
download is recorded (URL, size, sha256, date) in the dataset's ``manifest.tsv``.

Every failure is a :class:`DownloadError`: one line, ``<url>: <reason>``. After a verification
failure the partial file is deleted; after a run of transient failures it is kept, so the next
run resumes instead of starting over.

The second half maps the ``datasets:`` section of the config to URLs (GEO layouts via
:mod:`livermet.geo`) and to local paths under ``resources/raw/<dataset>/``.
"""

from __future__ import annotations

import csv
import fcntl
import ftplib
import gzip
import hashlib
import logging
import os
import re
import tarfile
import time
import zipfile
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlsplit

import requests
import urllib3

from livermet import __version__, geo
from livermet.errors import InputError
from livermet.io import atomic_path

log = logging.getLogger(__name__)

CHUNK_BYTES = 1 << 20
RAW_ROOT = "resources/raw"
STUDY_DATASET = "study"
MANIFEST = "manifest.tsv"
MANIFEST_COLUMNS = ("file", "url", "size", "sha256", "downloaded_at")
URL_SCHEMES = ("http", "https", "ftp")
GEO_KINDS = ("series_matrix", "series_suppl", "sample_suppl", "platform_soft", "rnaseq_counts")


class DownloadError(InputError):
    """A download that failed; the message is one line naming the URL and the reason."""

    def __init__(self, url: str, reason: str):
        super().__init__(f"{url}: {reason}")
        self.url = url
        self.reason = reason


class RetryableError(DownloadError):
    """A failure worth another attempt: no connection, a timeout, a 5xx, a body cut short."""


@dataclass(frozen=True)
class DownloadSettings:
    """Retry, timeout and GEO base-URL settings (``download:`` in the config; all optional).

    ``retries`` counts attempts in all; the wait before attempt n+1 is ``backoff_s * 2**(n-1)``,
    at most ``max_backoff_s``. FTP uses ``read_timeout_s`` for its control and data connections.
    """

    retries: int = 5
    backoff_s: float = 2.0
    max_backoff_s: float = 60.0
    connect_timeout_s: float = 30.0
    read_timeout_s: float = 300.0
    geo_base_url: str = geo.GEO_FTP_BASE
    geo_download_url: str = geo.GEO_DOWNLOAD_BASE

    @classmethod
    def from_config(cls, settings: Mapping | None) -> DownloadSettings:
        """Settings from the config's ``download:`` mapping; unknown keys and bad values fail."""
        settings = dict(settings or {})
        known = {field.name: field for field in fields(cls)}
        unknown = sorted(set(settings) - set(known))
        if unknown:
            raise InputError(
                f"config download: unknown setting {', '.join(unknown)}; known: {', '.join(known)}"
            )
        values = {}
        for name, value in settings.items():
            kind = type(known[name].default)
            try:
                values[name] = kind(value)
            except (TypeError, ValueError) as err:
                raise InputError(
                    f"config download.{name}: {value!r} is not a {kind.__name__}"
                ) from err
        result = cls(**values)
        if result.retries < 1:
            raise InputError("config download.retries must be at least 1")
        return result

    def wait_before_retry(self, failed_attempt: int) -> float:
        """Seconds to wait after the ``failed_attempt``-th attempt (1-based)."""
        return min(self.max_backoff_s, self.backoff_s * 2 ** (failed_attempt - 1))


@dataclass(frozen=True)
class FetchResult:
    """What the manifest records about one completed download."""

    url: str
    path: Path
    size: int
    sha256: str
    downloaded_at: str
    attempts: int


def fetch(
    url: str,
    dest: str | os.PathLike,
    settings: DownloadSettings | None = None,
    *,
    sizes: Mapping[str, int] | None = None,
    sha256: str | None = None,
) -> FetchResult:
    """Download ``url`` to ``dest``, verified; see the module docstring for the guarantees.

    ``sizes`` maps where an expected size comes from (``"filelist.txt"``, ``"config"``) to the
    size in bytes; ``sha256`` is a checksum pinned in config.
    """
    settings = settings or DownloadSettings()
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    partial = _Partial(dest.parent / f".{dest.name}.part")
    try:
        attempts = _transfer_with_retries(url, partial, settings)
        _verify(url, partial, dest.name, sizes or {}, sha256)
    except RetryableError:
        log.warning("keeping %s (%d bytes) to resume on the next run", partial.path, partial.size)
        raise
    except DownloadError:
        partial.discard()
        raise
    except OSError as err:
        partial.discard()
        raise DownloadError(url, f"cannot write {partial.path}: {err}") from err
    os.replace(partial.path, dest)
    result = FetchResult(
        url=url,
        path=dest,
        size=partial.size,
        sha256=partial.sha256,
        downloaded_at=datetime.now(UTC).isoformat(timespec="seconds"),
        attempts=attempts,
    )
    log.info("%s -> %s: %d bytes, sha256 %s", url, dest, result.size, result.sha256)
    return result


def download_file(
    url: str,
    dest: str | os.PathLike,
    manifest: str | os.PathLike,
    settings: DownloadSettings | None = None,
    *,
    sizes: Mapping[str, int] | None = None,
    sha256: str | None = None,
) -> FetchResult:
    """:func:`fetch`, then record the file in ``manifest`` under its path relative to it."""
    result = fetch(url, dest, settings, sizes=sizes, sha256=sha256)
    entry = Path(dest).resolve().relative_to(Path(manifest).resolve().parent).as_posix()
    record_in_manifest(manifest, entry, result)
    return result


# --- transfer -------------------------------------------------------------------------------------


class _Partial:
    """The ``.part`` file with a running sha256, so a resumed file is hashed without a re-read."""

    def __init__(self, path: Path):
        self.path = path
        self._digest = hashlib.sha256()
        self.size = 0
        self._fh = None
        if path.exists():
            with open(path, "rb") as fh:
                for chunk in iter(lambda: fh.read(CHUNK_BYTES), b""):
                    self._digest.update(chunk)
                    self.size += len(chunk)
            log.info("resuming from %d bytes already in %s", self.size, path)

    @property
    def sha256(self) -> str:
        return self._digest.hexdigest()

    def write(self, chunk: bytes) -> None:
        if self._fh is None:
            self._fh = open(self.path, "ab")
        self._fh.write(chunk)
        self._digest.update(chunk)
        self.size += len(chunk)

    def restart(self) -> None:
        """Drop what was received: the server sends the whole file again."""
        self.close()
        self.path.write_bytes(b"")
        self._digest = hashlib.sha256()
        self.size = 0

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None

    def discard(self) -> None:
        self.close()
        self.path.unlink(missing_ok=True)


def _transfer_with_retries(url: str, partial: _Partial, settings: DownloadSettings) -> int:
    """Run attempts until one completes; returns how many it took."""
    scheme = urlsplit(url).scheme
    if scheme not in URL_SCHEMES:
        raise DownloadError(url, f"unsupported scheme {scheme!r}; use {', '.join(URL_SCHEMES)}")
    transfer = _ftp_transfer if scheme == "ftp" else _http_transfer
    attempt = 1
    while True:
        try:
            transfer(url, partial, settings)
            return attempt
        except RetryableError as err:
            if attempt >= settings.retries:
                raise RetryableError(
                    url, f"{err.reason} (gave up after {attempt} attempts)"
                ) from err
            wait = settings.wait_before_retry(attempt)
            log.warning(
                "attempt %d of %d: %s; retrying in %.2f s", attempt, settings.retries, err, wait
            )
            time.sleep(wait)
        finally:
            partial.close()
        attempt += 1


def _http_transfer(url: str, partial: _Partial, settings: DownloadSettings) -> None:
    """One HTTP(S) attempt, resuming from ``partial.size`` with a Range request."""
    offset = partial.size
    headers = {"Accept-Encoding": "identity", "User-Agent": f"livermet/{__version__}"}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    timeout = (settings.connect_timeout_s, settings.read_timeout_s)
    try:
        with requests.get(url, headers=headers, stream=True, timeout=timeout) as response:
            total, body_wanted = _open_http_body(url, response, partial, offset)
            if body_wanted:
                for chunk in response.raw.stream(CHUNK_BYTES, decode_content=False):
                    partial.write(chunk)
    except (
        requests.RequestException,
        urllib3.exceptions.HTTPError,
        ConnectionError,
        TimeoutError,
    ) as err:
        raise RetryableError(url, _describe(err)) from err
    if total is not None and partial.size < total:
        raise RetryableError(url, f"connection closed after {partial.size} of {total} bytes")


def _open_http_body(url: str, response, partial: _Partial, offset: int) -> tuple[int | None, bool]:
    """Judge the status line: the expected full size (if the server says) and whether to read
    the body (not when a 416 confirms that the partial file is already complete)."""
    status = response.status_code
    if status == 416 and offset:
        total = _content_range(response.headers.get("Content-Range", ""))[1]
        if total == offset:
            return total, False
        partial.restart()
        raise RetryableError(url, f"server refused to resume at byte {offset}; starting over")
    if status >= 500 or status in (408, 429):
        raise RetryableError(url, f"HTTP {status} {response.reason}")
    if status >= 400:
        raise DownloadError(url, f"HTTP {status} {response.reason}")
    if status == 206:
        start, total = _content_range(response.headers.get("Content-Range", ""))
        if start != offset:
            partial.restart()
            raise RetryableError(url, f"server resumed at byte {start}, not {offset}")
        return total, True
    if offset:
        log.info("%s: the server ignored the Range request; downloading from the start", url)
        partial.restart()
    length = response.headers.get("Content-Length", "")
    return (int(length) if length.isdigit() else None), True


def _content_range(header: str) -> tuple[int | None, int | None]:
    """``bytes 100-199/200`` -> (100, 200); ``bytes */200`` -> (None, 200); unknown parts None."""
    match = re.match(r"bytes\s+(?:(\d+)-\d+|\*)/(\d+|\*)", header.strip())
    if not match:
        return None, None
    start, total = match.groups()
    return (int(start) if start else None), (int(total) if total and total != "*" else None)


def _ftp_transfer(url: str, partial: _Partial, settings: DownloadSettings) -> None:
    """One FTP attempt, resuming from ``partial.size`` with REST."""
    parts = urlsplit(url)
    path = unquote(parts.path)
    total = None
    try:
        with ftplib.FTP() as ftp:
            ftp.connect(parts.hostname, parts.port or 21, timeout=settings.read_timeout_s)
            ftp.login(unquote(parts.username or "anonymous"), unquote(parts.password or "anon@"))
            ftp.voidcmd("TYPE I")
            total = _ftp_size(ftp, path)
            if total is not None and partial.size > total:
                partial.restart()
            if total is None or partial.size < total:
                ftp.retrbinary(
                    f"RETR {path}", partial.write, blocksize=CHUNK_BYTES, rest=partial.size or None
                )
    except ftplib.error_perm as err:
        raise DownloadError(url, f"FTP {err}") from err
    except (ftplib.Error, EOFError, ConnectionError, TimeoutError) as err:
        raise RetryableError(url, f"FTP {_describe(err)}") from err
    if total is not None and partial.size < total:
        raise RetryableError(url, f"connection closed after {partial.size} of {total} bytes")


def _ftp_size(ftp: ftplib.FTP, path: str) -> int | None:
    """The file's size by the SIZE command, or None where the server does not answer it."""
    try:
        return ftp.size(path)
    except ftplib.error_perm:
        return None


def _describe(err: BaseException) -> str:
    """A short one-line reason: the exception type and its message, without nested reprs."""
    text = " ".join(str(err).split())
    return f"{type(err).__name__}: {text}" if text else type(err).__name__


# --- verification ---------------------------------------------------------------------------------


def _verify(
    url: str, partial: _Partial, name: str, sizes: Mapping[str, int], sha256: str | None
) -> None:
    if partial.size == 0:
        raise DownloadError(url, "the server sent an empty file")
    _refuse_html(url, partial.path, name)
    for origin, expected in sizes.items():
        if partial.size != expected:
            raise DownloadError(
                url, f"size {partial.size} bytes differs from {expected} bytes in {origin}"
            )
    if sha256 and partial.sha256 != sha256.lower():
        raise DownloadError(
            url, f"sha256 {partial.sha256} differs from the one pinned in config ({sha256})"
        )
    check_integrity(url, partial.path, name)


def _refuse_html(url: str, path: Path, name: str) -> None:
    """Portals answer a missing file or an expired link with an HTML page and status 200."""
    if name.lower().endswith((".html", ".htm")):
        return
    with open(path, "rb") as fh:
        head = fh.read(1024).lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith((b"<!doctype html", b"<html", b"<head", b"<body")):
        raise DownloadError(url, "the server sent an HTML page instead of the data file")


def check_integrity(url: str, path: Path, name: str) -> None:
    """Read gzip streams to their end (CRC and length are checked there), walk tar archives and
    test zip archives (``.xlsx`` included), as the file's name says it is one of these."""
    lower = name.lower()
    if lower.endswith((".gz", ".tgz")):
        _check_gzip(url, path)
    if lower.endswith((".tar", ".tar.gz", ".tgz")):
        _check_tar(url, path)
    if lower.endswith((".zip", ".xlsx")):
        _check_zip(url, path)


def _check_gzip(url: str, path: Path) -> None:
    with open(path, "rb") as fh:
        if fh.read(2) != b"\x1f\x8b":
            raise DownloadError(url, "the file is named .gz but is not gzip data")
    try:
        with gzip.open(path, "rb") as fh:
            while fh.read(CHUNK_BYTES):
                pass
    except (OSError, EOFError, zlib.error) as err:
        raise DownloadError(url, f"corrupt gzip data ({_describe(err)})") from err


def _check_tar(url: str, path: Path) -> None:
    try:
        with tarfile.open(path, "r:*") as archive:
            for member in archive:
                if member.isfile():
                    with archive.extractfile(member) as fh:
                        while fh.read(CHUNK_BYTES):
                            pass
    except (tarfile.TarError, OSError, EOFError, zlib.error) as err:
        raise DownloadError(url, f"corrupt tar archive ({_describe(err)})") from err


def _check_zip(url: str, path: Path) -> None:
    try:
        with zipfile.ZipFile(path) as archive:
            bad = archive.testzip()
    except (zipfile.BadZipFile, OSError, EOFError, zlib.error) as err:
        raise DownloadError(url, f"corrupt zip archive ({_describe(err)})") from err
    if bad is not None:
        raise DownloadError(url, f"corrupt zip archive (bad member {bad})")


# --- manifest -------------------------------------------------------------------------------------


def record_in_manifest(manifest: str | os.PathLike, entry: str, result: FetchResult) -> None:
    """Add or replace ``entry``'s row in the manifest TSV.

    Download jobs of one dataset run in parallel and share the file, so the read-modify-write
    happens under an exclusive lock, and the new table replaces the old one atomically.
    """
    manifest = Path(manifest)
    manifest.parent.mkdir(parents=True, exist_ok=True)
    with open(manifest.parent / f".{manifest.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        rows = {row["file"]: row for row in read_manifest(manifest)}
        rows[entry] = {
            "file": entry,
            "url": result.url,
            "size": str(result.size),
            "sha256": result.sha256,
            "downloaded_at": result.downloaded_at,
        }
        with atomic_path(manifest) as tmp, open(tmp, "w", newline="") as fh:
            writer = csv.DictWriter(fh, MANIFEST_COLUMNS, delimiter="\t", lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows[name] for name in sorted(rows))


def read_manifest(manifest: str | os.PathLike) -> list[dict[str, str]]:
    """The manifest's rows (none if it does not exist yet)."""
    manifest = Path(manifest)
    if not manifest.exists():
        return []
    with open(manifest, newline="") as fh:
        return list(csv.DictReader(fh, delimiter="\t"))


# --- datasets in the config -----------------------------------------------------------------------


@dataclass(frozen=True)
class Source:
    """Where one file of a dataset comes from and what it must match."""

    url: str
    sha256: str | None = None
    size: int | None = None
    check_filelist: bool = False


def dataset_entry(datasets: Mapping | None, dataset: str) -> Mapping:
    """The config entry of ``dataset``; fails naming what is missing."""
    if not datasets:
        raise InputError(
            f"dataset {dataset!r} is needed but the config has no 'datasets' section "
            "(run with --configfile config/paper.yaml)"
        )
    if dataset not in datasets:
        raise InputError(f"config datasets has no {dataset!r}; known: {', '.join(datasets)}")
    return datasets[dataset]


def require(datasets: Mapping | None, dataset: str, *keys: str):
    """A setting of a dataset that must be filled in before the dataset can be used.

    Placeholders in ``config/paper.yaml`` are ``null``; the error names the missing field and
    repeats the entry's ``todo`` note, and is raised only when a target needs the dataset.
    """
    value = dataset_entry(datasets, dataset)
    field = f"datasets.{dataset}"
    for key in keys:
        field += f".{key}"
        value = value.get(key) if isinstance(value, Mapping) else None
        if value is None or value == "":
            todo = dataset_entry(datasets, dataset).get("todo")
            raise InputError(f"config {field} is not set" + (f": {todo}" if todo else ""))
    return value


def raw_path(datasets: Mapping | None, dataset: str, role: str, root: str = RAW_ROOT) -> str:
    """Local path of a dataset's file (``files.<role>`` in the config): what rules take as input."""
    return f"{root}/{dataset}/{require(datasets, dataset, 'files', role, 'name')}"


def resolve_source(
    datasets: Mapping | None, dataset: str, filename: str, settings: DownloadSettings
) -> Source:
    """The :class:`Source` of ``resources/raw/<dataset>/<filename>``.

    A dataset with a series ``accession`` also offers the series' ``filelist.txt``, against which
    files marked ``check_filelist`` are size-checked.
    """
    entry = dataset_entry(datasets, dataset)
    if filename == geo.FILELIST and entry.get("accession"):
        gse = require(datasets, dataset, "accession")
        return Source(url=geo.series_suppl_url(gse, geo.FILELIST, settings.geo_base_url))
    role = _role_of(entry, dataset, filename)
    spec = entry["files"][role]
    if spec.get("check_filelist"):
        require(datasets, dataset, "accession")
    return Source(
        url=_file_url(datasets, dataset, role, filename, settings),
        sha256=spec.get("sha256"),
        size=spec.get("size"),
        check_filelist=bool(spec.get("check_filelist")),
    )


def _role_of(entry: Mapping, dataset: str, filename: str) -> str:
    files = entry.get("files") or {}
    for role, spec in files.items():
        if (spec or {}).get("name") == filename:
            return role
    named = ", ".join(str((spec or {}).get("name")) for spec in files.values())
    raise InputError(
        f"{RAW_ROOT}/{dataset}/{filename}: no file of that name in config "
        f"datasets.{dataset}.files (named: {named or 'none'})"
    )


def _file_url(
    datasets: Mapping, dataset: str, role: str, filename: str, settings: DownloadSettings
) -> str:
    spec = datasets[dataset]["files"][role]
    field = f"datasets.{dataset}.files.{role}"
    if "url" in spec:
        url = require(datasets, dataset, "files", role, "url")
        if urlsplit(url).scheme not in URL_SCHEMES:
            raise InputError(f"config {field}.url: {url!r} is not an http, https or ftp URL")
        return url
    if "geo" not in spec:
        raise InputError(f"config {field}: set 'url' or 'geo' ({', '.join(GEO_KINDS)})")
    kind = require(datasets, dataset, "files", role, "geo")
    if kind == "sample_suppl":
        return geo.sample_suppl_url(geo.gsm_of_filename(filename), filename, settings.geo_base_url)
    if kind == "platform_soft":
        match = re.fullmatch(r"(GPL\d+)_family\.soft\.gz", filename)
        if not match:
            raise InputError(f"config {field}.name: a platform SOFT is named GPL<n>_family.soft.gz")
        return geo.platform_soft_url(match.group(1), settings.geo_base_url)
    gse = require(datasets, dataset, "accession")
    if kind == "series_matrix":
        if not re.fullmatch(rf"{gse}(-GPL\d+)?_series_matrix\.txt\.gz", filename):
            raise InputError(
                f"config {field}.name: expected {geo.series_matrix_name(gse)} "
                f"or {gse}-GPL<n>_series_matrix.txt.gz"
            )
        return geo.series_url(gse, settings.geo_base_url) + "matrix/" + filename
    if kind == "series_suppl":
        return geo.series_suppl_url(gse, filename, settings.geo_base_url)
    if kind == "rnaseq_counts":
        return geo.rnaseq_counts_url(gse, filename, settings.geo_download_url)
    raise InputError(f"config {field}.geo: {kind!r} is not one of {', '.join(GEO_KINDS)}")


# --- the study's own samples ----------------------------------------------------------------------


def is_url(path: object) -> bool:
    """Whether a samples-sheet ``path`` is a URL to download rather than a local path."""
    return isinstance(path, str) and urlsplit(path).scheme in URL_SCHEMES


def study_local_path(sample: str, path: str, root: str = RAW_ROOT) -> str:
    """Local path of a samples-sheet input: itself, or for a URL where its download lands,
    ``resources/raw/study/<sample>/<file name of the URL>``."""
    if not is_url(path):
        return path
    url_path = urlsplit(path).path
    basename = "" if url_path.endswith("/") else unquote(PurePosixPath(url_path).name)
    if not basename:
        raise InputError(f"samples sheet, sample {sample}: URL {path} does not end in a file name")
    return f"{root}/{STUDY_DATASET}/{sample}/{basename}"


def study_source(sheet: str | os.PathLike, sample: str, basename: str) -> Source:
    """The :class:`Source` of ``resources/raw/study/<sample>/<basename>``: the samples-sheet row
    of ``sample`` (columns ``sample``, ``path`` and optionally ``sha256``; TSV, or CSV by name)."""
    sheet = Path(sheet)
    if not sheet.exists():
        raise InputError(f"{sheet}: samples sheet not found")
    with open(sheet, newline="") as fh:
        rows = list(csv.DictReader(fh, delimiter="," if sheet.suffix == ".csv" else "\t"))
    row = next((row for row in rows if row.get("sample") == sample), None)
    if row is None:
        raise InputError(f"{sheet}: no sample {sample!r} (needs columns 'sample' and 'path')")
    path = row.get("path") or ""
    if not is_url(path) or study_local_path(sample, path).rsplit("/", 1)[1] != basename:
        raise InputError(
            f"{sheet}: sample {sample}: path {path!r} is not a URL ending in {basename}"
        )
    return Source(url=path, sha256=row.get("sha256") or None)
