"""Fig 5F-I, S3: per-patient shares of N1-like neutrophils and T/NK and macrophage subtypes, and
the configured pairs' Spearman correlations and high/low Wilcoxon tests."""

import pandas as pd

from livermet.human import HumanSettings, correlate, patient_shares, subtype_lineages
from livermet.io import read_table, rule_logging, write_table

with rule_logging(snakemake.log[0]):
    human = snakemake.params.human
    cells = pd.concat([read_table(path, dtype={"donor": str}) for path in snakemake.input.cells])
    shares = patient_shares(
        cells,
        read_table(snakemake.input.scores, dtype={"donor": str}),
        subtype_lineages(human["subtypes"]),
        HumanSettings.from_config(human, snakemake.params.seed),
    )
    write_table(shares, snakemake.output.shares)
    write_table(correlate(shares, human["correlations"]["pairs"]), snakemake.output.correlations)
