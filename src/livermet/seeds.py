"""Claim robustness across demo seeds: the demo study drawn with several seeds, each run through the
workflow to its scorecard, and one table of how often each claim reads *reproduced*.

One draw of the demo says little about a claim whose planted effect is small against mouse-to-mouse
variation; a claim that holds on one seed and fails on the next is planted too weakly (or checked
too tightly). Run it as ``python -m livermet.seeds --seeds 20250336 2 3 --workdir DIR``; each seed
runs in its own directory (a copy of the workflow, as the benchmark harness makes), one after the
other, and ``DIR/claims_by_seed.tsv`` and ``.md`` gather the verdicts.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd
import yaml

from livermet.benchmark import add_run_arguments, copy_workflow, run_workflow
from livermet.errors import InputError
from livermet.io import read_table, write_table
from livermet.scorecard import load_claims

SCORECARD = "results/claims.tsv"
REPRODUCED = "reproduced"


def prepare_seed_run(project: Path, workdir: Path, seed: int) -> Path:
    """A run directory for one seed: the workflow copied from ``project``, its config's seed set."""
    copy_workflow(project, workdir)
    config_path = workdir / "config" / "config.yaml"
    config = yaml.safe_load(config_path.read_text())
    config["seed"] = seed
    config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    return workdir


def read_scorecards(paths: dict[int, Path]) -> dict[str, pd.DataFrame]:
    """Each seed's ``claims.tsv`` indexed by claim, keyed ``seed_<seed>`` in the order given."""
    return {f"seed_{seed}": read_table(path).set_index("claim_id") for seed, path in paths.items()}


def verdicts_by_seed(scorecards: dict[str, pd.DataFrame], claims_file: Path) -> pd.DataFrame:
    """One row per claim: panel, whether the demo plants it, its verdict on each seed (a column
    per seed, as :func:`read_scorecards` keys them), the seeds it was tested on and the share
    reproduced there."""
    planted = {claim.id: claim.planted for claim in load_claims(claims_file)}
    table = pd.DataFrame({seed: card["verdict"] for seed, card in scorecards.items()})
    tested = table.ne("not testable on these inputs") & table.notna()
    table.insert(0, "planted", table.index.map(planted).astype(bool))
    first = next(iter(scorecards.values()))["panel"]
    table.insert(0, "panel", table.index.map(first))
    table["n_tested"] = tested.sum(axis=1)
    reproduced = table.filter(like="seed_").eq(REPRODUCED) & tested
    table["reproduced_share"] = reproduced.sum(axis=1) / table["n_tested"].where(
        table["n_tested"] > 0
    )
    return table.rename_axis("claim_id").reset_index()


def summary(table: pd.DataFrame, scorecards: dict[str, pd.DataFrame]) -> str:
    """Markdown: per seed, claims reproduced (all and planted); then every claim not reproduced
    on some seed, with the value its check computed there."""
    seeds = [column for column in table if column.startswith("seed_")]
    planted = table["planted"]
    lines = ["| seed | reproduced | planted reproduced |", "|---|---:|---:|"]
    for column in seeds:
        reproduced = table[column].eq(REPRODUCED)
        lines.append(
            f"| {column.removeprefix('seed_')} | {reproduced.sum()} of {len(table)} "
            f"| {(reproduced & planted).sum()} of {planted.sum()} |"
        )
    missed = table[table["reproduced_share"] < 1]
    lines += ["", "| claim | planted | reproduced on | missed on (value) |", "|---|---|---:|---|"]
    for row in missed.itertuples():
        misses = [
            f"{column.removeprefix('seed_')} "
            f"({_miss(getattr(row, column), scorecards[column]['value'], row)})"
            for column in seeds
            if getattr(row, column) != REPRODUCED
        ]
        share = f"{row.reproduced_share * row.n_tested:.0f} of {row.n_tested}"
        lines.append(f"| {row.claim_id} | {row.planted} | {share} | {'; '.join(misses)} |")
    return "\n".join(lines) + "\n"


def _miss(verdict: str, values: pd.Series, row) -> str:
    """What a seed's scorecard says of a claim it did not reproduce: the value its check computed,
    or the verdict where there was none (not testable, or no row)."""
    return str(values[row.claim_id]) if verdict == "not reproduced" else str(verdict)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m livermet.seeds", description=" ".join(__doc__.split("\n\n")[0].split())
    )
    parser.add_argument("--seeds", type=int, nargs="+", required=True)
    add_run_arguments(parser, "a new directory for the runs")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run every seed to its scorecard; writes ``claims_by_seed.tsv`` and ``.md`` in workdir."""
    args = parse_args(argv)
    try:
        if len(set(args.seeds)) != len(args.seeds):
            raise InputError(f"--seeds {args.seeds}: a seed is given twice")
        if args.workdir.exists():
            raise InputError(f"{args.workdir}: exists; give a new directory")
        paths = {}
        for seed in args.seeds:
            run = prepare_seed_run(args.project, args.workdir / f"seed_{seed}", seed)
            run_workflow(run, args.cores, (SCORECARD,), args.dry_run, mem_mb=args.mem_mb)
            paths[seed] = run / SCORECARD
        if args.dry_run:
            print(f"planned; see {args.workdir}/seed_*/snakemake.log")
            return 0
        scorecards = read_scorecards(paths)
        table = verdicts_by_seed(scorecards, args.project / "resources" / "claims.yaml")
    except InputError as err:
        print(f"livermet.seeds: {err}", file=sys.stderr)
        return 2
    write_table(table, args.workdir / "claims_by_seed.tsv")
    text = summary(table, scorecards)
    (args.workdir / "claims_by_seed.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
