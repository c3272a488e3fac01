"""One survival cohort from its series matrix: mouse-symbol log2 expression and patient outcome."""

from livermet.io import rule_logging, write_table
from livermet.survival_cohort import read_geo_cohort

with rule_logging(snakemake.log[0]):
    inputs = snakemake.input
    expression, clinical = read_geo_cohort(
        inputs.series_matrix, inputs.platform, snakemake.params.fields
    )
    write_table(expression, snakemake.output.expression, index=True)
    write_table(clinical, snakemake.output.clinical)
