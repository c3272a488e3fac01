# Figure panels: results/figures/<panel>.pdf and .png, one job per panel (see livermet.panels).


rule figure:
    input:
        unpack(figure_inputs),
    output:
        pdf="results/figures/{panel}.pdf",
        png="results/figures/{panel}.png",
    log:
        "results/logs/figures/{panel}.log",
    benchmark:
        "results/benchmarks/figures/{panel}.tsv"
    conda:
        "../../envs/core.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb_from_input(8, minimum=1500),
    script:
        "../scripts/figure.py"
