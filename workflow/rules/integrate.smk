# Integration and clustering of all QC'd samples: Harmony on sample, Leiden, UMAP.


rule integrate:
    input:
        qc_outputs(),
    output:
        "results/atlas/clustered.h5ad",
    log:
        "results/logs/integrate.log",
    benchmark:
        "results/benchmarks/integrate.tsv"
    conda:
        "../../envs/core.yaml"
    threads: 2
    resources:
        mem_mb=mem_mb_from_input(20, minimum=4000),
    params:
        atlas=config["atlas"],
        seed=config["seed"],
    script:
        "../scripts/integrate.py"
