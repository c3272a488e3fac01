"""Write results/figures/index.tsv: every figure panel with its title, claim, rule and inputs."""

from livermet.io import rule_logging, write_table
from livermet.report import figure_index

with rule_logging(snakemake.log[0]):
    write_table(figure_index(snakemake.params.inputs), snakemake.output[0])
