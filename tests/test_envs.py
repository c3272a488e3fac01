"""Software environments: the conda envs pin what pyproject.toml pins, and every rule names one.

Jobs run in the envs/*.yaml environments under ``--sdm conda`` (clusters) and in the environment
that ``pip install .`` builds from pyproject.toml otherwise (workstations, CI). A version that
differs between the two would make results depend on how the workflow was started.
"""

from __future__ import annotations

import contextlib
import re
import tomllib
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from snakemake.api import SnakemakeApi
from snakemake.settings.enums import Quietness
from snakemake.settings.types import ConfigSettings, OutputSettings, ResourceSettings
from workflow_utils import REPO, make_workdir

ENVS = sorted((REPO / "envs").glob("*.yaml"))
CORE_ENV = REPO / "envs" / "core.yaml"
# The workflow engine runs on the submit host; jobs do not import it (Snakemake puts its own
# installation on a script's path), so the envs need not carry it.
ENGINE = {"snakemake"}
# What a conda env needs to hold pip packages, beyond pyproject's dependencies.
TOOLCHAIN = {"python", "pip"}
# The workflow's rules differ by config (demo rules, dataset rules): check each config's rules.
CONFIGS = {"demo": [], "paper": ["config/paper.yaml"]}


def project() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text())["project"]


def pyproject_pins() -> dict[str, SpecifierSet]:
    """Runtime dependencies of the package: name -> version specifier."""
    requirements = map(Requirement, project()["dependencies"])
    return {canonicalize_name(r.name): r.specifier for r in requirements}


def env_pins(path: Path) -> dict[str, SpecifierSet]:
    """Conda and pip dependencies of an env file: name -> version specifier."""
    pins = {}
    for entry in yaml.safe_load(path.read_text())["dependencies"]:
        if isinstance(entry, dict):
            for spec in entry.get("pip", []):
                requirement = Requirement(spec)
                pins[canonicalize_name(requirement.name)] = requirement.specifier
        else:
            name, specifier = conda_spec(entry)
            pins[name] = specifier
    return pins


def conda_spec(entry: str) -> tuple[str, SpecifierSet]:
    """A conda match spec as name and specifier; conda's ``name=1.2`` reads as ``==1.2``."""
    name, version = re.fullmatch(r"([\w.-]+)\s*(.*)", entry.split("::")[-1]).groups()
    version = version.replace(" ", "")
    if re.match(r"=[^=]", version):
        version = "=" + version
    return canonicalize_name(name), SpecifierSet(version)


@pytest.mark.parametrize("env", ENVS, ids=lambda path: path.name)
def test_env_versions_agree_with_pyproject(env):
    project_pins = pyproject_pins()
    differing = {
        name: (str(specifier), str(project_pins[name]))
        for name, specifier in env_pins(env).items()
        if name in project_pins and specifier != project_pins[name]
    }
    assert differing == {}, "package: (env, pyproject)"


def test_core_env_holds_exactly_the_runtime_dependencies():
    runtime = set(pyproject_pins()) - ENGINE
    assert set(env_pins(CORE_ENV)) - TOOLCHAIN == runtime


@pytest.mark.parametrize("env", ENVS, ids=lambda path: path.name)
def test_env_python_satisfies_requires_python(env):
    python = env_pins(env).get("python")
    if python is None:
        pytest.skip(f"{env.name} does not pin python")
    (pin,) = python
    assert pin.operator == "==" and pin.version in SpecifierSet(project()["requires-python"])


@pytest.fixture(scope="module", params=CONFIGS, ids=str)
def rule_envs(request, tmp_path_factory) -> dict[str, Path | None]:
    """Rule -> the conda env file it names, for every rule that runs code (not ``all``)."""
    workdir = make_workdir(tmp_path_factory.mktemp(request.param) / "run")
    configfiles = [workdir / "config/config.yaml", *(workdir / f for f in CONFIGS[request.param])]
    with (
        contextlib.chdir(workdir),
        SnakemakeApi(OutputSettings(quiet={Quietness.ALL})) as api,
    ):
        workflow = api.workflow(
            resource_settings=ResourceSettings(),
            config_settings=ConfigSettings(configfiles=configfiles),
            snakefile=workdir / "Snakefile",
            workdir=workdir,
        )._workflow
        return {
            rule.name: env_file(rule.conda_env, Path(rule.snakefile).parent, workdir)
            for rule in workflow.rules
            if not (rule.norun or rule.is_run)
        }


def env_file(conda_env: str | None, rule_dir: Path, workdir: Path) -> Path | None:
    """The env file a rule names, relative to the project (None when it names none)."""
    if conda_env is None:
        return None
    return (rule_dir / conda_env).resolve().relative_to(workdir)


def test_every_rule_names_an_env_of_envs(rule_envs):
    assert {"ingest", "qc", "integrate", "annotate", "figure"} <= set(rule_envs)
    known = {Path("envs") / path.name for path in ENVS}
    assert {rule: env for rule, env in rule_envs.items() if env not in known} == {}
