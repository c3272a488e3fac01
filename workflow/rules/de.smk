# Condition DE per cell type (cell-level Wilcoxon and pseudobulk limma-voom) and hallmark GSEA.


rule condition_de:
    input:
        atlas="results/atlas/atlas.h5ad",
    output:
        "results/de/{celltype}/{contrast}.tsv",
    log:
        "results/logs/de/{celltype}/{contrast}.log",
    benchmark:
        "results/benchmarks/de/{celltype}/{contrast}.tsv"
    conda:
        "../../envs/core.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb_from_input(4, minimum=4000),
    params:
        methods=config["de"]["methods"],
        min_pct=config["de"]["min_pct"],
        min_cells=config["de"]["pseudobulk_min_cells"],
    script:
        "../scripts/de.py"


rule gsea:
    input:
        de="results/de/{celltype}/{contrast}.tsv",
        gene_sets=config["gsea"]["gene_sets"][config["gsea"]["organism"]],
    output:
        "results/gsea/{celltype}/{contrast}.tsv",
    log:
        "results/logs/gsea/{celltype}/{contrast}.log",
    benchmark:
        "results/benchmarks/gsea/{celltype}/{contrast}.tsv"
    conda:
        "../../envs/core.yaml"
    # gseapy's simple permutations run on one thread; a second neither speeds it up nor changes it
    threads: 1
    resources:
        mem_mb=2000,
    params:
        de_method=config["gsea"]["de_method"],
        method=config["gsea"]["method"],
        permutations=config["gsea"]["permutations"],
        max_permutations=config["gsea"]["max_permutations"],
        max_sample_size=config["gsea"]["max_sample_size"],
        fdr_se_target=config["gsea"]["fdr_se_target"],
        refine_fdr_below=config["gsea"]["refine_fdr_below"],
        min_size=config["gsea"]["min_size"],
        max_size=config["gsea"]["max_size"],
        seed=config["seed"],
    script:
        "../scripts/gsea.py"
