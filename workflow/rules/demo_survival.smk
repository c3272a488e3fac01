# The demo's human survival cohort: CRC liver metastases in GSE159216's formats, with planted truth.


if DEMO:

    rule demo_survival_cohort:
        output:
            series_matrix=f"{DEMO_SURVIVAL_FOLDER}/series_matrix.txt.gz",
            platform=f"{DEMO_SURVIVAL_FOLDER}/platform.soft.gz",
            truth=f"{DEMO_SURVIVAL_FOLDER}/truth.tsv",
            truth_genes=f"{DEMO_SURVIVAL_FOLDER}/truth_genes.tsv",
        log:
            "results/logs/demo_survival.log",
        benchmark:
            "results/benchmarks/demo_survival.tsv"
        conda:
            "../../envs/core.yaml"
        threads: 1
        resources:
            mem_mb=3000,
        params:
            cohort=config["demo"]["survival_cohort"],
            seed=config["seed"],
        script:
            "../scripts/demo_survival.py"
