"""One human data set: cells clustered and named, its neutrophils and (for a correlation data
set) the T/NK and macrophage subtypes."""

from livermet.annotate import load_marker_sets
from livermet.human import HumanSettings, process_dataset, subtype_lineages
from livermet.io import rule_logging, write_h5ad, write_table

with rule_logging(snakemake.log[0]):
    human = snakemake.params.human
    result = process_dataset(
        snakemake.wildcards.human_dataset,
        snakemake.params.spec,
        load_marker_sets(snakemake.input.markers),
        subtype_lineages(human["subtypes"]),
        HumanSettings.from_config(human, snakemake.params.seed),
    )
    write_table(result.cells, snakemake.output.cells)
    write_table(result.clusters, snakemake.output.clusters)
    write_table(result.subclusters, snakemake.output.subclusters)
    write_table(result.summary, snakemake.output.summary)
    write_h5ad(result.neutrophils, snakemake.output.neutrophils)
