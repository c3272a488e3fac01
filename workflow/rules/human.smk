# Human validation (livermet.human): neutrophils of each human data set, integrated with Harmony
# and scored with the N1 signature (Fig 3M), and the patient-level shares and correlations of the
# CRC liver metastases (Fig 5F-I, S3).


# One data set: cells read, clustered and named; its neutrophils; T/NK and macrophage subtypes of
# a correlation data set.
rule human_dataset:
    input:
        files=human_dataset_inputs,
        markers=config["human"]["markers"],
        subtype_markers=[
            spec["markers"] for spec in config["human"]["subtypes"].values()
        ],
    output:
        cells="results/human/{human_dataset}/cells.tsv",
        clusters="results/human/{human_dataset}/clusters.tsv",
        subclusters="results/human/{human_dataset}/subclusters.tsv",
        summary="results/human/{human_dataset}/summary.tsv",
        neutrophils="results/human/{human_dataset}/neutrophils.h5ad",
    log:
        "results/logs/human/{human_dataset}.log",
    benchmark:
        "results/benchmarks/human/{human_dataset}.tsv"
    wildcard_constraints:
        human_dataset=HUMAN_DATASET_PATTERN,
    conda:
        "../../envs/core.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb_from_input(10, minimum=4000),
    params:
        spec=human_dataset_spec,
        human=HUMAN_SETTINGS,
        seed=config["seed"],
    script:
        "../scripts/human_dataset.py"


# All neutrophils: Harmony over sample, Leiden, UMAP; the N1 signature per cell.
rule human_neutrophils:
    input:
        neutrophils=expand(
            "results/human/{human_dataset}/neutrophils.h5ad",
            human_dataset=HUMAN_DATASETS,
        ),
        summaries=expand(
            "results/human/{human_dataset}/summary.tsv", human_dataset=HUMAN_DATASETS
        ),
        signature=config["human"]["signature"],
    output:
        neutrophils="results/human/neutrophils.h5ad",
        scores="results/human/n1_signature_scores.tsv",
        genes="results/human/n1_signature_genes.tsv",
        counts="results/human/neutrophil_counts.tsv",
    log:
        "results/logs/human/neutrophils.log",
    benchmark:
        "results/benchmarks/human/neutrophils.tsv"
    conda:
        "../../envs/core.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb_from_input(10, minimum=4000),
    params:
        human=HUMAN_SETTINGS,
        seed=config["seed"],
    script:
        "../scripts/human_neutrophils.py"


# Fig 3M: tumour vs normal per tissue, cell-level Wilcoxon and Welch's t on donor means.
rule human_n1_tests:
    input:
        scores="results/human/n1_signature_scores.tsv",
    output:
        "results/human/n1_signature_tests.tsv",
    log:
        "results/logs/human/n1_tests.log",
    benchmark:
        "results/benchmarks/human/n1_tests.tsv"
    conda:
        "../../envs/core.yaml"
    threads: 1
    resources:
        mem_mb=1000,
    script:
        "../scripts/human_n1_tests.py"


# Fig 5F-I, S3: per-patient shares and their correlations.
rule human_correlations:
    input:
        scores="results/human/n1_signature_scores.tsv",
        cells=expand(
            "results/human/{human_dataset}/cells.tsv",
            human_dataset=HUMAN_CORRELATION_DATASETS,
        ),
        subtype_markers=[
            spec["markers"] for spec in config["human"]["subtypes"].values()
        ],
    output:
        shares="results/human/patient_shares.tsv",
        correlations="results/human/correlations.tsv",
    log:
        "results/logs/human/correlations.log",
    benchmark:
        "results/benchmarks/human/correlations.tsv"
    conda:
        "../../envs/core.yaml"
    threads: 1
    resources:
        mem_mb=2000,
    params:
        human=HUMAN_SETTINGS,
        seed=config["seed"],
    script:
        "../scripts/human_correlations.py"


HUMAN_OUTPUTS = {
    "human_scores": "results/human/n1_signature_scores.tsv",
    "human_tests": "results/human/n1_signature_tests.tsv",
    "human_counts": "results/human/neutrophil_counts.tsv",
    "human_shares": "results/human/patient_shares.tsv",
    "human_correlations": "results/human/correlations.tsv",
}
FIGURE_INPUTS.update(HUMAN_OUTPUTS)
if HUMAN_DATASETS:
    TARGETS.extend(HUMAN_OUTPUTS.values())
