"""Over-representation of one DE table's up genes in one gene-set collection."""

from livermet.enrichment import enrich_de, read_collection
from livermet.io import read_table, rule_logging, write_table

with rule_logging(snakemake.log[0]):
    params = snakemake.params
    table = enrich_de(
        read_table(snakemake.input.de),
        read_collection(snakemake.input.gmt),
        snakemake.wildcards.collection,
        method=params.de_method,
        p_max=params.p_max,
        lfc_min=params.lfc_min,
        min_size=params.min_size,
        max_size=params.max_size,
        ignore_case=params.ignore_case,
    )
    write_table(table, snakemake.output[0])
