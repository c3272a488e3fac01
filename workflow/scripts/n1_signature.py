"""The N1 signature: N1 markers of the atlas whose expression predicts worse survival (Fig S2K)."""

import anndata as ad

from livermet.cell_fractions import read_labels
from livermet.io import read_table, rule_logging, write_table
from livermet.signature import SignatureSettings, n1_signature, subtype_markers

with rule_logging(snakemake.log[0]):
    inputs = snakemake.input
    settings = SignatureSettings(**snakemake.params.settings)
    markers = subtype_markers(ad.read_h5ad(inputs.atlas), read_labels(inputs.labels), settings)
    candidates, signature = n1_signature(
        markers,
        read_table(inputs.expression, index_col=0),
        read_table(inputs.clinical),
        settings,
    )
    write_table(markers, snakemake.output.markers)
    write_table(candidates, snakemake.output.candidates)
    write_table(signature, snakemake.output.signature)
