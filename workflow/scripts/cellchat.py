"""CellChat contact-pair communication of one condition, with one grouping of the cells."""

import anndata as ad

from livermet import cellchat
from livermet.io import rule_logging, write_table

with rule_logging(snakemake.log[0]):
    params = snakemake.params
    atlas = ad.read_h5ad(snakemake.input.atlas)
    labels = cellchat.read_labels(snakemake.input.labels, atlas.obs_names)
    atlas.obs["group"] = cellchat.merged_groups(labels, params.merge)
    settings = cellchat.CellChatSettings(
        groupby="group",
        min_cells=params.min_cells,
        n_perms=params.permutations,
        pval_threshold=params.pval_threshold,
        overexpressed_pval=params.overexpressed_pval,
        seed=params.seed,
        n_jobs=snakemake.threads,
    )
    resource = cellchat.load_contact_resource(snakemake.input.resource)
    table = cellchat.communication(atlas, snakemake.wildcards.condition, resource, settings)
    write_table(table, snakemake.output[0])
