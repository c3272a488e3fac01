"""Diffusion pseudotime of one lineage subset and its subtype and condition bins (Fig 3I/J, 4E)."""

import anndata as ad

from livermet import CONDITIONS
from livermet.io import rule_logging, write_table
from livermet.pseudotime import diffusion_pseudotime, pseudotime_bins

with rule_logging(snakemake.log[0]):
    params = snakemake.params
    cells = diffusion_pseudotime(
        ad.read_h5ad(snakemake.input.subset),
        params.roots,
        n_dcs=params.n_dcs,
        n_neighbors=params.n_neighbors,
        n_pcs=params.n_pcs,
        seed=params.seed,
    )
    bins = pseudotime_bins(cells, params.n_bins, {"condition": list(CONDITIONS)})
    write_table(cells, snakemake.output.cells)
    write_table(bins, snakemake.output.bins)
