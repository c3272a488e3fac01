# livermet: reanalysis of Jiang et al., J Transl Med 2025, 23:336 (Prok2+ neutrophils in colorectal
# cancer liver metastasis). Default config: the bundled demo study. Real study: --configfile
# config/paper.yaml. One panel: snakemake --cores 2 results/figures/fig1G.pdf


configfile: "config/config.yaml"


include: "workflow/rules/common.smk"
include: "workflow/rules/download_common.smk"
include: "workflow/rules/download.smk"
include: "workflow/rules/demo.smk"
include: "workflow/rules/ingest.smk"
include: "workflow/rules/qc.smk"
include: "workflow/rules/integrate.smk"
include: "workflow/rules/annotate.smk"
include: "workflow/rules/de.smk"
include: "workflow/rules/bulk.smk"
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
