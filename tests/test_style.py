"""Formatting and lint of the project's own code and workflow (CI runs these as tests)."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def run(*args):
    return subprocess.run(args, cwd=REPO, capture_output=True, text=True)


@pytest.mark.parametrize(
    "command",
    [("ruff", "check", "."), ("ruff", "format", "--check", "."), ("snakefmt", "--check", ".")],
    ids=["ruff-check", "ruff-format", "snakefmt"],
)
def test_code_is_formatted_and_lint_free(command):
    tool = shutil.which(command[0], path=str(BIN)) or shutil.which(command[0])
    result = run(tool, *command[1:])
    assert result.returncode == 0, result.stdout + result.stderr


def test_snakemake_lint_is_clean():
    result = run(str(BIN / "snakemake"), "--lint")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Lints for" not in result.stdout + result.stderr


def modules_loaded_by(modules: list[str]) -> set[str]:
    """Every module a fresh process has loaded after importing ``modules``, as a job would."""
    code = f"import sys; import {', '.join(modules)}; print(*sorted(sys.modules))"
    result = run(sys.executable, "-c", code)
    assert result.returncode == 0, result.stderr
    return set(result.stdout.split())


def test_table_panels_do_not_import_the_analysis_stack():
    """Each of the ~74 figure jobs is a fresh process; importing scanpy (~2 s) or inmoose's limma
    (~2 s) in the modules of panels drawn from tables would cost every job that (see the note in
    livermet.figures.fig1). A module-level import of either in these modules fails here."""
    panels = ("fig1", "fig2", "fig6", "composition", "deconvolution", "human", "survival")
    panels += ("lineage_de", "trajectories")
    loaded = modules_loaded_by(
        ["livermet.io", "livermet.figures", *(f"livermet.figures.{name}" for name in panels)]
    )
    assert "livermet.figures.lineage_de" in loaded
    assert not loaded & {"scanpy", "inmoose"}, loaded & {"scanpy", "inmoose"}


def test_jobs_that_fit_no_limma_model_do_not_import_inmoose():
    """Deconvolution jobs (8 in the demo) read designs through livermet.bulk, and subtype DE and
    the N1 signature run Wilcoxon tests through livermet.de: importing inmoose (all its
    subpackages, with statsmodels) cost each of them about 2 s of CPU. The fits import it."""
    loaded = modules_loaded_by(
        ["livermet.bulk", "livermet.de", "livermet.lineage_de", "livermet.signature"]
        + ["livermet.cell_fractions"]
    )
    assert "livermet.signature" in loaded
    assert not loaded & {"inmoose", "statsmodels"}, loaded & {"inmoose", "statsmodels"}


def test_jobs_that_rank_no_genes_do_not_import_scanpy():
    """The signature-survival, CellChat-comparison and deconvolution jobs use these modules' table
    helpers only; scanpy (1.3 s of import in each) is imported by the functions that rank genes
    (livermet.de.wilcoxon_de, livermet.cellchat.overexpressed_genes, the marker tests)."""
    loaded = modules_loaded_by(
        ["livermet.signature", "livermet.cellchat", "livermet.cell_fractions"]
    )
    assert "livermet.cellchat" in loaded
    assert "scanpy" not in loaded


def test_deconvolution_panels_do_not_import_anndata():
    """Fig 1I-K and 3F/G test fractions from tables: anndata (0.3 s) is imported where an AnnData
    is made (livermet.cell_fractions.select_markers), not by the modules these panels import."""
    loaded = modules_loaded_by(
        ["livermet.io", "livermet.figures", "livermet.figures.deconvolution"]
    )
    assert "livermet.cell_fractions" in loaded
    assert "anndata" not in loaded
