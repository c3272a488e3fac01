# Composition of each lineage by condition (Fig 3C, 3E, 4D, 5C): the subcluster rule's
# per-animal subtype counts, tested with speckle's propeller (default) and the paper's
# cell-level Wilcoxon (config `composition`).


rule composition_test:
    input:
        "results/subsets/{lineage}/composition.tsv",
    output:
        "results/subsets/{lineage}/composition_test.tsv",
    log:
        "results/logs/subsets/{lineage}_composition_test.log",
    benchmark:
        "results/benchmarks/subsets/{lineage}_composition_test.tsv"
    conda:
        "../../envs/core.yaml"
    threads: 1
    resources:
        mem_mb=1000,
    params:
        methods=config["composition"]["methods"],
        transform=config["composition"]["transform"],
        robust=config["composition"]["robust"],
    script:
        "../scripts/composition_test.py"


TARGETS.extend(
    expand("results/subsets/{lineage}/composition_test.tsv", lineage=LINEAGES)
)
FIGURE_INPUTS.update(
    {
        **{
            f"composition_{name}": f"results/subsets/{name}/composition.tsv"
            for name in LINEAGES
        },
        **{
            f"composition_test_{name}": f"results/subsets/{name}/composition_test.tsv"
            for name in LINEAGES
        },
    }
)
