# The reproduction scorecard (results/claims.tsv), the figure index and the tables shown in the
# HTML report (snakemake --report results/report.html).
from livermet.panels import PANELS
from livermet.scorecard import claim_input_paths

# Tables of the HTML report: name -> the TSV shown, its report category and page title.
REPORT_TABLES = {
    "claims": {
        "path": "results/claims.tsv",
        "category": "Reproduction scorecard",
        "title": "Claims of Jiang et al. 2025 checked against this run",
    },
    "qc_summary": {
        "path": "results/qc/summary.tsv",
        "category": "Quality control",
        "title": "Cells per sample: in, removed by QC and as doublets, out",
    },
    "figure_index": {
        "path": "results/figures/index.tsv",
        "category": "Figure index",
        "title": "Figure panels: title, paper claim, rule and inputs",
    },
}


# Light jobs: they stay on the submit host under a cluster executor (profiles/slurm).
localrules:
    figure_index,
    scorecard,
    report_table,


rule figure_index:
    output:
        "results/figures/index.tsv",
    log:
        "results/logs/figure_index.log",
    benchmark:
        "results/benchmarks/figure_index.tsv"
    conda:
        "../../envs/core.yaml"
    threads: 1
    resources:
        mem_mb=500,
    params:
        inputs=lambda wildcards: {
            name: FIGURE_INPUTS[name]
            for panel in PANELS.values()
            for name in panel.inputs
        },
    script:
        "../scripts/figure_index.py"


# A claim's input counts as produced by this run when it is a figure input or some rule of the
# workflow makes it; the scorecard takes exactly those as inputs (the others are not testable).
scorecard_inputs = lambda wildcards: claim_input_paths(
    config["scorecard"]["claims"],
    FIGURE_INPUTS,
    lambda path: any(rule.is_producer(path) for rule in workflow.rules),
)


rule scorecard:
    input:
        claims=config["scorecard"]["claims"],
        tables=lambda wildcards: sorted(set(scorecard_inputs(wildcards).values())),
    output:
        "results/claims.tsv",
    log:
        "results/logs/scorecard.log",
    benchmark:
        "results/benchmarks/scorecard.tsv"
    conda:
        "../../envs/core.yaml"
    threads: 1
    resources:
        mem_mb=1000,
    params:
        paths=scorecard_inputs,
    script:
        "../scripts/scorecard.py"


rule report_table:
    input:
        lambda wildcards: REPORT_TABLES[wildcards.table]["path"],
    output:
        report(
            "results/report/{table}.html",
            caption="../report/table.rst",
            category=lambda wildcards: REPORT_TABLES[wildcards.table]["category"],
        ),
    log:
        "results/logs/report_table/{table}.log",
    benchmark:
        "results/benchmarks/report_table/{table}.tsv"
    wildcard_constraints:
        table="|".join(REPORT_TABLES),
    conda:
        "../../envs/core.yaml"
    threads: 1
    resources:
        mem_mb=500,
    params:
        title=lambda wildcards: REPORT_TABLES[wildcards.table]["title"],
    script:
        "../scripts/report_table.py"


TARGETS.extend(
    [
        "results/claims.tsv",
        "results/figures/index.tsv",
        *expand("results/report/{table}.html", table=REPORT_TABLES),
    ]
)
