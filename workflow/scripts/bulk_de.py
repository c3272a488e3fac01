"""limma-voom DE of one bulk cohort, PMN vs control; groups from its design table or config."""

from livermet.bulk import bulk_de, design_from_groups, read_design
from livermet.io import rule_logging, write_table
from livermet.tables import read_count_table

with rule_logging(snakemake.log[0]):
    inputs, params = snakemake.input, snakemake.params
    groups = (
        read_design(inputs.design)
        if "design" in inputs.keys()
        else design_from_groups(params.groups)
    )
    table = bulk_de(
        read_count_table(inputs.counts),
        groups,
        params.group,
        params.ref,
        min_count=params.min_count,
        min_total_count=params.min_total_count,
    )
    write_table(table, snakemake.output[0])
