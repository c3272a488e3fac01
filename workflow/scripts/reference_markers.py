"""Marker genes of one deconvolution level's reference, for every cohort's Bisque."""

from livermet.cell_fractions import (
    Level,
    MarkerSettings,
    read_reference,
    select_markers,
    write_markers,
)
from livermet.io import rule_logging

with rule_logging(snakemake.log[0]):
    inputs, params = snakemake.input, snakemake.params
    level = Level.from_config(params.level)
    reference = read_reference(inputs.atlas, inputs.labels, level)
    markers = select_markers(reference, MarkerSettings(**params.markers, seed=params.seed))
    write_markers(markers, snakemake.output[0])
