# Obtain inputs: external files to resources/raw/<dataset>/<file>, with a manifest.tsv per dataset.
#
# Files come from config["datasets"] (config/paper.yaml; validated against
# config/schemas/datasets.schema.yaml by common.smk). Samples-sheet rows whose `path` is a URL are
# downloaded to resources/raw/study/<sample>/<file name>. Outputs are not temp(): a rerun does not
# fetch again. Download rules are local rules, as cluster nodes often have no internet.
# Its input functions are in download_common.smk (included by the Snakefile before this file).


localrules:
    download,
    download_study_file,
    downloads,


# One file of a dataset named in config["datasets"].
rule download:
    input:
        filelist=_download_filelist,
    output:
        "resources/raw/{dataset}/{filename}",
    log:
        "results/logs/download/{dataset}/{filename}.log",
    benchmark:
        "results/benchmarks/download/{dataset}/{filename}.tsv"
    wildcard_constraints:
        dataset=r"(?!study$)[^/]+",
        filename=r"(?!manifest\.tsv$)[^/]+",
    conda:
        "../../envs/core.yaml"
    threads: 1
    resources:
        mem_mb=512,
    params:
        source=lambda wildcards: dataclasses.asdict(_download_source(wildcards)),
        manifest="resources/raw/{dataset}/manifest.tsv",
    script:
        "../scripts/download.py"


# A sample's input given as a URL in the samples sheet.
rule download_study_file:
    output:
        "resources/raw/study/{sample}/{basename}",
    log:
        "results/logs/download/study/{sample}/{basename}.log",
    benchmark:
        "results/benchmarks/download/study/{sample}/{basename}.tsv"
    wildcard_constraints:
        sample=r"[^/]+",
        basename=r"[^/]+",
    conda:
        "../../envs/core.yaml"
    threads: 1
    resources:
        mem_mb=512,
    params:
        source=_study_source,
        manifest="resources/raw/study/manifest.tsv",
    script:
        "../scripts/download.py"


# Every external file the config names: fetch them all on a node with internet before a cluster run.
rule downloads:
    input:
        all_dataset_files,
    output:
        touch("resources/raw/downloads.done"),
    log:
        "results/logs/download/downloads.log",
    benchmark:
        "results/benchmarks/download/downloads.tsv"
    conda:
        "../../envs/core.yaml"
    threads: 1
    resources:
        mem_mb=100,
    shell:
        "ls -l {input} > {log}"
