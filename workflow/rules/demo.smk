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
            mem_mb=lambda wildcards: max(2000, config["demo"]["cells_per_sample"] * 2),
        params:
            samples=SAMPLES,
            demo=config["demo"],
            seed=config["seed"],
        script:
            "../scripts/demo_study.py"
