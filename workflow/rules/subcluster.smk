# Subclustering of lineages (myeloid -> neutrophil, macrophage; T/NK) and the finest label of
# every atlas cell (Fig 3-5).


rule subcluster:
    input:
        unpack(subset_inputs),
    output:
        subset="results/subsets/{lineage}.h5ad",
        clusters="results/subsets/{lineage}/clusters.tsv",
        markers="results/subsets/{lineage}/markers.tsv",
        composition="results/subsets/{lineage}/composition.tsv",
        cells="results/subsets/{lineage}/cells.tsv",
    log:
        "results/logs/subsets/{lineage}.log",
    benchmark:
        "results/benchmarks/subsets/{lineage}.tsv"
    conda:
        "../../envs/core.yaml"
    threads: 2
    resources:
        mem_mb=mem_mb_from_input(10, minimum=3000),
    params:
        spec=lambda wildcards: config["subsets"]["lineages"][wildcards.lineage],
        atlas=config["atlas"],
        annotation=config["annotation"],
        min_cells=config["subsets"]["min_cells"],
        min_gene_cells=config["subsets"]["min_gene_cells"],
        seed=config["seed"],
    script:
        "../scripts/subcluster.py"


rule cell_labels:
    input:
        atlas="results/atlas/cell_types.tsv",
        lineages=expand("results/subsets/{lineage}/cells.tsv", lineage=LINEAGES),
    output:
        "results/subsets/labels.tsv",
    log:
        "results/logs/subsets/labels.log",
    benchmark:
        "results/benchmarks/subsets/labels.tsv"
    conda:
        "../../envs/core.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb_from_input(10, minimum=1000),
    params:
        lineages=LINEAGES,
    script:
        "../scripts/cell_labels.py"


TARGETS.extend(
    [
        "results/subsets/labels.tsv",
        *expand("results/subsets/{lineage}/markers.tsv", lineage=LINEAGES),
    ]
)
FIGURE_INPUTS.update(
    {
        **{f"subset_{name}": f"results/subsets/{name}.h5ad" for name in LINEAGES},
        **{
            f"subset_markers_{name}": f"results/subsets/{name}/markers.tsv"
            for name in LINEAGES
        },
        **{
            f"marker_sets_{name}": spec["markers"]
            for name, spec in config["subsets"]["lineages"].items()
        },
    }
)
