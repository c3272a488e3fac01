# Ingest: each sample's count file -> AnnData with raw counts and the samples-sheet metadata.


rule ingest:
    input:
        counts=sample_counts,
    output:
        "results/ingest/{sample}.h5ad",
    log:
        "results/logs/ingest/{sample}.log",
    benchmark:
        "results/benchmarks/ingest/{sample}.tsv"
    conda:
        "../../envs/core.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb_from_input(20, minimum=2000),
    params:
        meta=sample_meta,
        mito_prefix=config["qc"]["mito_prefix"],
    script:
        "../scripts/ingest.py"
