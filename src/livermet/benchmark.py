"""Benchmark harness: the demo study at a chosen scale, run by Snakemake, and one table of what
every job cost.

Performance is measured, not asserted: Snakemake's ``benchmark:`` file of each job (wall seconds,
peak RSS, CPU seconds) is the record, and this module gathers them into one table and a markdown
summary with the machine it ran on. Run it as
``python -m livermet.benchmark --cells 54000 --workdir DIR``; the run lives in its own directory
(a copy of the workflow, the package imported from this checkout), so the project's ``results/``
is never touched.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import yaml

from livermet.errors import InputError
from livermet.io import write_table

PROJECT_PARTS = ("Snakefile", "config", "workflow", "resources", "envs")
"""What a run directory needs of the project (``src`` is linked, not copied)."""
TARGETS = {
    "core": ("results/atlas/atlas.h5ad",),  # ingest -> QC -> integration -> annotated atlas
    "all": (),  # the workflow's default target: every table and figure
}
INPUTS_RULE = "demo_study"
"""Generates the demo's count files; run first, on its own, so that a run's wall time is the
workflow's, not the simulation's."""
N_SAMPLES = 6  # the demo's livers (config/samples.tsv)
COLUMNS = {"s": "wall_s", "max_rss": "max_rss_mb", "cpu_time": "cpu_s"}


def prepare_run(project: Path, workdir: Path, cells: int) -> Path:
    """A run directory: the workflow copied from ``project``, the demo scaled to ``cells``."""
    if cells < N_SAMPLES * 50:
        raise InputError(f"--cells {cells}: at least {N_SAMPLES * 50} (50 per demo liver)")
    copy_workflow(project, workdir)
    config_path = workdir / "config" / "config.yaml"
    config = yaml.safe_load(config_path.read_text())
    config["demo"]["cells_per_sample"] = cells // N_SAMPLES
    config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    return workdir


def copy_workflow(project: Path, workdir: Path) -> None:
    """Copy the workflow of ``project`` into ``workdir`` (new, or without results) and link its
    package source, so that a run there never touches the project's ``results/``."""
    if (workdir / "results").exists():
        raise InputError(f"{workdir}: holds results of an earlier run; give a new directory")
    workdir.mkdir(parents=True, exist_ok=True)
    for part in PROJECT_PARTS:
        source = project / part
        if source.is_dir():
            shutil.copytree(source, workdir / part, dirs_exist_ok=True)
        else:
            shutil.copy(source, workdir / part)
    if not (workdir / "src").exists():
        (workdir / "src").symlink_to(project / "src")


def run_workflow(
    workdir: Path,
    cores: int,
    targets: tuple[str, ...],
    dry_run: bool,
    log_name: str = "snakemake.log",
    mem_mb: int | None = None,
) -> float:
    """Run Snakemake in ``workdir``; its own output goes to ``log_name`` there. Returns the wall
    seconds of the whole run. ``mem_mb``: the memory Snakemake starts jobs within, by their
    ``mem_mb`` requests (a job asking more than all runs alone)."""
    command = [str(Path(sys.executable).parent / "snakemake"), *targets, "--cores", str(cores)]
    if mem_mb:
        command += ["--resources", f"mem_mb={mem_mb}"]
    if dry_run:
        command.append("--dry-run")
    start = time.perf_counter()
    with open(workdir / log_name, "w") as log:
        result = subprocess.run(command, cwd=workdir, stdout=log, stderr=subprocess.STDOUT)
    if result.returncode != 0:
        raise InputError(f"snakemake failed in {workdir}; see {workdir / log_name}")
    return time.perf_counter() - start


def collect_benchmarks(folder: Path) -> pd.DataFrame:
    """One row per job from Snakemake benchmark files under ``folder``: the job (the file's path
    without ``.tsv``), wall seconds, peak RSS (MB) and CPU seconds, costliest first."""
    rows = []
    for path in sorted(folder.rglob("*.tsv")):
        record = pd.read_csv(path, sep="\t").iloc[-1]  # repeated runs append; keep the last
        job = path.relative_to(folder).with_suffix("").as_posix()
        rows.append({"job": job, **{new: float(record[old]) for old, new in COLUMNS.items()}})
    if not rows:
        raise InputError(f"{folder}: no Snakemake benchmark files")
    table = pd.DataFrame(rows)
    return table.sort_values(["wall_s", "job"], ascending=[False, True], ignore_index=True)


def machine() -> str:
    """What the numbers were measured on: CPU model, cores, memory, OS."""
    cpu = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        names = [
            line.split(":", 1)[1].strip()
            for line in cpuinfo.read_text().splitlines()
            if line.startswith("model name")
        ]
        cpu = names[0] if names else cpu
    memory_mb = machine_memory_mb()
    memory = f", {memory_mb / 1024:.0f} GB" if memory_mb else ""
    return f"{cpu}, {os.cpu_count()} cores{memory}, {platform.system()} {platform.release()}"


def machine_memory_mb() -> int | None:
    """This machine's memory in MB (None where the OS does not tell)."""
    if hasattr(os, "sysconf") and "SC_PHYS_PAGES" in os.sysconf_names:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") // 2**20
    return None


def summary(
    table: pd.DataFrame, cells: int, target: str, cores: int, wall: float, inputs_wall: float
) -> str:
    """Markdown: the run's totals and the per-job table; the demo's generation (:data:`INPUTS_RULE`,
    ``inputs_wall`` s, run first) is named but kept out of the totals and the table."""
    jobs = table[table["job"] != INPUTS_RULE]
    lines = [
        f"Demo at {cells:,} cells, target `{target}`, `--cores {cores}`, on {machine()}.",
        "",
        f"Whole run {wall:.0f} s wall; jobs: {len(jobs)}, summed job wall "
        f"{jobs['wall_s'].sum():.0f} s, largest peak RSS {jobs['max_rss_mb'].max():.0f} MB "
        f"(the demo's counts generated before, by `{INPUTS_RULE}`, in {inputs_wall:.0f} s).",
        "",
        "| job | wall s | peak RSS MB | CPU s |",
        "|---|---:|---:|---:|",
    ]
    lines += [
        f"| {row.job} | {row.wall_s:.1f} | {row.max_rss_mb:.0f} | {row.cpu_s:.1f} |"
        for row in jobs.itertuples()
    ]
    return "\n".join(lines) + "\n"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m livermet.benchmark", description=" ".join(__doc__.split("\n\n")[0].split())
    )
    parser.add_argument(
        "--cells", type=int, default=54000, help="demo cells in all (default 54000)"
    )
    parser.add_argument("--target", choices=sorted(TARGETS), default="core")
    add_run_arguments(parser, "a new directory for the run")
    return parser.parse_args(argv)


def add_run_arguments(parser: argparse.ArgumentParser, workdir_help: str) -> None:
    """The options of a harness that runs the workflow in its own directory: --workdir,
    --cores, --project (the checkout whose workflow is copied) and --dry-run."""
    parser.add_argument("--workdir", type=Path, required=True, help=workdir_help)
    parser.add_argument("--cores", type=int, default=2)
    memory = machine_memory_mb()
    parser.add_argument(
        "--mem-mb",
        type=int,
        default=int(0.9 * memory) if memory else None,
        help="memory in MB that jobs start within, by their mem_mb (default: 90%% of this "
        "machine's), so that two large jobs are not run side by side past it",
    )
    parser.add_argument("--project", type=Path, default=Path(__file__).resolve().parents[2])
    parser.add_argument("--dry-run", action="store_true", help="plan the jobs only")


def main(argv: list[str] | None = None) -> int:
    """Prepare, run, collect; writes ``benchmark.tsv`` and ``benchmark.md`` in the run directory."""
    args = parse_args(argv)
    try:
        workdir = prepare_run(args.project, args.workdir, args.cells)
        if not args.dry_run:
            inputs_wall = run_workflow(
                workdir, args.cores, (INPUTS_RULE,), False, "snakemake.inputs.log", args.mem_mb
            )
        wall = run_workflow(
            workdir, args.cores, TARGETS[args.target], args.dry_run, mem_mb=args.mem_mb
        )
        if args.dry_run:
            print(f"planned; see {workdir / 'snakemake.log'}")
            return 0
        table = collect_benchmarks(workdir / "results" / "benchmarks")
    except InputError as err:
        print(f"livermet.benchmark: {err}", file=sys.stderr)
        return 2
    write_table(table, workdir / "benchmark.tsv")
    text = summary(table, args.cells, args.target, args.cores, wall, inputs_wall)
    (workdir / "benchmark.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
