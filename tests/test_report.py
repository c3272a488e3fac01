"""The workflow as users run it: the HTML report, the scorecard on the demo, a run killed mid-write
and rerun, and a planted effect switched off.

The session's run of the default demo (``demo_run``, all targets) is shared by the report and
scorecard checks and is the reference of the kill-and-rerun check, which works on a copy of it
with annotate's outputs removed (that two runs from scratch give identical tables is checked by
tests/test_slurm.py, SLURM against local); the switched-off effect runs a 200-cell demo to the
tables it needs (with every effect on, that size reproduces the claim too).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import time

import pandas as pd
import pytest
from workflow_utils import SNAKEMAKE, make_workdir, snakemake

from livermet.panels import PANELS
from livermet.scorecard import (
    NOT_REPRODUCED,
    NOT_TESTABLE,
    REPRODUCED,
    evaluate_claims,
    load_claims,
)

pytestmark = pytest.mark.workflow

ATLAS_TABLES = (
    "results/atlas/clusters.tsv",
    "results/atlas/markers.tsv",
    "results/atlas/composition.tsv",
    "results/atlas/cell_types.tsv",
    "results/de/Hepatocyte/PMN_vs_control.tsv",
)
"""Annotate's tables and one downstream of it: the killed run rebuilds them, and they must equal
the reference run's byte for byte."""


def embedded(page: str, script_id: str, name: str):
    """A JSON value the Snakemake report embeds as ``<script id=...> var <name> = ...;``."""
    start = re.search(rf'<script id="{script_id}">\s*var {name} = ', page).end()
    return json.JSONDecoder().raw_decode(page, start)[0]


def test_report_holds_every_indexed_figure_with_its_caption(demo_run):
    snakemake(demo_run, "--report", "results/report.html")
    page = (demo_run / "results/report.html").read_text()
    results = embedded(page, "results", "results")
    categories = embedded(page, "categories", "categories")
    index = pd.read_csv(demo_run / "results/figures/index.tsv", sep="\t")
    assert list(index["panel"]) == list(PANELS)
    figures = {path: entry for path, entry in results.items() if path.startswith("results/figures")}
    assert sorted(figures) == sorted(f"results/figures/{panel}.png" for panel in index["panel"])
    for row in index.itertuples():
        entry = figures[f"results/figures/{row.panel}.png"]
        assert entry["mime_type"] == "image/png"
        assert entry["data_uri"].startswith("data:image/png;") and ";base64," in entry["data_uri"]
        caption = entry["caption"]
        for text in (row.title, row.claim, f"panel {row.panel[3:]} of Jiang et al."):
            assert " ".join(text.split()) in _plain(caption), (row.panel, caption)
        in_figure = [path for paths in categories[row.figure].values() for path in paths]
        assert f"results/figures/{row.panel}.png" in in_figure
    for table in ("claims", "qc_summary", "figure_index"):
        entry = results[f"results/report/{table}.html"]
        assert entry["mime_type"] == "text/html" and entry["caption"]
    assert "Reproduction scorecard" in categories and "Quality control" in categories
    description = embedded(page, "workflow-desc", "workflow_desc")
    assert "livermet: a reanalysis of Jiang et al." in description
    assert "This report comes from the bundled demo study" in _plain(description)


def _plain(text: str) -> str:
    """Caption text without HTML tags and entities, for comparing with the panel's words."""
    import html

    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", "", text))).strip()


def test_every_planted_claim_is_reproduced_on_the_demo(demo_run):
    table = pd.read_csv(demo_run / "results/claims.tsv", sep="\t", dtype=str).fillna("")
    table = table.set_index("claim_id")
    claims = {claim.id: claim for claim in load_claims(demo_run / "resources/claims.yaml")}
    assert list(table.index) == list(claims)
    untestable = table[table["verdict"] == NOT_TESTABLE]
    # inputs that exist but do not fit the claim (a renamed column) fail here, not silently
    assert untestable["reason"].str.startswith("this run does not produce").all(), untestable
    planted = table.index.map(lambda claim_id: claims[claim_id].planted).to_numpy(dtype=bool)
    testable = table[(table["verdict"] != NOT_TESTABLE).to_numpy() & planted]
    assert len(testable) >= 40
    assert (testable["verdict"] == REPRODUCED).all(), testable[testable["verdict"] != REPRODUCED]


def test_a_run_killed_mid_write_reruns_to_identical_tables(demo_run, tmp_path):
    workdir = tmp_path / "killed"
    shutil.copytree(demo_run, workdir, symlinks=True)  # mtimes kept: only annotate is to redo
    for output in (*ATLAS_TABLES, "results/atlas/atlas.h5ad"):
        (workdir / output).unlink()
    job = subprocess.Popen(
        [SNAKEMAKE, "--cores", "2", *ATLAS_TABLES],
        cwd=workdir,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own process group: snakemake and every job it started
    )
    first_output = workdir / ATLAS_TABLES[0]  # annotate's first write: the job is writing
    deadline = time.monotonic() + 600
    while not first_output.exists():
        assert job.poll() is None, "snakemake ended before annotate wrote"
        assert time.monotonic() < deadline, "annotate did not start in time"
        time.sleep(0.01)
    os.killpg(job.pid, signal.SIGKILL)
    job.wait()
    assert not (workdir / "results/atlas/atlas.h5ad").exists(), "annotate finished before the kill"
    assert list((workdir / ".snakemake/incomplete").iterdir())

    # what a user types (README): the plain rerun refuses and names the flag; the killed run's
    # lock is removed; then the rerun redoes the interrupted job and the one after it
    refused = snakemake(workdir, *ATLAS_TABLES, check=False)
    assert refused.returncode != 0
    assert "--rerun-incomplete" in refused.stdout + refused.stderr
    assert "results/atlas/clusters.tsv" in refused.stdout + refused.stderr
    snakemake(workdir, "--unlock")
    rerun = snakemake(workdir, "--rerun-incomplete", *ATLAS_TABLES)
    planned = rerun.stdout + rerun.stderr
    assert re.search(r"^annotate\s+1$", planned, re.MULTILINE), planned  # and the DE after it,
    assert re.search(r"^total\s+2$", planned, re.MULTILINE), planned  # nothing upstream
    for table in ATLAS_TABLES:
        assert (workdir / table).read_bytes() == (demo_run / table).read_bytes(), table


def test_switching_off_a_planted_effect_turns_its_claim_not_reproduced(tmp_path):
    """A small demo without the hepatocyte PMN programme: its claim (Saa1 ... Cxcl1 top up in PMN)
    fails, while the claim on another programme of the same cells and contrast, left on (bile
    acid genes down in PMN), still holds, so the failure is the switch's, not the size's. GSEA
    keeps its first pass (no refinement of FDRs: the claim reads the NES sign; ~27 s less CPU)."""
    workdir = make_workdir(
        tmp_path / "flipped",
        demo={"cells_per_sample": 200, "effects": {"hepatocyte_pmn_programme": 0}},
        gsea={"refine_fdr_below": 0},
    )
    tables = {
        "hepatocyte_de_PMN_vs_control": "results/de/Hepatocyte/PMN_vs_control.tsv",
        "hepatocyte_gsea_PMN_vs_control": "results/gsea/Hepatocyte/PMN_vs_control.tsv",
    }
    snakemake(workdir, *tables.values())
    claims = [c for c in load_claims(workdir / "resources/claims.yaml") if c.input in tables]
    paths = {name: str(workdir / path) for name, path in tables.items()}
    result = evaluate_claims(claims, paths).set_index("claim_id")
    switched_off = result.loc["fig2A-acute-phase-top-up-pmn"]
    assert switched_off["verdict"] == NOT_REPRODUCED
    # without their programme the six genes are up by chance at most (with it: all six in the top 6)
    assert switched_off["value"].count("#") <= 1, switched_off["value"]
    assert result.loc["fig2D-bile-acid-down-pmn", "verdict"] == REPRODUCED
