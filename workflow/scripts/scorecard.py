"""Check every claim of the paper against this run's stage outputs: results/claims.tsv."""

import logging

from livermet.io import rule_logging, write_table
from livermet.scorecard import evaluate_claims, load_claims

with rule_logging(snakemake.log[0]):
    table = evaluate_claims(load_claims(snakemake.input.claims), snakemake.params.paths)
    logging.getLogger("livermet.scorecard").info(
        "verdicts: %s", table["verdict"].value_counts().to_dict()
    )
    write_table(table, snakemake.output[0])
