"""DE between two subtypes of a lineage (cell-level Wilcoxon, the paper's FindMarkers)."""

import anndata as ad

from livermet.io import rule_logging, write_table
from livermet.lineage_de import subtype_de

with rule_logging(snakemake.log[0]):
    table = subtype_de(
        ad.read_h5ad(snakemake.input.subset),
        snakemake.wildcards.group,
        snakemake.wildcards.reference,
        min_pct=snakemake.params.min_pct,
        source=snakemake.input.subset,
    )
    write_table(table, snakemake.output[0])
