"""Signature scores per cell and their mean per subtype in one lineage subset (Fig 3K, 4I-L)."""

import anndata as ad

from livermet.io import rule_logging, write_table
from livermet.signatures import read_signatures, signature_tables

with rule_logging(snakemake.log[0]):
    params = snakemake.params
    signatures_file = snakemake.input.signatures
    cells, means = signature_tables(
        ad.read_h5ad(snakemake.input.subset),
        read_signatures(signatures_file),
        params.names,
        min_genes=params.min_genes,
        ctrl_size=params.ctrl_size,
        n_bins=params.n_bins,
        seed=params.seed,
        source=f"{signatures_file} (lineage {snakemake.wildcards.lineage})",
    )
    write_table(cells, snakemake.output.scores)
    write_table(means, snakemake.output.means)
