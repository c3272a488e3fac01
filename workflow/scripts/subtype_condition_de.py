"""Condition DE within one subtype of a lineage: cell-level Wilcoxon and pseudobulk."""

import anndata as ad

from livermet.io import rule_logging, write_table
from livermet.lineage_de import subtype_condition_de

with rule_logging(snakemake.log[0]):
    params = snakemake.params
    table = subtype_condition_de(
        ad.read_h5ad(snakemake.input.subset),
        snakemake.wildcards.subtype,
        snakemake.wildcards.contrast,
        methods=params.methods,
        min_pct=params.min_pct,
        min_cells=params.min_cells,
        source=snakemake.input.subset,
    )
    write_table(table, snakemake.output[0])
