# Figure panels: results/figures/<panel>.pdf and .png, one job per panel (see livermet.panels).
# The PNG goes into the HTML report under its paper figure, captioned from the panel's title
# and claim (workflow/report/figure.rst).
from livermet.report import panel_category, panel_labels


rule figure:
    input:
        unpack(figure_inputs),
    output:
        pdf="results/figures/{panel}.pdf",
        png=report(
            "results/figures/{panel}.png",
            caption="../report/figure.rst",
            category=panel_category,
            labels=panel_labels,
        ),
    log:
        "results/logs/figures/{panel}.log",
    benchmark:
        "results/benchmarks/figures/{panel}.tsv"
    conda:
        "../../envs/core.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb_from_input(8, minimum=1500),
    params:
        title=lambda wildcards: PANELS[wildcards.panel].title,
        claim=lambda wildcards: PANELS[wildcards.panel].claim,
    script:
        "../scripts/figure.py"
