"""Download layer against loopback servers: recovery, refusal with one-line errors, manifest,
config resolution, and the real snakemake on workflow/rules/download.smk."""

import gzip
import hashlib
import io
import subprocess
import sys
import tarfile
import threading
from datetime import datetime
from pathlib import Path

import pytest
import yaml
from geo_server import FileServer, FtpServer
from snakemake.utils import validate

from livermet import download, geo
from livermet.download import DownloadError, DownloadSettings, RetryableError, fetch
from livermet.errors import InputError
from livermet.tables import read_count_table

REPO = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).parent / "fixtures" / "geo"
SCHEMA = REPO / "config" / "schemas" / "datasets.schema.yaml"
PAPER = REPO / "config" / "paper.yaml"

MATRIX = "geo/series/GSEnnn/GSE999/matrix/GSE999_series_matrix.txt.gz"
PLATFORM = "geo/platforms/GPL17nnn/GPL17586/soft/GPL17586_family.soft.gz"
RAW_TAR = "geo/series/GSEnnn/GSE999/suppl/GSE999_RAW.tar"
FILELIST = "geo/series/GSEnnn/GSE999/suppl/filelist.txt"
DGE_NAME = "GSM101_Mini-Liver1_dge.txt.gz"
SAMPLE_DGE = f"geo/samples/GSMnnn/GSM101/suppl/{DGE_NAME}"


def gz(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def tar_of(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def publish_geo_series(server) -> dict[str, bytes]:
    """A GSE999 laid out like GEO: series matrix, platform SOFT, sample file, RAW.tar, filelist."""
    dge = gz((FIXTURES / "GSM4000001_Mini-Liver1_dge.txt").read_bytes())
    other = gz(b"GENE\tAAAA\nS100A9\t3\n")
    raw_tar = tar_of({DGE_NAME: dge, "GSM102_Mini-Liver2_dge.txt.gz": other})
    filelist = (
        "#Archive/File\tName\tTime\tSize\tType\n"
        f"Archive\tGSE999_RAW.tar\t10/10/2020 10:00:00\t{len(raw_tar)}\tTAR\n"
        f"File\t{DGE_NAME}\t10/10/2020 10:00:00\t{len(dge)}\tTXT\n"
        f"File\tGSM102_Mini-Liver2_dge.txt.gz\t10/10/2020 10:00:00\t{len(other)}\tTXT\n"
    ).encode()
    files = {
        MATRIX: gz((FIXTURES / "GSE999_series_matrix.txt").read_bytes()),
        PLATFORM: gz((FIXTURES / "GPL17586_excerpt.soft").read_bytes()),
        SAMPLE_DGE: dge,
        RAW_TAR: raw_tar,
        FILELIST: filelist,
    }
    for relpath, data in files.items():
        server.add_file(relpath, data)
    return files


@pytest.fixture
def server(tmp_path):
    with FileServer(tmp_path / "served") as srv:
        yield srv


@pytest.fixture
def files(server):
    return publish_geo_series(server)


def fast_settings(server, read_timeout_s: float = 10) -> DownloadSettings:
    """Quick retries; the read timeout is long but where a test makes the server stall, so that a
    busy machine never turns a slow answer into an extra attempt."""
    return DownloadSettings(
        retries=3,
        backoff_s=0.01,
        max_backoff_s=0.05,
        connect_timeout_s=10,
        read_timeout_s=read_timeout_s,
        geo_base_url=f"{server.url}/geo",
        geo_download_url=f"{server.url}/geo/download/",
    )


def part_of(dest: Path) -> Path:
    return dest.parent / f".{dest.name}.part"


def assert_refused(call, url: str, dest: Path, match: str, keeps_partial: bool = False):
    """The failure is one line starting with the URL; nothing is at the final path."""
    with pytest.raises(DownloadError, match=match) as info:
        call()
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"{url}: ")
    assert not dest.exists()
    assert part_of(dest).exists() == keeps_partial
    return info.value


# --- recovery -------------------------------------------------------------------------------------


def test_fetch_writes_the_file_and_records_it_in_the_manifest(server, files, tmp_path):
    url = f"{server.url}/{MATRIX}"
    dest = tmp_path / "raw" / "GSE999" / "GSE999_series_matrix.txt.gz"
    manifest = dest.parent / "manifest.tsv"
    result = download.download_file(url, dest, manifest, fast_settings(server))
    assert dest.read_bytes() == files[MATRIX]
    assert not part_of(dest).exists()
    assert result.attempts == 1
    (row,) = download.read_manifest(manifest)
    assert row["file"] == "GSE999_series_matrix.txt.gz"
    assert row["url"] == url
    assert int(row["size"]) == len(files[MATRIX])
    assert row["sha256"] == sha256(files[MATRIX])
    assert datetime.fromisoformat(row["downloaded_at"]).tzinfo is not None
    assert geo.read_series_matrix(dest).expression.shape == (7, 4)


def test_truncated_body_is_resumed_with_a_range_request(server, files, tmp_path):
    server.fail(MATRIX, "truncate")
    dest = tmp_path / "m.txt.gz"
    result = fetch(f"{server.url}/{MATRIX}", dest, fast_settings(server))
    assert dest.read_bytes() == files[MATRIX]
    assert result.sha256 == sha256(files[MATRIX])
    first, second = server.requests_for(MATRIX)
    assert first.range is None
    assert second.range == f"bytes={len(files[MATRIX]) // 2}-"
    assert second.status == 206


def test_server_error_then_success_is_retried(server, files, tmp_path):
    server.fail(MATRIX, "500", "500")
    dest = tmp_path / "m.txt.gz"
    result = fetch(f"{server.url}/{MATRIX}", dest, fast_settings(server))
    assert result.attempts == 3
    assert dest.read_bytes() == files[MATRIX]


def test_timeout_then_success_is_retried(server, files, tmp_path):
    server.stall_s = 2.0
    server.fail(MATRIX, "stall")
    dest = tmp_path / "m.txt.gz"
    result = fetch(f"{server.url}/{MATRIX}", dest, fast_settings(server, read_timeout_s=0.5))
    assert result.attempts >= 2
    assert dest.read_bytes() == files[MATRIX]


def test_persistent_failure_keeps_the_partial_file_and_the_next_run_resumes(
    server, files, tmp_path
):
    url = f"{server.url}/{MATRIX}"
    dest = tmp_path / "m.txt.gz"
    server.fail(MATRIX, "truncate", "500", "500")
    error = assert_refused(
        lambda: fetch(url, dest, fast_settings(server)),
        url,
        dest,
        "HTTP 500 Internal Server Error \\(gave up after 3 attempts\\)",
        keeps_partial=True,
    )
    assert isinstance(error, RetryableError)
    assert part_of(dest).stat().st_size == len(files[MATRIX]) // 2
    fetch(url, dest, fast_settings(server))
    assert dest.read_bytes() == files[MATRIX]
    assert server.requests_for(MATRIX)[-1].range == f"bytes={len(files[MATRIX]) // 2}-"


def test_server_ignoring_range_restarts_from_the_first_byte(server, files, tmp_path):
    dest = tmp_path / "m.txt.gz"
    part_of(dest).write_bytes(b"stale bytes from another version of the file")
    server.fail(MATRIX, "ignore_range")
    result = fetch(f"{server.url}/{MATRIX}", dest, fast_settings(server))
    assert dest.read_bytes() == files[MATRIX]
    assert result.sha256 == sha256(files[MATRIX])


def test_complete_partial_file_is_accepted_when_the_server_answers_416(server, files, tmp_path):
    dest = tmp_path / "m.txt.gz"
    part_of(dest).write_bytes(files[MATRIX])
    result = fetch(f"{server.url}/{MATRIX}", dest, fast_settings(server))
    assert dest.read_bytes() == files[MATRIX]
    assert result.sha256 == sha256(files[MATRIX])
    assert [request.status for request in server.requests_for(MATRIX)] == [416]


def test_tar_archive_and_platform_soft_are_verified_and_kept(server, files, tmp_path):
    for relpath in (RAW_TAR, PLATFORM):
        dest = tmp_path / Path(relpath).name
        fetch(f"{server.url}/{relpath}", dest, fast_settings(server))
        assert dest.read_bytes() == files[relpath]


def test_ncbi_rnaseq_counts_come_through_the_download_cgi(server, tmp_path):
    name = "GSE999_raw_counts_GRCm39_NCBI.tsv.gz"
    server.add_file(f"geo/download/GSE999/{name}", gz(b"GeneID\tGSM101\tGSM102\n12\t5\t0\n"))
    settings = fast_settings(server)
    source = download.resolve_source(DATASETS, "GSE999", name, settings)
    fetch(source.url, tmp_path / name, settings)
    assert read_count_table(tmp_path / name).loc["12"].tolist() == [5, 0]


# --- refusal --------------------------------------------------------------------------------------


def test_404_fails_at_once(server, files, tmp_path):
    url = f"{server.url}/geo/series/GSEnnn/GSE999/suppl/absent.txt.gz"
    dest = tmp_path / "absent.txt.gz"
    assert_refused(lambda: fetch(url, dest, fast_settings(server)), url, dest, "HTTP 404")
    assert len(server.requests_for("geo/series/GSEnnn/GSE999/suppl/absent.txt.gz")) == 1


def test_html_page_served_with_status_200_is_refused(server, files, tmp_path):
    server.fail(MATRIX, "html")
    url = f"{server.url}/{MATRIX}"
    dest = tmp_path / "m.txt.gz"
    assert_refused(lambda: fetch(url, dest, fast_settings(server)), url, dest, "HTML page")


def test_size_differing_from_filelist_is_refused(server, files, tmp_path):
    listed = geo.read_filelist(server.root / FILELIST)
    url = f"{server.url}/{SAMPLE_DGE}"
    dest = tmp_path / DGE_NAME
    fetch(url, dest, fast_settings(server), sizes={"filelist.txt": listed[DGE_NAME]})
    dest.unlink()
    server.add_file(SAMPLE_DGE, files[SAMPLE_DGE] + gz(b"extra member"))
    assert_refused(
        lambda: fetch(url, dest, fast_settings(server), sizes={"filelist.txt": listed[DGE_NAME]}),
        url,
        dest,
        f"size {len(files[SAMPLE_DGE]) + len(gz(b'extra member'))} bytes differs from "
        f"{listed[DGE_NAME]} bytes in filelist.txt",
    )


def test_corrupt_gzip_is_refused(server, files, tmp_path):
    data = bytearray(files[MATRIX])
    data[len(data) // 2] ^= 0xFF
    server.add_file(MATRIX, bytes(data))
    url = f"{server.url}/{MATRIX}"
    dest = tmp_path / "m.txt.gz"
    assert_refused(lambda: fetch(url, dest, fast_settings(server)), url, dest, "corrupt gzip")


def test_truncated_gzip_with_matching_length_is_refused(server, files, tmp_path):
    server.add_file(MATRIX, files[MATRIX][:-20])
    url = f"{server.url}/{MATRIX}"
    dest = tmp_path / "m.txt.gz"
    assert_refused(lambda: fetch(url, dest, fast_settings(server)), url, dest, "corrupt gzip")


def test_wrong_pinned_sha256_is_refused(server, files, tmp_path):
    url = f"{server.url}/{MATRIX}"
    dest = tmp_path / "m.txt.gz"
    assert_refused(
        lambda: fetch(url, dest, fast_settings(server), sha256="0" * 64),
        url,
        dest,
        f"sha256 {sha256(files[MATRIX])} differs from the one pinned in config",
    )


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("GSE999_RAW.tar", "truncated_tar", "corrupt tar archive"),
        ("cells.xlsx", b"PK\x03\x04 not really a workbook", "corrupt zip archive"),
        ("table.tsv.gz", b"gene\tcount\n", "named .gz but is not gzip data"),
        ("empty.tsv", b"", "empty file"),
    ],
)
def test_damaged_containers_are_refused(server, files, tmp_path, name, data, reason):
    if data == "truncated_tar":
        data = files[RAW_TAR][:700]
    server.add_file(f"geo/other/{name}", data)
    url = f"{server.url}/geo/other/{name}"
    dest = tmp_path / name
    assert_refused(lambda: fetch(url, dest, fast_settings(server)), url, dest, reason)


def test_unsupported_scheme_is_refused(tmp_path):
    dest = tmp_path / "x.txt"
    assert_refused(lambda: fetch("file:///etc/hosts", dest), "file:///etc/hosts", dest, "scheme")


# --- FTP ------------------------------------------------------------------------------------------


@pytest.fixture
def ftp(tmp_path):
    with FtpServer(tmp_path / "ftp") as srv:
        yield srv


def test_ftp_download_resumes_with_rest_after_a_cut_transfer(ftp, tmp_path):
    data = gz(b"".join(b"line %d\n" % i for i in range(2000)))
    ftp.add_file("geo/big.txt.gz", data)
    ftp.fail("geo/big.txt.gz", "truncate")
    dest = tmp_path / "big.txt.gz"
    settings = DownloadSettings(retries=3, backoff_s=0.01, read_timeout_s=2)
    result = fetch(f"{ftp.url}/geo/big.txt.gz", dest, settings)
    assert dest.read_bytes() == data
    assert result.attempts == 2
    assert [request.range for request in ftp.requests_for("geo/big.txt.gz")] == [
        None,
        f"REST {len(data) // 2}",
    ]


def test_ftp_missing_file_fails_at_once(ftp, tmp_path):
    url = f"{ftp.url}/geo/absent.txt"
    dest = tmp_path / "absent.txt"
    settings = DownloadSettings(retries=3, backoff_s=0.01, read_timeout_s=2)
    assert_refused(lambda: fetch(url, dest, settings), url, dest, "FTP 550")


# --- manifest and settings ------------------------------------------------------------------------


def _result(name: str, size: int) -> download.FetchResult:
    return download.FetchResult(
        url=f"http://x/{name}",
        path=Path(name),
        size=size,
        sha256="a" * 64,
        downloaded_at="2025-01-01T00:00:00+00:00",
        attempts=1,
    )


def test_manifest_keeps_one_row_per_file_sorted(tmp_path):
    manifest = tmp_path / "manifest.tsv"
    download.record_in_manifest(manifest, "b.txt", _result("b.txt", 1))
    download.record_in_manifest(manifest, "a.txt", _result("a.txt", 2))
    download.record_in_manifest(manifest, "b.txt", _result("b.txt", 3))
    rows = download.read_manifest(manifest)
    assert [(row["file"], row["size"]) for row in rows] == [("a.txt", "2"), ("b.txt", "3")]
    assert manifest.read_text().splitlines()[0] == "file\turl\tsize\tsha256\tdownloaded_at"


def test_manifest_loses_no_row_when_jobs_write_at_once(tmp_path):
    manifest = tmp_path / "manifest.tsv"
    threads = [
        threading.Thread(
            target=download.record_in_manifest, args=(manifest, f"f{i}", _result(f"f{i}", i))
        )
        for i in range(24)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(row["file"] for row in download.read_manifest(manifest)) == sorted(
        f"f{i}" for i in range(24)
    )


def test_settings_from_config_convert_and_reject_unknown_keys():
    settings = DownloadSettings.from_config({"retries": "4", "backoff_s": 1, "max_backoff_s": 5})
    assert settings.retries == 4
    assert [settings.wait_before_retry(n) for n in (1, 2, 3, 4)] == [1, 2, 4, 5]
    with pytest.raises(InputError, match="unknown setting retry;"):
        DownloadSettings.from_config({"retry": 3})
    with pytest.raises(InputError, match="download.read_timeout_s: 'soon' is not a float"):
        DownloadSettings.from_config({"read_timeout_s": "soon"})
    with pytest.raises(InputError, match="at least 1"):
        DownloadSettings.from_config({"retries": 0})


# --- config resolution ----------------------------------------------------------------------------

DATASETS = {
    "GSE999": {
        "accession": "GSE999",
        "files": {
            "matrix": {"name": "GSE999_series_matrix.txt.gz", "geo": "series_matrix"},
            "matrix_gpl": {"name": "GSE999-GPL17586_series_matrix.txt.gz", "geo": "series_matrix"},
            "platform": {"name": "GPL17586_family.soft.gz", "geo": "platform_soft"},
            "raw": {"name": "GSE999_RAW.tar", "geo": "series_suppl"},
            "dge": {"name": DGE_NAME, "geo": "sample_suppl", "check_filelist": True},
            "counts": {"name": "GSE999_raw_counts_GRCm39_NCBI.tsv.gz", "geo": "rnaseq_counts"},
            "cells": {"name": "cells.xlsx", "url": "https://example.org/files/1", "size": 10},
        },
    },
    "pending": {
        "todo": "ask the authors",
        "files": {"counts": {"name": None, "url": None}, "meta": {"name": "m.tsv", "url": None}},
        "groups": None,
    },
}


@pytest.mark.parametrize(
    ("filename", "url"),
    [
        ("GSE999_series_matrix.txt.gz", "http://h/geo/series/GSEnnn/GSE999/matrix/"),
        ("GSE999-GPL17586_series_matrix.txt.gz", "http://h/geo/series/GSEnnn/GSE999/matrix/"),
        ("GPL17586_family.soft.gz", "http://h/geo/platforms/GPL17nnn/GPL17586/soft/"),
        ("GSE999_RAW.tar", "http://h/geo/series/GSEnnn/GSE999/suppl/"),
        (DGE_NAME, "http://h/geo/samples/GSMnnn/GSM101/suppl/"),
        ("filelist.txt", "http://h/geo/series/GSEnnn/GSE999/suppl/"),
    ],
)
def test_dataset_files_resolve_to_geo_urls(filename, url):
    settings = DownloadSettings(geo_base_url="http://h/geo")
    assert download.resolve_source(DATASETS, "GSE999", filename, settings).url == url + filename


def test_rnaseq_counts_and_plain_urls_resolve_with_their_checks():
    settings = DownloadSettings(geo_download_url="http://h/geo/download/")
    counts = download.resolve_source(
        DATASETS, "GSE999", "GSE999_raw_counts_GRCm39_NCBI.tsv.gz", settings
    )
    assert counts.url == (
        "http://h/geo/download/?type=rnaseq_counts&acc=GSE999&format=file"
        "&file=GSE999_raw_counts_GRCm39_NCBI.tsv.gz"
    )
    assert download.resolve_source(DATASETS, "GSE999", "cells.xlsx", settings) == download.Source(
        url="https://example.org/files/1", size=10
    )
    assert download.resolve_source(DATASETS, "GSE999", DGE_NAME, settings).check_filelist


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda: download.resolve_source(DATASETS, "GSE999", "other.txt", DownloadSettings()),
            r"resources/raw/GSE999/other.txt: no file of that name in config datasets.GSE999.files",
        ),
        (
            lambda: download.resolve_source(DATASETS, "pending", "m.tsv", DownloadSettings()),
            r"config datasets.pending.files.meta.url is not set: ask the authors",
        ),
        (
            lambda: download.raw_path(DATASETS, "pending", "counts"),
            r"config datasets.pending.files.counts.name is not set: ask the authors",
        ),
        (
            lambda: download.require(DATASETS, "pending", "groups"),
            r"config datasets.pending.groups is not set",
        ),
        (
            lambda: download.raw_path(DATASETS, "GSE1", "counts"),
            r"config datasets has no 'GSE1'; known: GSE999, pending",
        ),
        (
            lambda: download.raw_path(None, "GSE999", "matrix"),
            r"no 'datasets' section \(run with --configfile config/paper.yaml\)",
        ),
    ],
)
def test_missing_config_fields_are_named(call, message):
    with pytest.raises(InputError, match=message) as info:
        call()
    assert "\n" not in str(info.value)


def test_study_urls_map_to_a_folder_per_sample(tmp_path):
    url = "https://data.example.org/run1/S1%20MolsPerCell.csv.gz?download=1"
    assert download.study_local_path("S1", url) == "resources/raw/study/S1/S1 MolsPerCell.csv.gz"
    with pytest.raises(InputError, match="does not end in a file name"):
        download.study_local_path("S1", "ftp://data.example.org/run1/")
    assert download.study_local_path("S1", "/data/S1.csv") == "/data/S1.csv"
    sheet = tmp_path / "samples.tsv"
    sheet.write_text(f"sample\tcondition\tpath\tsha256\nS1\tcontrol\t{url}\t{'b' * 64}\n")
    assert download.study_source(sheet, "S1", "S1 MolsPerCell.csv.gz") == download.Source(
        url=url, sha256="b" * 64
    )
    with pytest.raises(InputError, match="no sample 'S2'"):
        download.study_source(sheet, "S2", "x.csv")


# --- config/paper.yaml ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def paper():
    config = yaml.safe_load(PAPER.read_text())
    validate(config["datasets"], str(SCHEMA))
    return config


def test_paper_datasets_name_every_external_dataset_of_the_study(paper):
    assert {
        "GSE159216",
        "GSE134355",
        "wu2022_crlm",
        "GSE109480",
        "GSE147044",
        "PRJNA590588",
        "msigdb",
    } <= set(paper["datasets"])
    DownloadSettings.from_config(paper["download"])


def test_paper_geo_files_resolve_to_the_real_geo_layout(paper):
    datasets, settings = paper["datasets"], DownloadSettings.from_config(paper["download"])
    base = "https://ftp.ncbi.nlm.nih.gov/geo"

    def url(dataset, role):
        name = download.raw_path(datasets, dataset, role).rsplit("/", 1)[1]
        return download.resolve_source(datasets, dataset, name, settings).url

    assert url("GSE159216", "series_matrix") == (
        f"{base}/series/GSE159nnn/GSE159216/matrix/GSE159216_series_matrix.txt.gz"
    )
    assert url("GSE159216", "platform") == (
        f"{base}/platforms/GPL17nnn/GPL17586/soft/GPL17586_family.soft.gz"
    )
    assert url("GSE134355", "liver1_2") == (
        f"{base}/samples/GSM4008nnn/GSM4008624/suppl/GSM4008624_Adult-Liver1-2_dge.txt.gz"
    )
    blood = [role for role in datasets["GSE134355"]["files"] if role.startswith("blood")]
    assert [url("GSE134355", role).split("/")[-3] for role in blood] == [
        f"GSM40086{n}" for n in range(38, 45)
    ]
    filelist = download.resolve_source(datasets, "GSE134355", "filelist.txt", settings)
    assert filelist.url == f"{base}/series/GSE134nnn/GSE134355/suppl/filelist.txt"


def test_paper_placeholders_fail_naming_the_field(paper):
    datasets = paper["datasets"]
    with pytest.raises(InputError, match=r"datasets.wu2022_crlm.files.matrix.url is not set: "):
        download.resolve_source(datasets, "wu2022_crlm", "matrix.mtx.gz", DownloadSettings())
    for dataset in ("GSE109480", "GSE147044", "PRJNA590588"):
        with pytest.raises(InputError, match=rf"datasets.{dataset}.files.counts.name is not set"):
            download.raw_path(datasets, dataset, "counts")
        with pytest.raises(InputError, match=rf"datasets.{dataset}.groups is not set"):
            download.require(datasets, dataset, "groups")


def test_paper_gene_sets_to_download_are_dataset_files(paper):
    downloaded = [path for path in paper["genesets"].values() if path.startswith("resources/raw/")]
    roles = paper["datasets"]["msigdb"]["files"]
    assert downloaded
    assert set(downloaded) <= {
        download.raw_path(paper["datasets"], "msigdb", role) for role in roles
    }


# --- the real snakemake on workflow/rules/download.smk --------------------------------------------


def run_snakemake(workdir: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "snakemake", "--cores", "1", "--snakefile", "Snakefile", *args],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def workflow_dir(tmp_path, server, files):
    """A tiny workflow that includes the project's download.smk, with a config naming GSE999."""
    server.add_file("study/S1_MolsPerCell.csv", b"Cell_Index,Prok2\n1,3\n")
    workdir = tmp_path / "wf"
    workdir.mkdir()
    (workdir / "samples.tsv").write_text(
        f"sample\tpath\nS1\t{server.url}/study/S1_MolsPerCell.csv\n"
    )
    settings = fast_settings(server)
    config = {
        "samples": "samples.tsv",
        "download": {
            "retries": settings.retries,
            "backoff_s": settings.backoff_s,
            "read_timeout_s": settings.read_timeout_s,
            "geo_base_url": settings.geo_base_url,
        },
        "datasets": {
            "GSE999": {
                "accession": "GSE999",
                "files": {
                    "matrix": {"name": "GSE999_series_matrix.txt.gz", "geo": "series_matrix"},
                    "dge": {"name": DGE_NAME, "geo": "sample_suppl", "check_filelist": True},
                    "pinned": {
                        "name": "GSE999_RAW.tar",
                        "geo": "series_suppl",
                        "sha256": "0" * 64,
                    },
                },
            }
        },
    }
    (workdir / "config.yaml").write_text(yaml.safe_dump(config))
    (workdir / "Snakefile").write_text(
        f'configfile: "config.yaml"\n\n\ninclude: "{REPO}/workflow/rules/download_common.smk"\n'
        f'include: "{REPO}/workflow/rules/download.smk"\n'
    )
    return workdir


def test_snakemake_downloads_once_and_fails_cleanly(workflow_dir, server, files):
    targets = [
        "resources/raw/GSE999/GSE999_series_matrix.txt.gz",
        f"resources/raw/GSE999/{DGE_NAME}",
        "resources/raw/study/S1/S1_MolsPerCell.csv",
    ]
    failing = "resources/raw/GSE999/GSE999_RAW.tar"
    first = run_snakemake(workflow_dir, "--keep-going", *targets, failing)
    output = first.stdout + first.stderr
    raw = workflow_dir / "resources" / "raw"
    assert (raw / "GSE999" / "GSE999_series_matrix.txt.gz").read_bytes() == files[MATRIX], output
    assert (raw / "GSE999" / DGE_NAME).read_bytes() == files[SAMPLE_DGE]
    manifest = {row["file"]: row for row in download.read_manifest(raw / "GSE999" / "manifest.tsv")}
    assert set(manifest) == {"GSE999_series_matrix.txt.gz", DGE_NAME, "filelist.txt"}
    assert manifest[DGE_NAME]["sha256"] == sha256(files[SAMPLE_DGE])
    (study_row,) = download.read_manifest(raw / "study" / "manifest.tsv")
    assert study_row["file"] == "S1/S1_MolsPerCell.csv"
    results = workflow_dir / "results"
    assert (results / "logs" / "download" / "GSE999" / f"{DGE_NAME}.log").exists()
    assert (results / "benchmarks" / "download" / "GSE999" / f"{DGE_NAME}.tsv").exists()

    # The file whose pinned sha256 differs: the job fails, says why in one line, leaves nothing.
    assert first.returncode != 0
    url = f"{server.url}/{RAW_TAR}"
    assert f"{url}: sha256 {sha256(files[RAW_TAR])} differs" in output
    assert not (workflow_dir / failing).exists()
    assert not part_of(workflow_dir / failing).exists()
    log = workflow_dir / "results" / "logs" / "download" / "GSE999" / "GSE999_RAW.tar.log"
    assert f"{url}: sha256 " in log.read_text().splitlines()[-1]

    served = len(server.faults.requests)
    second = run_snakemake(workflow_dir, *targets)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "Nothing to be done" in second.stdout + second.stderr
    assert len(server.faults.requests) == served


def test_snakemake_plans_the_paper_downloads_and_names_missing_fields(tmp_path):
    rule_needing_bulk_counts = """
rule bulk_counts:
    input:
        lambda wildcards: dataset_file("GSE109480", "counts"),
    output:
        "bulk.done",
    shell:
        "touch {output}"
"""
    (tmp_path / "Snakefile").write_text(
        f'configfile: "{PAPER}"\n\n\ninclude: "{REPO}/workflow/rules/download_common.smk"\n'
        f'include: "{REPO}/workflow/rules/download.smk"\n\n' + rule_needing_bulk_counts
    )
    planned = run_snakemake(
        tmp_path,
        "-n",
        "resources/raw/GSE159216/GSE159216_series_matrix.txt.gz",
        "resources/raw/GSE134355/GSM4008624_Adult-Liver1-2_dge.txt.gz",
    )
    assert planned.returncode == 0, planned.stdout + planned.stderr
    assert "download" in planned.stdout
    assert "resources/raw/GSE134355/filelist.txt" in planned.stdout
    missing = run_snakemake(tmp_path, "-n", "bulk.done")
    assert missing.returncode != 0
    assert "config datasets.GSE109480.files.counts.name is not set" in (
        missing.stdout + missing.stderr
    )
