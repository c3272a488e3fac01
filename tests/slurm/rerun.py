"""The demo's atlas stage rerun through profiles/slurm, beside the session's demo run.

Most of a SLURM run's wall time is waiting, not computing: apt-get, the daemons coming up, the
executor plugin polling squeue (its interval grows by 10 s per empty check). So tests/conftest.py
starts the rerun in a thread when the session begins: the cluster comes up at once, and as soon as
the demo run has written its QC summary (every sample ingested and QC'd), what the atlas stage
reads is copied into a workdir of its own, without one sample's ingest and QC outputs, and
SLURM runs that sample's ingest and QC, the QC summary, integration and annotation while the
demo run goes on; the submit host draws one panel (a local rule). tests/test_slurm.py checks the
result, and compares the tables with the demo run's once that has finished.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from workflow_utils import LOG, REPO, start_snakemake, stop_snakemake, tail

from slurm.cluster import Cluster, one_node_cluster

PROFILE = REPO / "profiles" / "slurm"
PARTITION = "livermet-test"  # not the cluster's default: only the profile's setting reaches it
TABLES = ("results/qc/summary.tsv", "results/atlas/cell_types.tsv")
# The atlas stage's tables and one panel (a local rule); the other panels add time, not cover.
TARGETS = (*TABLES, "results/figures/fig1G.pdf")
RERUN_SAMPLE = "ctrl_1"
# what the atlas stage reads: the demo study's counts and truth, every sample's ingest and QC
UPSTREAM = ("results/demo/counts", "results/demo/truth.tsv", "results/ingest", "results/qc")
UPSTREAM_DONE = "results/qc/summary.tsv"  # written (atomically) after every sample's QC
THREADS = 2  # as in the demo run (--cores 2), so that the tables can be compared byte for byte
RUN_TIMEOUT = 900  # seconds for the SLURM run
UPSTREAM_TIMEOUT = 1800  # seconds for the demo run to reach its QC summary


class RerunError(RuntimeError):
    """The rerun could not run or failed; the message holds the logs that say why."""


@dataclass
class SlurmRun:
    workdir: Path
    log: str  # snakemake's own log of the run
    jobs: list[dict[str, str]]  # squeue's records of the run's SLURM jobs


class BackgroundRerun:
    """The rerun in a thread: :meth:`result` waits for it, :meth:`close` ends what is left."""

    def __init__(self, demo_workdir: Path, demo: subprocess.Popen, workdir: Path):
        self._demo_workdir, self._demo, self._workdir = demo_workdir, demo, workdir
        self._closing = threading.Event()
        self._starting = threading.Lock()  # close() never falls between the check and the start
        self._snakemake: subprocess.Popen | None = None
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="slurm-rerun")
        self._future = self._pool.submit(self._run)

    def result(self) -> SlurmRun:
        return self._future.result()

    def close(self) -> None:
        """Stop a run still going (a failure elsewhere ended the session) and the cluster."""
        with self._starting:
            self._closing.set()
            if self._snakemake is not None:
                stop_snakemake(self._snakemake)
        self._pool.shutdown(wait=True)

    def _run(self) -> SlurmRun:
        # Not under pytest's tmp dir: munged wants every directory above its socket open to all.
        root = Path(tempfile.mkdtemp(prefix="livermet-slurm-"))
        try:
            with one_node_cluster(root, PARTITION) as cluster:
                self._wait_for_upstream()
                copy_upstream(self._demo_workdir, self._workdir)
                return self._run_snakemake(cluster)
        finally:
            shutil.rmtree(root, ignore_errors=True)

    def _wait_for_upstream(self) -> None:
        """Until the demo run has written its QC summary; fail if it ends without one."""
        done = self._demo_workdir / UPSTREAM_DONE
        deadline = time.monotonic() + UPSTREAM_TIMEOUT
        while not done.exists():
            if self._closing.wait(timeout=1):
                raise RerunError("closed before the demo run finished its QC")
            if self._demo.poll() is not None:
                raise RerunError(
                    f"the demo run ended before its QC summary\n{tail(self._demo_workdir)}"
                )
            if time.monotonic() > deadline:
                raise RerunError(f"no {UPSTREAM_DONE} in the demo run after {UPSTREAM_TIMEOUT} s")

    def _run_snakemake(self, cluster: Cluster) -> SlurmRun:
        env = {
            **cluster.env,
            "LIVERMET_SLURM_PARTITION": PARTITION,
            "LIVERMET_SLURM_STATUS_COMMAND": "squeue",
        }
        env.pop("LIVERMET_SLURM_ACCOUNT", None)
        with self._starting:
            if self._closing.is_set():
                raise RerunError("closed before the SLURM run started")
            self._snakemake = start_snakemake(
                self._workdir,
                "--profile",
                str(PROFILE),
                "--max-threads",
                str(THREADS),
                "--slurm-init-seconds-before-status-checks",
                "5",  # the demo's jobs take seconds: poll often
                "--slurm-keep-successful-logs",
                *TARGETS,
                env=env,
            )
        try:
            self._snakemake.wait(timeout=RUN_TIMEOUT)
        except subprocess.TimeoutExpired:
            raise RerunError(f"snakemake ran past {RUN_TIMEOUT} s\n{self._logs(cluster)}") from None
        finally:
            stop_snakemake(self._snakemake)
        if self._snakemake.returncode != 0:
            raise RerunError(f"snakemake failed\n{self._logs(cluster)}")
        log = (self._workdir / LOG).read_text()
        run_id = re.search(r"SLURM run ID: (\S+)", log).group(1)
        return SlurmRun(self._workdir, log, squeue_records(cluster, run_id))

    def _logs(self, cluster: Cluster) -> str:
        return f"{tail(self._workdir)}\n{cluster.logs()}"


def copy_upstream(demo_workdir: Path, workdir: Path) -> None:
    """The demo run's project files and the outputs the atlas stage reads, mtimes kept (so only
    what is missing reruns), less :func:`rerun_outputs`. The demo run goes on writing its other
    results and its .snakemake meanwhile, so neither is copied."""
    shutil.copytree(
        demo_workdir,
        workdir,
        symlinks=True,
        ignore=lambda folder, names: (
            {"results", ".snakemake", LOG} if folder == str(demo_workdir) else set()
        ),
    )
    for name in UPSTREAM:
        source, copy = demo_workdir / name, workdir / name
        copy.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, copy)
        else:
            shutil.copy2(source, copy)
    for output in rerun_outputs(workdir):
        output.unlink()


def rerun_outputs(workdir: Path) -> list[Path]:
    """What the SLURM run makes again that the copy holds: RERUN_SAMPLE's ingest and QC files
    and the QC summary (the atlas and the panel are not copied)."""
    results = workdir / "results"
    return sorted(
        {
            results / "ingest" / f"{RERUN_SAMPLE}.h5ad",
            *results.glob(f"qc/{RERUN_SAMPLE}.*"),
            workdir / UPSTREAM_DONE,
        }
    )


def squeue_records(cluster: Cluster, run_id: str) -> list[dict[str, str]]:
    """SLURM's record of the run's jobs: squeue keeps finished jobs for MinJobAge (an hour)."""
    fields = {
        "id": "%i",
        "comment": "%k",
        "partition": "%P",
        "state": "%T",
        "time_limit": "%l",
        "cpus": "%C",
        "memory": "%m",
    }
    out = cluster.command(
        "squeue",
        "--states=all",
        "--noheader",
        "--name",
        run_id,
        "--format",
        "|".join(fields.values()),
    )
    jobs = [dict(zip(fields, line.split("|"), strict=True)) for line in out.splitlines()]
    for job in jobs:  # the plugin's comment is rule_<rule>[_wildcards_<values>]
        job["rule"] = job["comment"].removeprefix("rule_").split("_wildcards_")[0]
    return jobs
