"""Write the simulated demo study: one count file per sample and the truth table."""

from livermet.demo import simulate_study
from livermet.io import rule_logging

with rule_logging(snakemake.log[0]):
    demo = snakemake.params.demo
    simulate_study(
        snakemake.params.samples,
        truth_path=snakemake.output.truth,
        cells_per_sample=demo["cells_per_sample"],
        seed=snakemake.params.seed,
        doublet_rate=demo["doublet_rate"],
        low_quality_rate=demo["low_quality_rate"],
        erythroid_rate=demo["erythroid_rate"],
        effects=demo.get("effects"),
    )
