"""GEO URL layout and the series-matrix, platform and filelist readers (fixtures/geo)."""

import gzip
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from livermet import geo
from livermet.errors import InputError

FIXTURES = Path(__file__).parent / "fixtures" / "geo"
SERIES_MATRIX = FIXTURES / "GSE999_series_matrix.txt"
PLATFORM = FIXTURES / "GPL17586_excerpt.soft"
OS_TIME = "60 months overall survival, time"
OS_STATUS = "60 months overall survival, status"


@pytest.mark.parametrize(
    ("accession", "stem"),
    [
        ("GSE159216", "GSE159nnn"),
        ("GSE1", "GSEnnn"),
        ("GSE999", "GSEnnn"),
        ("GSE1000", "GSE1nnn"),
        ("GSM4008624", "GSM4008nnn"),
        ("GPL17586", "GPL17nnn"),
        ("GPL570", "GPLnnn"),
    ],
)
def test_accession_stem_replaces_last_three_digits(accession, stem):
    assert geo.accession_stem(accession) == stem


def test_urls_follow_geo_layout():
    base = "https://ftp.ncbi.nlm.nih.gov/geo"
    assert geo.series_url("GSE159216") == f"{base}/series/GSE159nnn/GSE159216/"
    assert geo.series_url("GSE1") == f"{base}/series/GSEnnn/GSE1/"
    assert (
        geo.series_matrix_url("GSE159216")
        == f"{base}/series/GSE159nnn/GSE159216/matrix/GSE159216_series_matrix.txt.gz"
    )
    assert (
        geo.series_matrix_url("GSE134355", platform="GPL20795")
        == f"{base}/series/GSE134nnn/GSE134355/matrix/GSE134355-GPL20795_series_matrix.txt.gz"
    )
    assert (
        geo.series_suppl_url("GSE134355", "GSE134355_RAW.tar")
        == f"{base}/series/GSE134nnn/GSE134355/suppl/GSE134355_RAW.tar"
    )
    assert (
        geo.sample_suppl_url("GSM4008624", "GSM4008624_Adult-Liver1-2_dge.txt.gz")
        == f"{base}/samples/GSM4008nnn/GSM4008624/suppl/GSM4008624_Adult-Liver1-2_dge.txt.gz"
    )
    assert (
        geo.platform_soft_url("GPL17586")
        == f"{base}/platforms/GPL17nnn/GPL17586/soft/GPL17586_family.soft.gz"
    )


def test_base_url_is_configurable_and_rnaseq_counts_use_the_download_cgi():
    assert geo.series_url("GSE5", base="http://127.0.0.1:8000/geo/") == (
        "http://127.0.0.1:8000/geo/series/GSEnnn/GSE5/"
    )
    assert geo.rnaseq_counts_url("GSE109480", "GSE109480_raw_counts_GRCm39_NCBI.tsv.gz") == (
        "https://www.ncbi.nlm.nih.gov/geo/download/?type=rnaseq_counts&acc=GSE109480"
        "&format=file&file=GSE109480_raw_counts_GRCm39_NCBI.tsv.gz"
    )


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: geo.accession_stem("GSE"), "not a GEO accession"),
        (lambda: geo.series_url("GSM12"), "expected a GSE accession"),
        (lambda: geo.platform_soft_url("GSE12"), "expected a GPL accession"),
        (lambda: geo.gsm_of_filename("Adult-Liver_dge.txt.gz"), "starts with 'GSM<digits>_'"),
    ],
)
def test_bad_accessions_fail_with_one_line(call, message):
    with pytest.raises(InputError, match=message) as info:
        call()
    assert "\n" not in str(info.value)


def test_gsm_of_filename():
    assert geo.gsm_of_filename("GSM4008624_Adult-Liver1-2_dge.txt.gz") == "GSM4008624"


@pytest.fixture(params=["plain", "gzip"])
def series_matrix_path(request, tmp_path):
    if request.param == "plain":
        return SERIES_MATRIX
    path = tmp_path / "GSE999_series_matrix.txt.gz"
    with open(SERIES_MATRIX, "rb") as src, gzip.open(path, "wb") as dst:
        shutil.copyfileobj(src, dst)
    return path


def test_series_matrix_clinical_has_one_row_per_gsm_and_one_column_per_key(series_matrix_path):
    clinical = geo.read_series_matrix(series_matrix_path).clinical
    assert clinical.index.tolist() == ["GSM101", "GSM102", "GSM103", "GSM104"]
    assert clinical.index.name == "gsm"
    assert clinical["patient id"].tolist() == ["P1", "P1", "P2", "P3"]
    assert clinical[OS_TIME].dtype == float
    assert clinical[OS_TIME].iloc[:3].tolist() == [34.2, 34.2, 60.0]
    assert np.isnan(clinical.loc["GSM104", OS_TIME])
    assert clinical[OS_STATUS].iloc[:3].tolist() == [1, 1, 0]
    assert clinical.loc["GSM101", "title"] == "Patient 1 lesion A"
    assert set(clinical["platform"]) == {"GPL17586"}


def test_series_matrix_files_characteristics_by_key_not_by_line():
    """GSM104's 'neoadjuvant chemotherapy' is on the line where the others have 'kras mutation'."""
    clinical = geo.read_series_matrix(SERIES_MATRIX).clinical
    assert clinical["neoadjuvant chemotherapy"].tolist() == ["no", "no", "yes", "yes"]
    assert clinical["kras mutation"].iloc[:3].tolist() == ["G12D", "G12D", "wt"]
    assert pd.isna(clinical.loc["GSM104", "kras mutation"])


def test_series_matrix_expression_is_probes_by_gsm(series_matrix_path):
    matrix = geo.read_series_matrix(series_matrix_path)
    assert matrix.accession == "GSE999"
    assert matrix.expression.shape == (7, 4)
    assert matrix.expression.columns.tolist() == ["GSM101", "GSM102", "GSM103", "GSM104"]
    assert matrix.expression.loc["TC04001103.hg.1", "GSM104"] == 13.0
    assert np.isnan(matrix.expression.loc["TC06000001.hg.1", "GSM104"])


def _edited_copy(tmp_path, old, new):
    path = tmp_path / "edited_series_matrix.txt"
    path.write_text(SERIES_MATRIX.read_text().replace(old, new))
    return path


def test_series_matrix_of_an_rnaseq_series_has_clinical_fields_and_no_data_rows(tmp_path):
    text = SERIES_MATRIX.read_text()
    header = text[: text.index('"TC01000001.hg.1"')]
    path = tmp_path / "rnaseq_series_matrix.txt"
    path.write_text(header + "!series_matrix_table_end\n")
    matrix = geo.read_series_matrix(path)
    assert matrix.expression.shape == (0, 4)
    assert matrix.clinical["patient id"].tolist() == ["P1", "P1", "P2", "P3"]


def test_series_matrix_without_end_marker_is_called_truncated(tmp_path):
    path = _edited_copy(tmp_path, "!series_matrix_table_end\n", "")
    with pytest.raises(InputError, match="truncated"):
        geo.read_series_matrix(path)


def test_series_matrix_non_numeric_value_is_named(tmp_path):
    path = _edited_copy(tmp_path, "\t12.0\t", "\tnull?\t")
    with pytest.raises(InputError, match=r"'null\?' at ID_REF TC04001103.hg.1, GSM102"):
        geo.read_series_matrix(path)


def test_series_matrix_with_a_short_sample_line_is_refused(tmp_path):
    path = _edited_copy(tmp_path, '\t"Patient 3"\n', "\n")
    with pytest.raises(InputError, match="!Sample_title has 3 values for 4 samples"):
        geo.read_series_matrix(path)


@pytest.mark.parametrize(
    ("assignment", "symbols"),
    [
        (
            "NM_1 // GAPDH // glyceraldehyde // 12p13 // 2597 /// ENST1 // GAPDH // x // y // 1",
            ["GAPDH"],
        ),
        ("NM_1 // CXCL1 // a // b // 1 /// NM_2 // PF4 // c // d // 2", ["CXCL1", "PF4"]),
        ("---", []),
        (float("nan"), []),
    ],
)
def test_symbols_from_gene_assignment(assignment, symbols):
    assert geo.symbols_from_gene_assignment(assignment) == symbols


def test_platform_table_stops_at_its_end_marker_and_keeps_stray_quotes():
    platform = geo.read_platform_table(PLATFORM)
    assert platform.shape[0] == 7
    assert platform.index[0] == "TC01000001.hg.1"
    assert '5\' "partial"' in platform.loc["TC01000001.hg.1", "mrna_assignment"]


def test_probes_naming_one_gene_map_to_it_and_ambiguous_ones_are_dropped():
    genes = geo.probe_to_gene(geo.read_platform_table(PLATFORM))
    assert genes.to_dict() == {
        "TC01000001.hg.1": "DDX11L1",
        "TC04001102.hg.1": "GAPDH",
        "TC04001103.hg.1": "GAPDH",
        "TC06000001.hg.1": "S100A8",
        "TC09000001.hg.1": "NOTINDATA",
    }


def test_collapse_keeps_the_max_variance_probe_per_gene():
    matrix = geo.read_series_matrix(SERIES_MATRIX)
    genes = geo.probe_to_gene(geo.read_platform_table(PLATFORM))
    collapsed = geo.collapse_to_genes(matrix.expression, genes)
    assert collapsed.index.tolist() == ["DDX11L1", "GAPDH", "S100A8"]
    assert collapsed.loc["GAPDH"].tolist() == [8.0, 12.0, 9.0, 13.0]
    assert collapsed.loc["DDX11L1"].tolist() == [5.1, 5.3, 5.0, 5.2]


def test_collapse_breaks_variance_ties_by_probe_order():
    expression = pd.DataFrame({"GSM1": [1.0, 5.0], "GSM2": [2.0, 6.0]}, index=["p2", "p1"])
    collapsed = geo.collapse_to_genes(expression, pd.Series({"p1": "G", "p2": "G"}))
    assert collapsed.loc["G"].tolist() == [1.0, 2.0]


def test_collapse_without_any_mapped_probe_fails():
    expression = pd.DataFrame({"GSM1": [1.0]}, index=["p9"])
    with pytest.raises(InputError, match="no probe"):
        geo.collapse_to_genes(expression, pd.Series({"p1": "G"}))


def test_one_sample_per_patient_keeps_the_lowest_gsm():
    clinical = pd.DataFrame(
        {"patient id": ["P1", "P2", "P1", None, "P2"]},
        index=pd.Index(["GSM120", "GSM99", "GSM100", "GSM105", "GSM101"], name="gsm"),
    )
    kept = geo.one_sample_per_patient(clinical, "patient id")
    assert kept.index.tolist() == ["GSM99", "GSM100", "GSM105"]


def test_one_sample_per_patient_names_the_available_fields_when_missing():
    clinical = geo.read_series_matrix(SERIES_MATRIX).clinical
    with pytest.raises(InputError, match="no clinical field 'Patient ID'; fields are: title"):
        geo.one_sample_per_patient(clinical, "Patient ID")


def test_read_filelist_gives_sizes_of_archive_and_members(tmp_path):
    path = tmp_path / "filelist.txt"
    path.write_text(
        "#Archive/File\tName\tTime\tSize\tType\n"
        "Archive\tGSE999_RAW.tar\t10/10/2020 10:00:00\t30720\tTAR\n"
        "File\tGSM101_a_dge.txt.gz\t10/10/2020 10:00:00\t1234\tTXT\n"
    )
    assert geo.read_filelist(path) == {"GSE999_RAW.tar": 30720, "GSM101_a_dge.txt.gz": 1234}


def test_read_filelist_refuses_other_tables(tmp_path):
    path = tmp_path / "filelist.txt"
    path.write_text("<html><body>Not found</body></html>\n")
    with pytest.raises(InputError, match="not a GEO filelist.txt"):
        geo.read_filelist(path)
