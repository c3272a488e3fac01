"""Write the demo's human data sets (Microwell-seq tables, a merged 10x MEX) and their truth."""

from livermet.demo_human import write_human_demo
from livermet.io import rule_logging

with rule_logging(snakemake.log[0]):
    demo = snakemake.params.demo
    write_human_demo(
        snakemake.params.folder,
        donors=demo["donors"],
        cells_per_sample=demo["cells_per_sample"],
        seed=snakemake.params.seed,
    )
