"""Stack the per-sample QC rows into results/qc/summary.tsv."""

import pandas as pd

from livermet.io import read_table, rule_logging, write_table

with rule_logging(snakemake.log[0]):
    rows = [read_table(path) for path in snakemake.input]
    write_table(pd.concat(rows, ignore_index=True), snakemake.output[0])
