"""Integrate the QC'd samples: normalise, HVG, PCA, Harmony, graph, Leiden."""

import scanpy as sc

from livermet.atlas import AtlasSettings, build_atlas
from livermet.io import rule_logging

with rule_logging(snakemake.log[0]):
    sc.settings.n_jobs = snakemake.threads
    settings = AtlasSettings(**snakemake.params.atlas, seed=snakemake.params.seed)
    build_atlas(snakemake.input, settings, snakemake.output[0])
