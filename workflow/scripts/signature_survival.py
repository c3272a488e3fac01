"""Fig S2L: optimal-cutpoint survival by the N1 signature score."""

from livermet.io import read_table, rule_logging, write_table
from livermet.signature import signature_survival

with rule_logging(snakemake.log[0]):
    params = snakemake.params
    cutpoints, patients = signature_survival(
        read_table(snakemake.input.signature)["gene"].tolist(),
        read_table(snakemake.input.expression, index_col=0),
        read_table(snakemake.input.clinical),
        minprop=params.minprop,
        n_perm=params.permutations,
        seed=params.seed,
    )
    write_table(cutpoints, snakemake.output.cutpoints)
    write_table(patients, snakemake.output.patients)
