"""Compare the conditions' communication: every table behind Fig 6A-G and Fig S4."""

import anndata as ad

from livermet import cellchat
from livermet.io import rule_logging, write_table

with rule_logging(snakemake.log[0]):
    params = snakemake.params
    atlas = ad.read_h5ad(snakemake.input.atlas)
    labels = cellchat.read_labels(snakemake.input.labels, atlas.obs_names)
    for grouping, merge in params.groupings.items():
        atlas.obs[f"group_{grouping}"] = cellchat.merged_groups(labels, merge)
    tables = cellchat.compare_conditions(
        cellchat.read_communication(snakemake.input.lineage),
        cellchat.read_communication(snakemake.input.subtype),
        atlas,
        params.groupings["lineage"],
        params.up_fold,
    )
    for name, table in tables.items():
        write_table(table, snakemake.output[name])
