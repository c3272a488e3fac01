# Survival cohorts (GSE159216 or the demo's): expression and outcome per patient, optimal-cutpoint
# survival of the deconvolved N0-N3 fractions (Fig 3L, S2H-J) and the N1 signature (Fig S2K/L).
# Input functions and SURVIVAL_COHORTS: survival_common.smk.

SURVIVAL = config["survival"]
SIGNATURE = config["n1_signature"]
FIGURE_COHORT = SURVIVAL["figure_cohort"]


rule survival_cohort:
    input:
        unpack(survival_inputs),
    output:
        expression="results/survival/{cohort}/expression.tsv.gz",
        clinical="results/survival/{cohort}/clinical.tsv",
    log:
        "results/logs/survival/{cohort}/cohort.log",
    benchmark:
        "results/benchmarks/survival/{cohort}/cohort.tsv"
    wildcard_constraints:
        cohort=SURVIVAL_COHORT_PATTERN,
    conda:
        "../../envs/core.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb_from_input(10, minimum=3000),
    params:
        fields=survival_fields,
    script:
        "../scripts/survival_cohort.py"


rule survival_cutpoints:
    input:
        clinical="results/survival/{cohort}/clinical.tsv",
        fractions=f"results/deconvolution/{{cohort}}/{SURVIVAL['level']}_proportions.tsv",
    output:
        cutpoints="results/survival/{cohort}/cutpoints.tsv",
        patients="results/survival/{cohort}/patients.tsv",
    log:
        "results/logs/survival/{cohort}/cutpoints.log",
    benchmark:
        "results/benchmarks/survival/{cohort}/cutpoints.tsv"
    wildcard_constraints:
        cohort=SURVIVAL_COHORT_PATTERN,
    conda:
        "../../envs/core.yaml"
    threads: 1
    resources:
        mem_mb=1000,
    params:
        scope=SURVIVAL["scope"],
        variables=SURVIVAL["variables"],
        minprop=SURVIVAL["minprop"],
        permutations=SURVIVAL["permutations"],
        seed=config["seed"],
    script:
        "../scripts/survival_cutpoints.py"


rule n1_signature:
    input:
        atlas="results/atlas/atlas.h5ad",
        labels="results/subsets/labels.tsv",
        expression=f"results/survival/{FIGURE_COHORT}/expression.tsv.gz",
        clinical=f"results/survival/{FIGURE_COHORT}/clinical.tsv",
    output:
        markers="results/signature/n1_markers.tsv",
        candidates="results/signature/n1_candidates.tsv",
        signature="results/signature/n1_signature.tsv",
    log:
        "results/logs/signature/n1_signature.log",
    benchmark:
        "results/benchmarks/signature/n1_signature.tsv"
    conda:
        "../../envs/core.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb_from_input(4, minimum=3000),
    params:
        settings=SIGNATURE,
    script:
        "../scripts/n1_signature.py"


rule signature_survival:
    input:
        signature="results/signature/n1_signature.tsv",
        expression=f"results/survival/{FIGURE_COHORT}/expression.tsv.gz",
        clinical=f"results/survival/{FIGURE_COHORT}/clinical.tsv",
    output:
        cutpoints="results/signature/signature_cutpoints.tsv",
        patients="results/signature/signature_patients.tsv",
    log:
        "results/logs/signature/signature_survival.log",
    benchmark:
        "results/benchmarks/signature/signature_survival.tsv"
    conda:
        "../../envs/core.yaml"
    threads: 1
    resources:
        mem_mb=1000,
    params:
        minprop=SURVIVAL["minprop"],
        permutations=SURVIVAL["permutations"],
        seed=config["seed"],
    script:
        "../scripts/signature_survival.py"


TARGETS.extend(
    [
        *expand(
            "results/survival/{cohort}/{table}.tsv",
            cohort=SURVIVAL_COHORTS,
            table=("cutpoints", "patients"),
        ),
        "results/signature/n1_signature.tsv",
        "results/signature/signature_cutpoints.tsv",
    ]
)
FIGURE_INPUTS.update(
    {
        "survival_cutpoints": f"results/survival/{FIGURE_COHORT}/cutpoints.tsv",
        "survival_patients": f"results/survival/{FIGURE_COHORT}/patients.tsv",
        "n1_candidates": "results/signature/n1_candidates.tsv",
        "signature_cutpoints": "results/signature/signature_cutpoints.tsv",
        "signature_patients": "results/signature/signature_patients.tsv",
    }
)
