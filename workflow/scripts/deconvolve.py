"""Bisque cell fractions of one bulk or survival cohort at one reference level."""

from livermet.bulk import design_from_groups, read_design
from livermet.cell_fractions import (
    Level,
    bulk_from_log2,
    estimate_fractions,
    read_markers,
    read_reference,
)
from livermet.io import read_table, rule_logging, write_table
from livermet.tables import read_count_table

with rule_logging(snakemake.log[0]):
    inputs, params = snakemake.input, snakemake.params
    if "expression" in inputs.keys():  # a survival cohort: log2 microarray values
        bulk = bulk_from_log2(read_table(inputs.expression, index_col=0))
    else:
        bulk = read_count_table(inputs.counts)
    if "design" in inputs.keys():
        groups = read_design(inputs.design)
    elif params.groups:
        groups = design_from_groups(params.groups)
    else:
        groups = None
    level = Level.from_config(params.level)
    reference = read_reference(inputs.atlas, inputs.labels, level)
    markers = read_markers(inputs.markers)
    fractions = estimate_fractions(bulk, reference, level, markers, groups)
    write_table(fractions, snakemake.output[0])
