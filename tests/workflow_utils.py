"""Run the real workflow in a scratch copy of the project (tests never write into the checkout)."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
SNAKEMAKE = str(Path(sys.executable).parent / "snakemake")
LOG = "snakemake.log"  # a background run's output, in its directory


def make_workdir(root: Path, **overrides: dict) -> Path:
    """Copy what the workflow needs into ``root``; ``overrides`` update config sections."""
    root.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO / "Snakefile", root / "Snakefile")
    for folder in ("config", "workflow", "resources", "envs"):
        shutil.copytree(REPO / folder, root / folder, dirs_exist_ok=True)
    (root / "src").symlink_to(REPO / "src")
    config_path = root / "config" / "config.yaml"
    config = yaml.safe_load(config_path.read_text())
    for section, values in overrides.items():
        if isinstance(values, dict):
            config[section].update(values)
        else:
            config[section] = values
    config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    return root


def snakemake(workdir: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    """Run snakemake in ``workdir``; on an unexpected failure the assertion shows its output."""
    result = subprocess.run(
        [SNAKEMAKE, "--cores", "2", *args], cwd=workdir, capture_output=True, text=True
    )
    if check:
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
    return result


def start_snakemake(workdir: Path, *args: str, env: dict) -> subprocess.Popen:
    """Start snakemake in the background, in its own process group, its output going to
    ``workdir/snakemake.log``."""
    with open(workdir / LOG, "w") as log:
        return subprocess.Popen(
            [SNAKEMAKE, *args],
            cwd=workdir,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def stop_snakemake(process: subprocess.Popen) -> None:
    """End a run that a failure left going: its process group, i.e. snakemake and its jobs."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        if process.poll() is None:
            os.killpg(process.pid, sig)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=60)


def tail(workdir: Path) -> str:
    return (workdir / LOG).read_text()[-8000:]
