"""Ingest one sample: read and check its counts, attach samples-sheet metadata."""

from livermet.ingest import ingest_sample
from livermet.io import rule_logging, write_h5ad

with rule_logging(snakemake.log[0]):
    meta = snakemake.params.meta
    adata = ingest_sample(
        snakemake.input.counts,
        fmt=meta["format"],
        sample=meta["sample"],
        condition=meta["condition"],
        batch=meta["batch"],
        mito_prefix=snakemake.params.mito_prefix,
    )
    write_h5ad(adata, snakemake.output[0])
