"""All human neutrophils integrated (Harmony over sample) and scored with the N1 signature."""

import anndata as ad
import pandas as pd

from livermet.human import HumanSettings, integrate_neutrophils, read_signature, score_n1
from livermet.io import read_table, rule_logging, write_h5ad, write_table

with rule_logging(snakemake.log[0]):
    settings = HumanSettings.from_config(snakemake.params.human, snakemake.params.seed)
    counts = pd.concat([read_table(path) for path in snakemake.input.summaries])
    neutrophils = integrate_neutrophils(
        [ad.read_h5ad(path) for path in snakemake.input.neutrophils], settings.integration
    )
    scores, genes = score_n1(neutrophils, read_signature(snakemake.input.signature), settings)
    write_table(counts, snakemake.output.counts)
    write_table(genes, snakemake.output.genes)
    write_table(scores, snakemake.output.scores)
    write_h5ad(neutrophils, snakemake.output.neutrophils)
