"""Write the demo's survival cohort: series matrix, platform SOFT file and the truth tables."""

from livermet.demo_survival import simulate_survival_cohort, write_survival_cohort
from livermet.io import rule_logging

with rule_logging(snakemake.log[0]):
    settings, output = snakemake.params.cohort, snakemake.output
    cohort = simulate_survival_cohort(
        settings["n_patients"],
        snakemake.params.seed,
        second_lesion_rate=settings["second_lesion_rate"],
    )
    write_survival_cohort(
        cohort, output.series_matrix, output.platform, output.truth, output.truth_genes
    )
