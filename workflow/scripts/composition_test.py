"""Composition test of one lineage: propeller and the cell-level Wilcoxon, one table."""

from livermet.composition import composition_test, read_composition
from livermet.io import rule_logging, write_table

with rule_logging(snakemake.log[0]):
    params = snakemake.params
    path = snakemake.input[0]
    table = composition_test(
        read_composition(path),
        methods=params.methods,
        transform=params.transform,
        robust=params.robust,
        source=path,
    )
    write_table(table, snakemake.output[0])
