# Survival cohorts and the input functions of the deconvolution and survival rules
# (deconvolve.smk, survival.smk, demo_survival.smk); no rules here.
#   SURVIVAL_COHORTS                 name -> {dataset} or {series_matrix, platform, fields}
#   survival_inputs(wildcards)       series matrix and platform file of a survival cohort
#   survival_fields(wildcards)       its clinical field names (patient, os_time, os_status)
#   deconvolution_inputs(wildcards)  bulk counts (+ design) or survival-cohort expression
from livermet.demo_survival import CLINICAL_KEYS as DEMO_CLINICAL_KEYS

DEMO_SURVIVAL_FOLDER = "results/demo/survival"

# The configured survival cohorts, plus the demo's simulated one when the demo is on.
SURVIVAL_COHORTS = {
    **config["survival"]["cohorts"],
    **(
        {
            config["demo"]["survival_cohort"]["name"]: {
                "series_matrix": f"{DEMO_SURVIVAL_FOLDER}/series_matrix.txt.gz",
                "platform": f"{DEMO_SURVIVAL_FOLDER}/platform.soft.gz",
                "fields": DEMO_CLINICAL_KEYS,
            }
        }
        if DEMO
        else {}
    ),
}
SURVIVAL_COHORT_PATTERN = "|".join(map(re.escape, SURVIVAL_COHORTS)) or "(?!)"
DECONVOLUTION_COHORT_PATTERN = (
    "|".join(map(re.escape, [*BULK_COHORTS, *SURVIVAL_COHORTS])) or "(?!)"
)
DECONVOLUTION_LEVEL_PATTERN = "|".join(
    map(re.escape, config["deconvolution"]["levels"])
)


def survival_inputs(wildcards):
    """Series matrix and platform annotation of a survival cohort (downloaded for a dataset)."""
    cohort = SURVIVAL_COHORTS[wildcards.cohort]
    if "dataset" in cohort:
        return {
            "series_matrix": dataset_file(cohort["dataset"], "series_matrix"),
            "platform": dataset_file(cohort["dataset"], "platform"),
        }
    return {"series_matrix": cohort["series_matrix"], "platform": cohort["platform"]}


def survival_fields(wildcards):
    """Sample-characteristics keys of a cohort's patient id and overall survival."""
    cohort = SURVIVAL_COHORTS[wildcards.cohort]
    if "dataset" in cohort:
        return dataset_setting(cohort["dataset"], "survival")
    return cohort["fields"]


def deconvolution_inputs(wildcards):
    """A bulk cohort's counts (and design), or a survival cohort's log2 expression."""
    if wildcards.cohort in BULK_COHORTS:
        return bulk_inputs(wildcards)
    return {"expression": f"results/survival/{wildcards.cohort}/expression.tsv.gz"}


def deconvolution_groups(wildcards):
    """Sample groups of a dataset bulk cohort (config), else None (design file or none)."""
    return bulk_groups(wildcards) if wildcards.cohort in BULK_COHORTS else None


def deconvolution_markers(wildcards):
    """Marker settings of a level: the global ones updated by the level's own."""
    settings = config["deconvolution"]
    return {
        **settings["markers"],
        **settings["levels"][wildcards.level].get("markers", {}),
    }
