# Annotation of the 8 major types from curated markers; composition per sample and condition.


rule annotate:
    input:
        atlas="results/atlas/clustered.h5ad",
        markers=config["annotation"]["markers"],
    output:
        atlas="results/atlas/atlas.h5ad",
        clusters="results/atlas/clusters.tsv",
        markers="results/atlas/markers.tsv",
        composition="results/atlas/composition.tsv",
        cell_types="results/atlas/cell_types.tsv",
    log:
        "results/logs/annotate.log",
    benchmark:
        "results/benchmarks/annotate.tsv"
    conda:
        "../../envs/core.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb_from_input(2, minimum=3000),
    params:
        annotation=config["annotation"],
        seed=config["seed"],
    script:
        "../scripts/annotate.py"
