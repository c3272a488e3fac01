"""Fig 3M tests: N1 score, tumour vs normal per tissue (cells: Wilcoxon; donors: Welch t)."""

from livermet.human import compare_groups
from livermet.io import read_table, rule_logging, write_table

with rule_logging(snakemake.log[0]):
    write_table(compare_groups(read_table(snakemake.input.scores)), snakemake.output[0])
