"""A throwaway one-node SLURM cluster (munged, slurmctld, slurmd) for tests/test_slurm.py.

Everything lives in one directory: configuration, munge key and socket, state, spool and logs. The
daemons run in the foreground as children of the test, so teardown stops exactly the processes it
started, by their PIDs. Needs root: apt installs the packages and the daemons run as root.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import secrets
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from string import Template
from typing import IO

TEMPLATE = Path(__file__).with_name("slurm.conf.template")
PACKAGES = ("slurm-wlm", "munge")
COMMANDS = ("munged", "munge", "slurmctld", "slurmd", "sbatch", "squeue", "sinfo", "scontrol")
HARDWARE = ("CPUs", "Boards", "SocketsPerBoard", "CoresPerSocket", "ThreadsPerCore", "RealMemory")
# The jobstep plugin removes SLURM_CONF before it calls srun inside a job, so srun finds the
# configuration only where clients look without it: /etc/slurm/slurm.conf, then the configless
# cache /run/slurm/conf. The cluster links the latter to its own configuration while it runs.
SYSTEM_CONF = Path("/etc/slurm/slurm.conf")
RUN_CONF = Path("/run/slurm/conf")
LOCK = Path("/tmp/livermet-slurm-test.lock")
LOCK_TIMEOUT = 1800  # seconds to wait for another test run's cluster to go away
START_TIMEOUT = 60  # seconds for each daemon to become ready
STOP_TIMEOUT = 20  # seconds for each daemon to exit after SIGTERM
INSTALL_TIMEOUT = 600


class ClusterError(RuntimeError):
    """The cluster could not be set up or a command on it failed (the message says why)."""


@dataclass
class Cluster:
    """A running cluster: its directory, node, partition and the daemons started for it."""

    root: Path
    partition: str
    node: str = ""
    daemons: dict[str, subprocess.Popen] = field(default_factory=dict)
    created: list[Path] = field(default_factory=list)

    @property
    def conf(self) -> Path:
        return self.root / "etc" / "slurm.conf"

    @property
    def munge_socket(self) -> Path:
        return self.root / "run" / "munge.socket"

    @property
    def env(self) -> dict[str, str]:
        """The environment for SLURM commands: this cluster's configuration, not the system's."""
        return {**os.environ, "SLURM_CONF": str(self.conf)}

    def command(self, *args: str, timeout: float = 30) -> str:
        """Run a SLURM client command against this cluster and return its stdout."""
        result = subprocess.run(
            args, env=self.env, capture_output=True, text=True, timeout=timeout, check=False
        )
        if result.returncode != 0:
            raise ClusterError(f"{' '.join(args)} failed: {result.stderr.strip()}")
        return result.stdout

    def logs(self, lines: int = 40) -> str:
        """The last lines of every daemon's log, for failure messages."""
        parts = []
        for path in sorted((self.root / "log").glob("*")):
            tail = path.read_text(errors="replace").splitlines()[-lines:]
            parts.append(f"--- {path.name} ---\n" + "\n".join(tail))
        return "\n".join(parts)


@contextlib.contextmanager
def one_node_cluster(root: Path, partition: str) -> Iterator[Cluster]:
    """Bring up munged, slurmctld and slurmd in ``root``; stop them (and their jobs) on exit."""
    with exclusive(LOCK):
        install_packages()
        refuse_system_config()
        cluster = Cluster(root=root, partition=partition)
        try:
            write_config(cluster)
            start(cluster)
            yield cluster
        finally:
            stop(cluster)


@contextlib.contextmanager
def exclusive(path: Path) -> Iterator[None]:
    """One test cluster per machine at a time: they would share /run/slurm/conf."""
    deadline = time.monotonic() + LOCK_TIMEOUT
    with open(path, "w") as lock:
        while not locked(lock):
            if time.monotonic() > deadline:
                raise ClusterError(f"another test cluster held {path} for {LOCK_TIMEOUT} s")
            time.sleep(1)
        yield


def locked(file: IO) -> bool:
    """Take the lock if it is free (without waiting)."""
    try:
        fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def install_packages() -> None:
    """Install Debian's SLURM and munge unless their commands are already there."""
    if all(shutil.which(command) for command in COMMANDS):
        return
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for args in (
        ["apt-get", "update"],
        ["apt-get", "install", "-y", "--no-install-recommends", *PACKAGES],
    ):
        result = subprocess.run(
            args, env=env, capture_output=True, text=True, timeout=INSTALL_TIMEOUT, check=False
        )
        if result.returncode != 0:
            raise ClusterError(f"{' '.join(args)} failed:\n{result.stdout[-2000:]}{result.stderr}")


def refuse_system_config() -> None:
    """A machine with its own SLURM configuration would send the jobs' srun to that cluster."""
    if RUN_CONF.is_symlink() and not RUN_CONF.exists():
        RUN_CONF.unlink()  # left by a test run that was killed: it points nowhere
    for path in (SYSTEM_CONF, RUN_CONF):
        if path.exists():
            raise ClusterError(f"{path} exists: this machine has its own SLURM configuration")


def node_hardware() -> dict[str, str]:
    """This machine as slurmd sees it (name, CPUs, sockets, cores, memory): ``slurmd -C``."""
    first_line = subprocess.run(
        ["slurmd", "-C"], capture_output=True, text=True, timeout=30, check=True
    ).stdout.splitlines()[0]
    return dict(item.split("=", 1) for item in first_line.split())


def free_ports(count: int) -> list[int]:
    """Distinct TCP ports nobody listens on now, so a system slurmctld/slurmd cannot clash."""
    with contextlib.ExitStack() as stack:
        probes = [stack.enter_context(socket.socket()) for _ in range(count)]
        for probe in probes:
            probe.bind(("127.0.0.1", 0))
        return [probe.getsockname()[1] for probe in probes]


def write_config(cluster: Cluster) -> None:
    """slurm.conf for this machine, a fresh munge key, and the directories the daemons use."""
    root = cluster.root
    root.chmod(0o755)  # munged wants its socket directory (and parents) traversable by all
    for name, mode in (("etc", 0o755), ("key", 0o700), ("run", 0o755)):
        (root / name).mkdir(mode=mode)
    for name in ("state", "spool", "log"):
        (root / name).mkdir()
    key = root / "key" / "munge.key"
    key.write_bytes(secrets.token_bytes(1024))
    key.chmod(0o600)
    hardware = node_hardware()
    ctld_port, slurmd_port = free_ports(2)
    cluster.node = hardware["NodeName"]
    cluster.conf.write_text(
        Template(TEMPLATE.read_text()).substitute(
            root=root,
            node=cluster.node,
            hardware=" ".join(f"{key}={hardware[key]}" for key in HARDWARE),
            partition=cluster.partition,
            munge_socket=cluster.munge_socket,
            ctld_port=ctld_port,
            slurmd_port=slurmd_port,
        )
    )


def start(cluster: Cluster) -> None:
    """Start the daemons in order, each once the one before it answers."""
    root, conf = cluster.root, str(cluster.conf)
    spawn(
        cluster,
        "munged",
        "--foreground",
        f"--socket={cluster.munge_socket}",
        f"--key-file={root / 'key' / 'munge.key'}",
        f"--pid-file={root / 'key' / 'munged.pid'}",
        f"--seed-file={root / 'key' / 'munged.seed'}",
    )
    wait_for(
        cluster, "munged", lambda: quiet(cluster, "munge", "-n", "-S", str(cluster.munge_socket))
    )
    spawn(cluster, "slurmctld", "-D", "-f", conf)
    wait_for(cluster, "slurmctld", lambda: "UP" in quiet(cluster, "scontrol", "ping"))
    link_run_conf(cluster)
    spawn(cluster, "slurmd", "-D", "-f", conf, "-N", cluster.node)
    wait_for(
        cluster,
        "an idle node",
        lambda: (
            quiet(cluster, "sinfo", "-h", "-N", "-p", cluster.partition, "-o", "%T").strip()
            == "idle"
        ),
    )


def spawn(cluster: Cluster, name: str, *args: str) -> None:
    """Start one daemon in the foreground, its output going to log/<name>.out."""
    with open(cluster.root / "log" / f"{name}.out", "w") as out:
        cluster.daemons[name] = subprocess.Popen(
            [name, *args], stdout=out, stderr=subprocess.STDOUT, env=cluster.env
        )


def link_run_conf(cluster: Cluster) -> None:
    """Point /run/slurm/conf at the cluster's configuration (see RUN_CONF); undone by stop()."""
    if not RUN_CONF.parent.exists():
        RUN_CONF.parent.mkdir(parents=True)
        cluster.created.append(RUN_CONF.parent)
    RUN_CONF.symlink_to(cluster.conf.parent, target_is_directory=True)
    cluster.created.append(RUN_CONF)


def quiet(cluster: Cluster, *args: str) -> str:
    """A command's output, or "" while the daemon it asks is not up yet."""
    try:
        return cluster.command(*args, timeout=10)
    except (ClusterError, subprocess.TimeoutExpired):
        return ""


def wait_for(cluster: Cluster, what: str, ready: Callable[[], object]) -> None:
    """Poll until ready() is true; fail at once, with the logs, if a daemon exits meanwhile."""
    deadline = time.monotonic() + START_TIMEOUT
    while not ready():
        dead = [name for name, process in cluster.daemons.items() if process.poll() is not None]
        if dead:
            exited = ", ".join(dead)
            raise ClusterError(f"{exited} exited while waiting for {what}\n{cluster.logs()}")
        if time.monotonic() > deadline:
            raise ClusterError(f"no {what} after {START_TIMEOUT} s\n{cluster.logs()}")
        time.sleep(0.5)


def stop(cluster: Cluster) -> None:
    """Cancel leftover jobs, stop the daemons by PID (newest first), undo /run/slurm/conf."""
    if "slurmd" in cluster.daemons:
        cancel_jobs(cluster)
    for process in reversed(cluster.daemons.values()):
        process.terminate()
        try:
            process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=STOP_TIMEOUT)
    for path in reversed(cluster.created):
        if path.is_symlink():
            path.unlink()
        else:
            path.rmdir()


def cancel_jobs(cluster: Cluster) -> None:
    """Cancel what a failed run left behind and let slurmd reap it before it is stopped."""
    quiet(cluster, "scancel", "--partition", cluster.partition)
    deadline = time.monotonic() + STOP_TIMEOUT
    while time.monotonic() < deadline and quiet(
        cluster, "squeue", "-h", "-p", cluster.partition, "-t", "RUNNING,COMPLETING"
    ):
        time.sleep(0.5)
