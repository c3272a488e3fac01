"""limma-voom DE of one bulk dataset, one contrast; sample groups from the dataset's config."""

from livermet.bulk import bulk_de, design_from_groups, read_counts
from livermet.errors import InputError
from livermet.io import rule_logging, write_table

with rule_logging(snakemake.log[0]):
    params = snakemake.params
    if not params.groups:
        raise InputError(f"datasets.{snakemake.wildcards.dataset}.groups is not set: {params.todo}")
    table = bulk_de(
        read_counts(snakemake.input.counts),
        design_from_groups(params.groups),
        params.group,
        params.ref,
        min_count=params.min_count,
        min_total_count=params.min_total_count,
    )
    write_table(table, snakemake.output[0])
