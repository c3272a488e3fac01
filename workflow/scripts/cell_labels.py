"""One table with the finest label of every atlas cell (major type, lineage or subtype)."""

from livermet.io import read_table, rule_logging, write_table
from livermet.subcluster import finest_labels

with rule_logging(snakemake.log[0]):
    atlas = read_table(snakemake.input.atlas, dtype={"cell": str}).set_index("cell")
    subsets = {
        lineage: read_table(path, dtype={"cell": str}).set_index("cell")["subtype"]
        for lineage, path in zip(snakemake.params.lineages, snakemake.input.lineages, strict=True)
    }
    write_table(finest_labels(atlas, subsets), snakemake.output[0])
