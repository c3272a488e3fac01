"""Fig 1I-K: immune-cell shares of every bulk cohort in one table, with the group tests."""

import pandas as pd

from livermet.cell_fractions import compare_groups
from livermet.io import read_table, rule_logging, write_table

with rule_logging(snakemake.log[0]):
    params = snakemake.params
    tables = [
        read_table(path).query("scope == @params.scope").assign(cohort=cohort)
        for cohort, path in zip(params.cohorts, snakemake.input, strict=True)
    ]
    fractions = pd.concat(tables, ignore_index=True)
    fractions = fractions[["cohort", "sample", "group", "scope", "cell_type", "proportion"]]
    write_table(fractions, snakemake.output.fractions)
    write_table(compare_groups(fractions, params.ref), snakemake.output.tests)
