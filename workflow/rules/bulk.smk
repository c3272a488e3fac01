# Bulk validation cohorts: limma-voom DE of PMN vs control livers (Fig 2G-I).


rule bulk_de:
    input:
        unpack(bulk_inputs),
    output:
        "results/bulk/{cohort}/de.tsv",
    log:
        "results/logs/bulk/{cohort}.log",
    benchmark:
        "results/benchmarks/bulk/{cohort}.tsv"
    conda:
        "../../envs/core.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb_from_input(20, minimum=2000),
    params:
        groups=bulk_groups,
        group=config["bulk"]["group"],
        ref=config["bulk"]["ref"],
        min_count=config["bulk"]["min_count"],
        min_total_count=config["bulk"]["min_total_count"],
    script:
        "../scripts/bulk_de.py"
