# Cell fractions of bulk cohorts by Bisque against the atlas (Fig 1I-K, 3F/G; 3L via survival.smk).
# Input functions and SURVIVAL_COHORTS: survival_common.smk.

DECONVOLUTION = config["deconvolution"]
IMMUNE_PANELS = DECONVOLUTION["immune_panels"]
NEUTROPHIL_PANELS = DECONVOLUTION["neutrophil_panels"]


# A level's marker genes: they depend on its reference only, so each cohort's Bisque reads them.
rule reference_markers:
    input:
        atlas="results/atlas/atlas.h5ad",
        labels="results/subsets/labels.tsv",
    output:
        "results/deconvolution/markers/{level}.tsv",
    log:
        "results/logs/deconvolution/markers/{level}.log",
    benchmark:
        "results/benchmarks/deconvolution/markers/{level}.tsv"
    wildcard_constraints:
        level=DECONVOLUTION_LEVEL_PATTERN,
    conda:
        "../../envs/core.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb_from_input(3, minimum=3000),
    params:
        level=lambda wildcards: DECONVOLUTION["levels"][wildcards.level],
        markers=deconvolution_markers,
        seed=config["seed"],
    script:
        "../scripts/reference_markers.py"


rule deconvolve:
    input:
        unpack(deconvolution_inputs),
        atlas="results/atlas/atlas.h5ad",
        labels="results/subsets/labels.tsv",
        markers="results/deconvolution/markers/{level}.tsv",
    output:
        "results/deconvolution/{cohort}/{level}_proportions.tsv",
    log:
        "results/logs/deconvolution/{cohort}/{level}.log",
    benchmark:
        "results/benchmarks/deconvolution/{cohort}/{level}.tsv"
    wildcard_constraints:
        cohort=DECONVOLUTION_COHORT_PATTERN,
        level=DECONVOLUTION_LEVEL_PATTERN,
    conda:
        "../../envs/core.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb_from_input(3, minimum=3000),
    params:
        level=lambda wildcards: DECONVOLUTION["levels"][wildcards.level],
        groups=deconvolution_groups,
    script:
        "../scripts/deconvolve.py"


# Fig 1I-K: immune-cell shares of every bulk cohort pooled, with the Wilcoxon test per type.
rule immune_fractions:
    input:
        expand(
            "results/deconvolution/{cohort}/{level}_proportions.tsv",
            cohort=BULK_COHORTS,
            level=IMMUNE_PANELS["level"],
        ),
    output:
        fractions="results/deconvolution/immune_fractions.tsv",
        tests="results/deconvolution/immune_tests.tsv",
    log:
        "results/logs/deconvolution/immune_fractions.log",
    benchmark:
        "results/benchmarks/deconvolution/immune_fractions.tsv"
    conda:
        "../../envs/core.yaml"
    threads: 1
    resources:
        mem_mb=1000,
    params:
        cohorts=list(BULK_COHORTS),
        scope=IMMUNE_PANELS["scope"],
        ref=DECONVOLUTION["group_ref"],
    script:
        "../scripts/immune_fractions.py"


TARGETS.extend(
    [
        *expand(
            "results/deconvolution/{cohort}/{level}_proportions.tsv",
            cohort=BULK_COHORTS,
            level=DECONVOLUTION["levels"],
        ),
        "results/deconvolution/immune_fractions.tsv",
    ]
)
FIGURE_INPUTS.update(
    {
        "immune_fractions": "results/deconvolution/immune_fractions.tsv",
        "immune_tests": "results/deconvolution/immune_tests.tsv",
        **{
            f"neutrophil_fractions_{cohort['panel']}": f"results/deconvolution/{name}/{NEUTROPHIL_PANELS['level']}_proportions.tsv"
            for name, cohort in BULK_COHORTS.items()
        },
    }
)
