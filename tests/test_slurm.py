"""The demo through profiles/slurm on a real one-node SLURM cluster that the test brings up.

The profile, the executor plugin and the local rules only meet on a real SLURM, so the test starts
munged, slurmctld and slurmd (tests/slurm/cluster.py), runs the demo with ``--profile
profiles/slurm`` and checks that every non-local job ran as a SLURM job (squeue's records, the
plugin's logs), that the profile's settings reached sbatch, and that the tables are byte-identical
to the session's plain local run of the same demo (``demo_run``). The cluster has no accounting,
as many small clusters, so job states come from squeue and no account is given. Needs root
(apt-get, the daemons); CI runs as root.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from slurm.cluster import Cluster, one_node_cluster
from workflow_utils import LOG, REPO, start_snakemake, stop_snakemake, tail

pytestmark = [
    pytest.mark.workflow,
    pytest.mark.slurm,
    pytest.mark.skipif(
        os.geteuid() != 0,
        reason="needs root: installs slurm-wlm and munge with apt-get and runs munged, "
        "slurmctld and slurmd as root",
    ),
]

PROFILE = REPO / "profiles" / "slurm"
PARTITION = "livermet-test"  # not the cluster's default: only the profile's setting reaches it
TABLES = ("results/qc/summary.tsv", "results/atlas/cell_types.tsv")
# The atlas stage's tables and one panel (a local rule); the other panels add time, not cover.
TARGETS = (*TABLES, "results/figures/fig1G.pdf")
LOCAL_RULES = {"figure"}  # the Snakefile's local rules among TARGETS' jobs
RERUN_SAMPLE = "ctrl_1"
RERUN_JOBS = Counter(["ingest", "qc", "qc_summary", "integrate", "annotate", "figure"])
THREADS = 2  # as in the demo run (--cores 2), so that the tables can be compared byte for byte
RUN_TIMEOUT = 900  # seconds for one snakemake run


@dataclass
class SlurmRun:
    workdir: Path
    log: str  # snakemake's own log of the run
    jobs: list[dict[str, str]]  # squeue's records of the run's SLURM jobs


@pytest.fixture(scope="module")
def cluster():
    # Not under pytest's tmp dir: munged wants every directory above its socket open to all.
    root = Path(tempfile.mkdtemp(prefix="livermet-slurm-"))
    try:
        with one_node_cluster(root, PARTITION) as running:
            yield running
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def slurm_run(cluster, demo_run, tmp_path_factory) -> SlurmRun:
    """The demo's atlas stage rerun through the profile, from one sample's ingest on: in a copy
    of the session's demo run (same config, same threads) without that sample's ingest and QC
    outputs and without the targets, SLURM runs the sample's ingest and QC (jobs with wildcards),
    the QC summary, integration and annotation, and the submit host draws one panel (a local
    rule). The demo run is the local reference, and its upstream jobs are not paid for twice."""
    workdir = tmp_path_factory.mktemp("slurm") / "run"
    shutil.copytree(demo_run, workdir, symlinks=True)  # mtimes kept: only what is removed reruns
    for output in rerun_outputs(workdir):
        output.unlink()
    env = {
        **cluster.env,
        "LIVERMET_SLURM_PARTITION": PARTITION,
        "LIVERMET_SLURM_STATUS_COMMAND": "squeue",
    }
    env.pop("LIVERMET_SLURM_ACCOUNT", None)
    process = start_snakemake(
        workdir,
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
        log = finish_snakemake(process, workdir, cluster)
    finally:
        stop_snakemake(process)
    run_id = re.search(r"SLURM run ID: (\S+)", log).group(1)
    return SlurmRun(workdir, log, squeue_records(cluster, run_id))


def finish_snakemake(
    process: subprocess.Popen, workdir: Path, cluster: Cluster | None = None
) -> str:
    """Wait for a run (with a time limit) and return its log; on failure show it and the
    SLURM daemons' logs."""
    try:
        process.wait(timeout=RUN_TIMEOUT)
    except subprocess.TimeoutExpired:
        pytest.fail(f"snakemake ran past {RUN_TIMEOUT} s\n{tail(workdir)}{daemon_logs(cluster)}")
    assert process.returncode == 0, tail(workdir) + daemon_logs(cluster)
    return (workdir / LOG).read_text()


def rerun_outputs(workdir: Path) -> list[Path]:
    """What the SLURM run makes again: RERUN_SAMPLE's ingest and QC files, the atlas, the
    targets."""
    results = workdir / "results"
    outputs = {
        results / "ingest" / f"{RERUN_SAMPLE}.h5ad",
        *results.glob(f"qc/{RERUN_SAMPLE}.*"),
        *results.glob("atlas/*"),
        *(workdir / table for table in TABLES),
        *results.glob("figures/fig1G.*"),
    }
    return sorted(outputs)


def daemon_logs(cluster: Cluster | None) -> str:
    return f"\n{cluster.logs()}" if cluster else ""


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


def planned_jobs(log: str) -> Counter:
    """Jobs per rule from the "Job stats" table that snakemake prints before it starts."""
    table = log.split("Job stats:", 1)[1].split("\n\n", 1)[0]
    rows = [line.split() for line in table.splitlines()]
    return Counter({row[0]: int(row[1]) for row in rows if len(row) == 2 and row[1].isdigit()})


def submissions(log: str) -> dict[str, Path]:
    """SLURM job id -> the plugin's log file, from the lines the plugin logs per submission."""
    pattern = r"has been submitted with SLURM jobid (\d+) \(log: (.+?)\)\."
    return {job_id: Path(path) for job_id, path in re.findall(pattern, log)}


def minutes(time_limit: str) -> int:
    """squeue's time limit ([days-][hours:]minutes:seconds) in minutes."""
    days, _, clock = time_limit.rpartition("-")
    hours, mins, _ = (["0"] + clock.split(":"))[-3:]
    return int(days or 0) * 1440 + int(hours) * 60 + int(mins)


def test_every_non_local_job_ran_as_a_slurm_job(slurm_run):
    planned = planned_jobs(slurm_run.log)
    del planned["total"]
    assert planned == RERUN_JOBS  # what was removed, and nothing upstream of it
    remote = Counter({rule: n for rule, n in planned.items() if rule not in LOCAL_RULES})
    assert Counter(job["rule"] for job in slurm_run.jobs) == remote
    assert {job["state"] for job in slurm_run.jobs} == {"COMPLETED"}
    local = Counter(re.findall(r"^localrule (\w+):", slurm_run.log, flags=re.MULTILINE))
    assert local == planned - remote
    assert (slurm_run.workdir / "results/figures/fig1G.pdf").exists()


def test_each_slurm_job_ran_its_rule(slurm_run):
    logged = submissions(slurm_run.log)
    assert set(logged) == {job["id"] for job in slurm_run.jobs}
    slurm_logs = (slurm_run.workdir / ".snakemake/slurm_logs").resolve()
    for job in slurm_run.jobs:
        path = logged[job["id"]]
        assert path.is_relative_to(slurm_logs / f"rule_{job['rule']}"), path
        assert f"Finished jobid: 0 (Rule: {job['rule']})" in path.read_text(), path


def test_the_resources_reach_sbatch(slurm_run):
    profile = yaml.safe_load((PROFILE / "config.yaml").read_text())
    runtime = profile["default-resources"]["runtime"]
    logged = submissions(slurm_run.log)
    for job in slurm_run.jobs:
        rule = job["rule"]
        assert job["partition"] == PARTITION, job
        assert minutes(job["time_limit"]) == profile["set-resources"].get(rule, {}).get(
            "runtime", runtime
        ), job
        if rule in profile["set-threads"]:
            assert int(job["cpus"]) == min(profile["set-threads"][rule], THREADS), job
        mem_mb = re.search(r"\bmem_mb=(\d+)", logged[job["id"]].read_text()).group(1)
        assert job["memory"] == f"{mem_mb}M", job


def test_tables_are_identical_to_a_local_run(slurm_run, demo_run):
    for table in TABLES:
        assert (slurm_run.workdir / table).read_bytes() == (demo_run / table).read_bytes(), table
