"""Condition DE of one cell type and contrast: cell-level Wilcoxon and pseudobulk side by side."""

import anndata as ad

from livermet.de import condition_de
from livermet.io import rule_logging, write_table

with rule_logging(snakemake.log[0]):
    params = snakemake.params
    table = condition_de(
        ad.read_h5ad(snakemake.input.atlas),
        snakemake.wildcards.celltype,
        [snakemake.wildcards.contrast],
        methods=params.methods,
        min_pct=params.min_pct,
        min_cells=params.min_cells,
    )
    write_table(table, snakemake.output[0])
