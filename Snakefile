# livermet: reanalysis of Jiang et al., J Transl Med 2025, 23:336 (Prok2+ neutrophils in colorectal
# cancer liver metastasis). Default config: the bundled demo study. Real study: --configfile
# config/paper.yaml. One panel: snakemake --cores 2 results/figures/fig1G.pdf


configfile: "config/config.yaml"


# Workflow description of the HTML report: snakemake --report results/report.html
report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/download_common.smk"
include: "workflow/rules/download.smk"
include: "workflow/rules/demo.smk"
include: "workflow/rules/ingest.smk"
include: "workflow/rules/qc.smk"
include: "workflow/rules/integrate.smk"
include: "workflow/rules/annotate.smk"
include: "workflow/rules/subcluster.smk"
include: "workflow/rules/composition.smk"
include: "workflow/rules/de.smk"
include: "workflow/rules/bulk.smk"
include: "workflow/rules/lineage_de.smk"
include: "workflow/rules/subtype_programmes.smk"
include: "workflow/rules/cellchat.smk"
include: "workflow/rules/report.smk"
include: "workflow/rules/survival_common.smk"
include: "workflow/rules/demo_survival.smk"
include: "workflow/rules/survival.smk"
include: "workflow/rules/deconvolve.smk"
include: "workflow/rules/human_common.smk"
include: "workflow/rules/demo_human.smk"
include: "workflow/rules/human.smk"
include: "workflow/rules/figures.smk"


# Jobs that stay on the submit host under a cluster executor (profiles/slurm): the target rule and
# the figure panels (light plotting). The download rules are local too (download.smk).
localrules:
    all,
    figure,


rule all:
    default_target: True
    input:
        all_targets(),
