"""Shared fixtures: tiny count matrices with real mouse gene names, written in each input format."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

from livermet.numerics import (
    import_umap_with_cached_kernels,
    use_portable_kernels,
    use_shared_numba_cache,
)

use_portable_kernels()  # before NumPy loads: the kernels the workflow's jobs use
use_shared_numba_cache()  # before numba loads: this process and every run share compiled kernels

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"

GENES = ["Alb", "Apoa1", "Cd79a", "Cd3e", "Lyz2", "mt-Co1", "mt-Nd1", "Hba-a1", "Hbb-bs", "Actb"]


def shared_file(name: str) -> Path:
    """A file of ../shared/data, or skip the test saying it is absent (fresh clones lack it)."""
    path = SHARED_DATA / name
    if not path.exists():
        pytest.skip(f"real data set {path} is absent (it lives beside the project, not in it)")
    return path


def small_counts(n_cells: int = 8, seed: int = 0) -> pd.DataFrame:
    """Cells x genes integer counts with a little of everything (mito, haemoglobin)."""
    rng = np.random.default_rng(seed)
    counts = rng.poisson(5, size=(n_cells, len(GENES)))
    index = pd.Index([str(1000 + i) for i in range(n_cells)], name="Cell_Index")
    return pd.DataFrame(counts, index=index, columns=GENES)


def write_rhapsody_csv(counts: pd.DataFrame, path: Path) -> Path:
    """BD Rhapsody MolsPerCell layout: '##' header block, then Cell_Index and gene columns."""
    header = (
        "##########\n## BD Rhapsody Analysis Pipeline Version 2.0\n## Sample - test\n##########\n"
    )
    text = header + counts.to_csv()
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wt") as fh:
        fh.write(text)
    return path


@pytest.fixture
def rhapsody_file(tmp_path: Path) -> Path:
    return write_rhapsody_csv(small_counts(), tmp_path / "s1_RSEC_MolsPerCell.csv.gz")


def pytest_collection_modifyitems(items):
    """Unit tests first, then the workflow runs of their own, then the checks of the session's
    demo run: the unit tests run beside the demo run (started when the session begins), and the
    checks that wait for it come last, so no unit test waits behind them. File order is kept
    within each group."""

    def group(item) -> int:
        if "demo_run" in item.fixturenames:
            return 2
        return 1 if item.get_closest_marker("workflow") else 0

    items.sort(key=group)


def selected(request, fixture: str = "", marker: str = "") -> bool:
    """Whether any test of the session uses ``fixture`` or carries ``marker``."""
    return any(
        fixture in item.fixturenames or (marker and item.get_closest_marker(marker))
        for item in request.session.items
    )


@pytest.fixture(scope="session", autouse=True)
def demo_run_started(request, tmp_path_factory):
    """The session's demo run, started in the background when the session begins if any selected
    test needs it, so that the unit tests run beside it rather than before it. Both are CPU-bound
    on two cores, so the gain is the run's single-job stretches (CI 20 min 44 s -> 20 min 14 s
    when it came in)."""
    from workflow_utils import make_workdir, start_snakemake, stop_snakemake

    if not selected(request, fixture="demo_run"):
        yield None
        return
    workdir = make_workdir(tmp_path_factory.mktemp("demo") / "run")
    process = start_snakemake(workdir, "--cores", "2", env=dict(os.environ))
    yield workdir, process
    stop_snakemake(process)


@pytest.fixture(scope="session", autouse=True)
def slurm_rerun_started(request, tmp_path_factory, demo_run_started):
    """The SLURM test's run (tests/slurm/rerun.py), started when the session begins: its cluster
    comes up, and its jobs run as soon as the demo run has done its QC, while the unit tests and
    the demo run go on. It mostly waits (apt-get, daemons, squeue polling), so beside them it
    costs little, and after them it cost 2-2.5 min."""
    if demo_run_started is None or os.geteuid() != 0 or not selected(request, marker="slurm"):
        yield None
        return
    from slurm.rerun import BackgroundRerun

    rerun = BackgroundRerun(*demo_run_started, tmp_path_factory.mktemp("slurm") / "run")
    yield rerun
    rerun.close()


@pytest.fixture(scope="session", autouse=True)
def umap_kernels_compiled(demo_run_started, slurm_rerun_started):
    """Umap's kernels compiled once for the session, after the runs above have started: this
    process's graphs (unit tests) and the runs' graph jobs share the compile; whoever takes the
    cache's lock first compiles, the others wait and load."""
    import_umap_with_cached_kernels()


@pytest.fixture(scope="session")
def demo_run(demo_run_started):
    """One full run of the default demo (6 samples x 600 cells, every target), shared by the
    workflow, report and scorecard checks and the reference of the rerun checks."""
    from workflow_utils import tail

    workdir, process = demo_run_started
    assert process.wait() == 0, tail(workdir)
    return workdir
