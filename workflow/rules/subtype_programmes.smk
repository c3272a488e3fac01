# Programmes inside lineages: gene-set signature scores (Fig 3K, 4I, 4K, 4L) and diffusion
# pseudotime with the subtype and condition mix along it (Fig 3I, 3J, 4E).


rule signature_scores:
    input:
        subset="results/subsets/{lineage}.h5ad",
        signatures=config["signatures"]["file"],
    output:
        scores="results/subsets/{lineage}/signature_scores.tsv",
        means="results/subsets/{lineage}/signature_means.tsv",
    log:
        "results/logs/subsets/{lineage}_signatures.log",
    benchmark:
        "results/benchmarks/subsets/{lineage}_signatures.tsv"
    conda:
        "../../envs/core.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb_from_input(6, minimum=2000),
    params:
        names=lambda wildcards: config["signatures"]["lineages"].get(
            wildcards.lineage, []
        ),
        min_genes=config["signatures"]["min_genes"],
        ctrl_size=config["signatures"]["ctrl_size"],
        n_bins=config["signatures"]["n_bins"],
        seed=config["seed"],
    script:
        "../scripts/signature_scores.py"


rule pseudotime:
    input:
        subset="results/subsets/{lineage}.h5ad",
    output:
        cells="results/subsets/{lineage}/pseudotime.tsv",
        bins="results/subsets/{lineage}/pseudotime_bins.tsv",
    log:
        "results/logs/subsets/{lineage}_pseudotime.log",
    benchmark:
        "results/benchmarks/subsets/{lineage}_pseudotime.tsv"
    conda:
        "../../envs/core.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb_from_input(6, minimum=2000),
    params:
        roots=lambda wildcards: config["pseudotime"]["roots"].get(wildcards.lineage, []),
        n_dcs=config["pseudotime"]["n_dcs"],
        n_bins=config["pseudotime"]["n_bins"],
        n_neighbors=config["atlas"]["n_neighbors"],
        n_pcs=config["atlas"]["graph_pcs"],
        seed=config["seed"],
    script:
        "../scripts/pseudotime.py"


TARGETS.extend(
    [
        *expand(
            "results/subsets/{lineage}/{table}.tsv",
            lineage=config["signatures"]["lineages"],
            table=("signature_scores", "signature_means"),
        ),
        *expand(
            "results/subsets/{lineage}/{table}.tsv",
            lineage=config["pseudotime"]["roots"],
            table=("pseudotime", "pseudotime_bins"),
        ),
    ]
)
FIGURE_INPUTS.update(
    {
        f"{table}_{lineage}": f"results/subsets/{lineage}/{table}.tsv"
        for lineage in LINEAGES
        for table in (
            "signature_scores",
            "signature_means",
            "pseudotime",
            "pseudotime_bins",
        )
    }
)
