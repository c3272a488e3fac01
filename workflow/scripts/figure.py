"""Draw one figure panel and save it as PDF and PNG."""

from livermet.figures import draw_panel
from livermet.io import rule_logging, save_figure

with rule_logging(snakemake.log[0]):
    fig = draw_panel(snakemake.wildcards.panel, dict(snakemake.input.items()))
    save_figure(fig, snakemake.output.pdf, snakemake.output.png)
