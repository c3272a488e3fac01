# QC and doublets per sample, then one summary table of cells in / removed / out.


rule qc:
    input:
        "results/ingest/{sample}.h5ad",
    output:
        h5ad="results/qc/{sample}.h5ad",
        cells="results/qc/{sample}.cells.tsv",
        summary="results/qc/{sample}.summary.tsv",
    log:
        "results/logs/qc/{sample}.log",
    benchmark:
        "results/benchmarks/qc/{sample}.tsv"
    conda:
        "../../envs/core.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb_from_input(5, minimum=2500),  # 500k demo: 1.6 GB sample, 5.5-6.1 GB peak
    params:
        qc=config["qc"],
        doublets=config["doublets"],
        seed=config["seed"],
    script:
        "../scripts/qc.py"


rule qc_summary:
    input:
        expand("results/qc/{sample}.summary.tsv", sample=SAMPLES.index),
    output:
        "results/qc/summary.tsv",
    log:
        "results/logs/qc_summary.log",
    benchmark:
        "results/benchmarks/qc_summary.tsv"
    conda:
        "../../envs/core.yaml"
    threads: 1
    resources:
        mem_mb=500,
    script:
        "../scripts/qc_summary.py"
