"""The seeds harness: verdicts of several demo seeds gathered per claim, its summary and errors
(the runs themselves are the harness's job, not the tests')."""

from __future__ import annotations

import pandas as pd
import pytest
import yaml
from workflow_utils import REPO

from livermet import seeds
from livermet.io import write_table

CLAIMS = REPO / "resources" / "claims.yaml"
NOT_TESTABLE = "not testable on these inputs"


def write_scorecard(path, verdicts: dict[str, tuple[str, str]]):
    rows = [
        {"claim_id": claim, "panel": claim.split("-")[0], "value": value, "verdict": verdict}
        for claim, (verdict, value) in verdicts.items()
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    write_table(pd.DataFrame(rows), path)
    return path


@pytest.fixture
def scorecards(tmp_path):
    return {
        1: write_scorecard(
            tmp_path / "1.tsv",
            {
                "fig1G-myeloid-rises": ("reproduced", "0.18; 0.26; 0.30"),
                "fig1G-tnk-falls": ("reproduced", "0.20; 0.15; 0.12"),
                "figS2H-n0-no-survival-link": ("not reproduced", "HR 0.27; p 0.032"),
            },
        ),
        7: write_scorecard(
            tmp_path / "7.tsv",
            {
                "fig1G-myeloid-rises": ("reproduced", "0.19; 0.25; 0.31"),
                "fig1G-tnk-falls": ("not reproduced", "0.20; 0.21; 0.12"),
                "figS2H-n0-no-survival-link": (NOT_TESTABLE, ""),
            },
        ),
    }


def test_verdicts_are_gathered_per_claim_with_the_share_reproduced(scorecards):
    table = seeds.verdicts_by_seed(seeds.read_scorecards(scorecards), CLAIMS).set_index("claim_id")
    assert list(table.columns) == [
        "panel",
        "planted",
        "seed_1",
        "seed_7",
        "n_tested",
        "reproduced_share",
    ]
    assert table.loc["fig1G-myeloid-rises", "reproduced_share"] == 1.0
    assert table.loc["fig1G-tnk-falls", ["n_tested", "reproduced_share"]].tolist() == [2, 0.5]
    unplanted = table.loc["figS2H-n0-no-survival-link"]
    assert unplanted[["n_tested", "reproduced_share"]].tolist() == [1, 0]
    assert table["planted"].tolist() == [True, True, False]  # figS2H is not planted (claims.yaml)
    assert table.loc["fig1G-tnk-falls", "panel"] == "fig1G"


def test_the_summary_counts_each_seed_and_names_each_miss_with_its_value(scorecards):
    cards = seeds.read_scorecards(scorecards)
    text = seeds.summary(seeds.verdicts_by_seed(cards, CLAIMS), cards)
    assert "| 1 | 2 of 3 | 2 of 2 |" in text
    assert "| 7 | 1 of 3 | 1 of 2 |" in text
    assert "| fig1G-tnk-falls | True | 1 of 2 | 7 (0.20; 0.21; 0.12) |" in text
    assert (
        "| figS2H-n0-no-survival-link | False | 0 of 1 | 1 (HR 0.27; p 0.032); "
        "7 (not testable on these inputs) |" in text
    )
    assert "fig1G-myeloid-rises" not in text


def test_each_seed_gets_its_own_run_directory_and_config_seed(tmp_path, capsys):
    for seed in (3, 5):
        run = seeds.prepare_seed_run(REPO, tmp_path / f"seed_{seed}", seed)
        assert yaml.safe_load((run / "config" / "config.yaml").read_text())["seed"] == seed
    code = seeds.main(["--seeds", "7", "--workdir", str(tmp_path / "runs"), "--dry-run"])
    assert code == 0, capsys.readouterr().err
    assert "scorecard" in (tmp_path / "runs" / "seed_7" / "snakemake.log").read_text()
    assert not (tmp_path / "runs" / "seed_7" / "results").exists()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--seeds", "3", "3"], "--seeds [3, 3]: a seed is given twice"),
        (["--seeds", "3"], "exists; give a new directory"),
    ],
)
def test_bad_runs_are_refused_with_one_line(tmp_path, capsys, argv, message):
    code = seeds.main([*argv, "--workdir", str(tmp_path), "--dry-run"])
    assert code == 2
    error = capsys.readouterr().err
    assert message in error and error.count("\n") == 1
