# DE inside lineages (Fig 4F-J, 5D-E, S2A-F): two subtypes of a lineage, conditions within a
# subtype, and over-representation of the up genes in gene-set collections. Reads the subsets of
# subcluster.smk; what to compare comes from config `lineage_de` and `enrichment`, checked here.
import livermet.lineage_plan as lineage_plan

LINEAGE_SUBTYPES = {
    name: lineage_plan.subtype_names(spec["markers"])
    for name, spec in config["subsets"]["lineages"].items()
}
LINEAGE_SUBTYPE_DE = lineage_plan.subtype_comparisons(
    config["lineage_de"], LINEAGES, LINEAGE_SUBTYPES
)
LINEAGE_CONDITION_DE = lineage_plan.condition_comparisons(
    config["lineage_de"], LINEAGES, LINEAGE_SUBTYPES
)
ENRICHMENT_STEMS = lineage_plan.enrichment_stems(
    config["enrichment"], [c.stem for c in LINEAGE_SUBTYPE_DE + LINEAGE_CONDITION_DE]
)
ENRICHMENT_PANELS = lineage_plan.panel_collections(config["enrichment"])
ENRICHMENT_COLLECTIONS = config["enrichment"]["collections"]


rule subtype_de:
    input:
        subset="results/subsets/{lineage}.h5ad",
    output:
        "results/lineage_de/{lineage}/{group}_vs_{reference}.tsv",
    log:
        "results/logs/lineage_de/{lineage}/{group}_vs_{reference}.log",
    benchmark:
        "results/benchmarks/lineage_de/{lineage}/{group}_vs_{reference}.tsv"
    wildcard_constraints:
        group="[^/]+",
        reference="[^/]+",
    conda:
        "../../envs/core.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb_from_input(4, minimum=3000),
    params:
        min_pct=config["de"]["min_pct"],
    script:
        "../scripts/subtype_de.py"


rule subtype_condition_de:
    input:
        subset="results/subsets/{lineage}.h5ad",
    output:
        "results/lineage_de/{lineage}/{subtype}/{contrast}.tsv",
    log:
        "results/logs/lineage_de/{lineage}/{subtype}/{contrast}.log",
    benchmark:
        "results/benchmarks/lineage_de/{lineage}/{subtype}/{contrast}.tsv"
    wildcard_constraints:
        subtype="[^/]+",
        contrast="(PMN|MN)_vs_(control|PMN)",
    conda:
        "../../envs/core.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb_from_input(4, minimum=3000),
    params:
        methods=config["de"]["methods"],
        min_pct=config["de"]["min_pct"],
        min_cells=config["de"]["pseudobulk_min_cells"],
    script:
        "../scripts/subtype_condition_de.py"


rule enrichment:
    input:
        de="results/lineage_de/{lineage}/{comparison}.tsv",
        gmt=lambda wildcards: ENRICHMENT_COLLECTIONS[wildcards.collection]["gmt"],
    output:
        "results/enrichment/{collection}/{lineage}/{comparison}.tsv",
    log:
        "results/logs/enrichment/{collection}/{lineage}/{comparison}.log",
    benchmark:
        "results/benchmarks/enrichment/{collection}/{lineage}/{comparison}.tsv"
    wildcard_constraints:
        collection="|".join(map(re.escape, ENRICHMENT_COLLECTIONS)),
        comparison="[^/]+(/[^/]+)?",
    conda:
        "../../envs/core.yaml"
    threads: 1
    resources:
        mem_mb=2000,
    params:
        ignore_case=lambda wildcards: ENRICHMENT_COLLECTIONS[wildcards.collection].get(
            "ignore_case", False
        ),
        de_method=config["enrichment"]["de_method"],
        p_max=config["enrichment"]["p_max"],
        lfc_min=config["enrichment"]["lfc_min"],
        min_size=config["enrichment"]["min_size"],
        max_size=config["enrichment"]["max_size"],
    script:
        "../scripts/enrichment.py"


TARGETS.extend(
    [
        *[f"results/lineage_de/{c.stem}.tsv" for c in LINEAGE_SUBTYPE_DE],
        *[f"results/lineage_de/{c.stem}.tsv" for c in LINEAGE_CONDITION_DE],
        *expand(
            "results/enrichment/{collection}/{stem}.tsv",
            collection=ENRICHMENT_COLLECTIONS,
            stem=ENRICHMENT_STEMS,
        ),
    ]
)
# The panels' comparisons are the paper's (Fig 4F-J, 5D-E, S2): fixed here, made on demand by the
# generic rules above whether or not `lineage_de` lists them; `enrichment.panels` picks the
# collection of each bubble plot.
FIGURE_INPUTS.update(
    {
        "lineage_de_Kupffer2_vs_Kupffer3": "results/lineage_de/macrophage/Kupffer2_vs_Kupffer3.tsv",
        "lineage_de_MAC2_vs_MAC1": "results/lineage_de/macrophage/MAC2_vs_MAC1.tsv",
        "lineage_de_N1_vs_N3": "results/lineage_de/neutrophil/N1_vs_N3.tsv",
        "lineage_de_CD8_exhausted_MN_vs_control": "results/lineage_de/tnk/CD8_exhausted/MN_vs_control.tsv",
        **{
            f"enrichment_{panel}": f"results/enrichment/{ENRICHMENT_PANELS[panel]}/{stem}.tsv"
            for panel, stem in (
                ("fig4G", "macrophage/Kupffer2_vs_Kupffer3"),
                ("fig4H", "macrophage/Kupffer2_vs_Kupffer3"),
                ("fig5E", "tnk/CD8_exhausted/MN_vs_control"),
            )
        },
    }
)
