"""UMAP of the clustered atlas's kNN graph, as a table of coordinates for the figures."""

from livermet.atlas import AtlasSettings, atlas_umap
from livermet.io import rule_logging, write_table

with rule_logging(snakemake.log[0]):
    settings = AtlasSettings(**snakemake.params.atlas, seed=snakemake.params.seed)
    layout = atlas_umap(snakemake.input[0], settings)
    write_table(layout.rename_axis("cell"), snakemake.output[0], index=True)
