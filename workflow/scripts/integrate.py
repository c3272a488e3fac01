"""Integrate the QC'd samples: normalise, HVG, PCA, Harmony, graph, Leiden."""

import anndata as ad
import scanpy as sc

from livermet.atlas import AtlasSettings, build_atlas
from livermet.io import rule_logging, write_h5ad

with rule_logging(snakemake.log[0]):
    sc.settings.n_jobs = snakemake.threads
    settings = AtlasSettings(**snakemake.params.atlas, seed=snakemake.params.seed)
    samples = [ad.read_h5ad(path) for path in snakemake.input]
    write_h5ad(build_atlas(samples, settings), snakemake.output[0])
