"""Annotate the atlas with major cell types; write cluster, marker and composition tables."""

import anndata as ad

from livermet.annotate import AnnotationSettings, annotate, composition, load_marker_sets
from livermet.io import rule_logging, write_h5ad, write_table

with rule_logging(snakemake.log[0]):
    inp, out, params = snakemake.input, snakemake.output, snakemake.params
    options = {k: v for k, v in params.annotation.items() if k != "markers"}
    settings = AnnotationSettings(**options, seed=params.seed)
    adata = ad.read_h5ad(inp.atlas)
    clusters, markers = annotate(adata, load_marker_sets(inp.markers), settings)
    cells = adata.obs[["sample", "condition", "leiden", "cell_type"]].rename_axis("cell")
    write_table(clusters, out.clusters)
    write_table(markers, out.markers)
    write_table(composition(adata.obs), out.composition)
    write_table(cells.reset_index(), out.cell_types)
    write_h5ad(adata, out.atlas)
