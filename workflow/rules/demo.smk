# The bundled demo: a simulated study with the paper's design and planted truth.


if DEMO:

    rule demo_study:
        output:
            counts=SAMPLES["path"].tolist(),
            truth=config["demo"]["truth"],
        log:
            "results/logs/demo_study.log",
        benchmark:
            "results/benchmarks/demo_study.tsv"
        conda:
            "../../envs/core.yaml"
        threads: 1
        resources:
            mem_mb=lambda wildcards: max(1000, config["demo"]["cells_per_sample"] // 10),
        params:
            samples=SAMPLES,
            demo=config["demo"],
            seed=config["seed"],
        script:
            "../scripts/demo_study.py"

    rule demo_bulk:
        output:
            counts="results/demo/bulk/{cohort}/counts.tsv.gz",
            design="results/demo/bulk/{cohort}/design.tsv",
            proportions="results/demo/bulk/{cohort}/proportions.tsv",
        log:
            "results/logs/demo_bulk/{cohort}.log",
        benchmark:
            "results/benchmarks/demo_bulk/{cohort}.tsv"
        conda:
            "../../envs/core.yaml"
        threads: 1
        resources:
            mem_mb=2000,
        params:
            cohort=lambda wildcards: config["demo"]["bulk_cohorts"][wildcards.cohort],
            effects=config["demo"].get("effects", {}),
            seed=config["seed"],
        script:
            "../scripts/demo_bulk.py"
