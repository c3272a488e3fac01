"""Recluster one lineage and name its subtypes; write the subset and its tables."""

import anndata as ad
import scanpy as sc

from livermet.annotate import load_marker_sets
from livermet.io import rule_logging, write_h5ad, write_table
from livermet.subcluster import build_subset, subset_spec

with rule_logging(snakemake.log[0]):
    sc.settings.n_jobs = snakemake.threads
    inp, out, params = snakemake.input, snakemake.output, snakemake.params
    spec = subset_spec(
        snakemake.wildcards.lineage,
        params.spec,
        atlas={**params.atlas, "seed": params.seed},
        annotation={**params.annotation, "seed": params.seed},
        min_cells=params.min_cells,
        min_gene_cells=params.min_gene_cells,
    )
    markers = load_marker_sets(inp.markers)
    subset, clusters, marker_table, composition = build_subset(
        ad.read_h5ad(inp.parent), spec, markers
    )
    cells = subset.obs[["subcluster", "subtype"]].rename_axis("cell").reset_index()
    write_table(clusters, out.clusters)
    write_table(marker_table, out.markers)
    write_table(composition, out.composition)
    write_table(cells, out.cells)
    write_h5ad(subset, out.subset)
