# Cell-cell contact communication per condition (CellChat's model through liana, CellChatDB v2
# mouse contact pairs) and its comparison across stages: Fig 6A-G (neutrophil and macrophage
# subtypes pooled, grouping "lineage") and Fig S4 (subtypes kept, grouping "subtype").
from livermet import CONDITIONS

CELLCHAT_CONDITIONS = [c for c in CONDITIONS if c in set(SAMPLES["condition"])]
CELLCHAT_TABLES = (
    "totals",
    "group_counts",
    "subtype_counts",
    "up_in_MN",
    "fig6C_bubbles",
    "fig6D_expression",
    "fig6E_bubbles",
    "fig6F_expression",
    "fig6G_expression",
    "figS4A_bubbles",
    "figS4_neutrophil_expression",
    "figS4D_bubbles",
    "figS4_macrophage_expression",
)


rule cellchat:
    input:
        atlas="results/atlas/atlas.h5ad",
        labels="results/subsets/labels.tsv",
        resource=config["cellchat"]["resource"],
    output:
        "results/cellchat/{grouping}/{condition}.tsv",
    log:
        "results/logs/cellchat/{grouping}/{condition}.log",
    benchmark:
        "results/benchmarks/cellchat/{grouping}/{condition}.tsv"
    wildcard_constraints:
        grouping="lineage|subtype",
        condition="|".join(CONDITIONS),
    conda:
        "../../envs/core.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb_from_input(6, minimum=2000),
    params:
        merge=lambda wildcards: config["cellchat"]["groupings"][wildcards.grouping],
        min_cells=config["cellchat"]["min_cells"],
        permutations=config["cellchat"]["permutations"],
        pval_threshold=config["cellchat"]["pval_threshold"],
        overexpressed_pval=config["cellchat"]["overexpressed_pval"],
        seed=config["seed"],
    script:
        "../scripts/cellchat.py"


rule cellchat_compare:
    input:
        lineage=expand(
            "results/cellchat/lineage/{condition}.tsv", condition=CELLCHAT_CONDITIONS
        ),
        subtype=expand(
            "results/cellchat/subtype/{condition}.tsv", condition=CELLCHAT_CONDITIONS
        ),
        atlas="results/atlas/atlas.h5ad",
        labels="results/subsets/labels.tsv",
    output:
        **{table: f"results/cellchat/{table}.tsv" for table in CELLCHAT_TABLES},
    log:
        "results/logs/cellchat/compare.log",
    benchmark:
        "results/benchmarks/cellchat/compare.tsv"
    conda:
        "../../envs/core.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb_from_input(4, minimum=2000),
    params:
        groupings=config["cellchat"]["groupings"],
        up_fold=config["cellchat"]["up_fold"],
    script:
        "../scripts/cellchat_compare.py"


TARGETS.extend(expand("results/cellchat/{table}.tsv", table=CELLCHAT_TABLES))
FIGURE_INPUTS.update(
    {f"cellchat_{table}": f"results/cellchat/{table}.tsv" for table in CELLCHAT_TABLES}
)
