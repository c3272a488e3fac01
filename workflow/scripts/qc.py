"""QC one sample: the paper's cell filters, then scrublet doublets."""

import anndata as ad
import pandas as pd

from livermet.io import rule_logging, write_h5ad, write_table
from livermet.qc import DoubletSettings, QCThresholds, filter_sample

with rule_logging(snakemake.log[0]):
    params = snakemake.params
    thresholds = QCThresholds(**params.qc)
    doublets = DoubletSettings(**params.doublets, seed=params.seed)
    kept, cells, summary = filter_sample(ad.read_h5ad(snakemake.input[0]), thresholds, doublets)
    write_table(cells, snakemake.output.cells)
    write_table(pd.DataFrame([summary]), snakemake.output.summary)
    write_h5ad(kept, snakemake.output.h5ad)
