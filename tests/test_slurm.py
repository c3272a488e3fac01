"""The demo through profiles/slurm on a real one-node SLURM cluster that the test brings up.

The profile, the executor plugin and the local rules only meet on a real SLURM, so the session
starts munged, slurmctld and slurmd (tests/slurm/cluster.py) and reruns the demo's atlas stage with
``--profile profiles/slurm`` beside the session's demo run (tests/slurm/rerun.py); the tests check
that every non-local job ran as a SLURM job (squeue's records, the plugin's logs), that the
profile's settings reached sbatch, and that the tables are byte-identical to the plain local run
of the same demo (``demo_run``). The cluster has no accounting, as many small clusters, so job
states come from squeue and no account is given. Needs root (apt-get, the daemons); CI runs as
root.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from pathlib import Path

import pytest
import yaml
from slurm.rerun import PARTITION, PROFILE, TABLES, THREADS, SlurmRun

pytestmark = [
    pytest.mark.workflow,
    pytest.mark.slurm,
    pytest.mark.skipif(
        os.geteuid() != 0,
        reason="needs root: installs slurm-wlm and munge with apt-get and runs munged, "
        "slurmctld and slurmd as root",
    ),
]

LOCAL_RULES = {"figure"}  # the Snakefile's local rules among the rerun's jobs
RERUN_JOBS = Counter(["ingest", "qc", "qc_summary", "integrate", "annotate", "figure"])


@pytest.fixture(scope="module")
def slurm_run(slurm_rerun_started, demo_run) -> SlurmRun:
    """The rerun that the session started beside its demo run (tests/slurm/rerun.py); asking
    for ``demo_run`` too starts the demo run when only these tests are selected, and orders them
    with the other checks that wait for it (tests/conftest.py)."""
    return slurm_rerun_started.result()


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
