# Integration and clustering of all QC'd samples: Harmony on sample, Leiden; the atlas UMAP.


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
        mem_mb=mem_mb_from_input(0.75, minimum=3000),
    params:
        atlas=config["atlas"],
        seed=config["seed"],
    script:
        "../scripts/integrate.py"


# The atlas UMAP, for figures only: it runs beside annotation, not before it.
rule atlas_umap:
    input:
        "results/atlas/clustered.h5ad",
    output:
        "results/atlas/umap.tsv",
    log:
        "results/logs/atlas_umap.log",
    benchmark:
        "results/benchmarks/atlas_umap.tsv"
    conda:
        "../../envs/core.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb_from_input(0.5, minimum=2000),
    params:
        atlas=config["atlas"],
        seed=config["seed"],
    script:
        "../scripts/atlas_umap.py"
