"""Annotate the atlas with major cell types; write cluster, marker and composition tables."""

from livermet.annotate import AnnotationSettings, annotate, composition, load_marker_sets
from livermet.io import (
    read_h5ad_without_layers,
    rule_logging,
    write_h5ad_with_layers_of,
    write_table,
)

with rule_logging(snakemake.log[0]):
    inp, out, params = snakemake.input, snakemake.output, snakemake.params
    options = {k: v for k, v in params.annotation.items() if k != "markers"}
    settings = AnnotationSettings(**options, seed=params.seed)
    adata = read_h5ad_without_layers(inp.atlas)  # the counts are copied to the output as stored
    clusters, markers = annotate(adata, load_marker_sets(inp.markers), settings)
    cells = adata.obs[["sample", "condition", "leiden", "cell_type"]].rename_axis("cell")
    write_table(clusters, out.clusters)
    write_table(markers, out.markers)
    write_table(composition(adata.obs), out.composition)
    write_table(cells.reset_index(), out.cell_types)
    write_h5ad_with_layers_of(adata, out.atlas, inp.atlas)
