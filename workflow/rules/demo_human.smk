# The demo's human part (livermet.demo_human): healthy blood and liver (Microwell-seq tables) and
# CRC liver metastasis patients' liver and blood (a merged 10x MEX and its cell metadata), with
# the planted truth read only by tests.


if HUMAN_DEMO:

    rule demo_human:
        output:
            dge=HUMAN_DEMO_OUTPUTS["dge"],
            mex=directory(HUMAN_DEMO_OUTPUTS["mex"]),
            cell_meta=HUMAN_DEMO_OUTPUTS["cell_meta"],
            truth=HUMAN_DEMO_OUTPUTS["truth"],
            patients=HUMAN_DEMO_OUTPUTS["patients"],
        log:
            "results/logs/demo_human.log",
        benchmark:
            "results/benchmarks/demo_human.tsv"
        conda:
            "../../envs/core.yaml"
        threads: 1
        resources:
            mem_mb=4000,
        params:
            folder=lambda wildcards, output: os.path.dirname(output.truth),
            demo=HUMAN_DEMO,
            seed=config["seed"],
        script:
            "../scripts/demo_human.py"
