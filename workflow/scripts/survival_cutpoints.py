"""Optimal-cutpoint survival of each deconvolved fraction of one cohort (Fig 3L, S2H-J)."""

from livermet.io import read_table, rule_logging, write_table
from livermet.survival_cohort import fraction_survival

with rule_logging(snakemake.log[0]):
    params = snakemake.params
    cutpoints, patients = fraction_survival(
        read_table(snakemake.input.clinical),
        read_table(snakemake.input.fractions),
        params.variables,
        scope=params.scope,
        minprop=params.minprop,
        n_perm=params.permutations,
        seed=params.seed,
    )
    write_table(cutpoints, snakemake.output.cutpoints)
    write_table(patients, snakemake.output.patients)
