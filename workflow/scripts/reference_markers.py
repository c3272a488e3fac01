"""Marker genes of one deconvolution level's reference, for every cohort's Bisque."""

import anndata as ad

from livermet.cell_fractions import (
    Level,
    MarkerSettings,
    read_labels,
    reference_cells,
    select_markers,
    write_markers,
)
from livermet.io import rule_logging

with rule_logging(snakemake.log[0]):
    inputs, params = snakemake.input, snakemake.params
    level = Level.from_config(params.level)
    reference = reference_cells(ad.read_h5ad(inputs.atlas), read_labels(inputs.labels), level)
    markers = select_markers(reference, MarkerSettings(**params.markers, seed=params.seed))
    write_markers(markers, snakemake.output[0])
