"""Write one simulated bulk cohort of the demo: counts, design and the true proportions."""

from livermet.demo_bulk import simulate_bulk_study
from livermet.io import rule_logging

with rule_logging(snakemake.log[0]):
    cohort = snakemake.params.cohort
    simulate_bulk_study(
        snakemake.output.counts,
        snakemake.output.design,
        snakemake.output.proportions,
        n_control=cohort["n_control"],
        n_pmn=cohort["n_pmn"],
        seed=snakemake.params.seed,
        effects=snakemake.params.effects,
        cohort=snakemake.wildcards.cohort,
    )
