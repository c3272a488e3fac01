"""Index of the paper's computed figure panels, light enough for the Snakefile to import.

Each panel names the function that draws it (``module:function`` under ``livermet.figures``), the
stage outputs it needs (names the workflow maps to files), a title and the paper's claim. The
figure rule, the report and the figure index table all read this one table.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Panel:
    """A figure panel: how to draw it, from which stage outputs, and what it reproduces."""

    draw: str
    inputs: tuple[str, ...]
    title: str
    claim: str


PANELS: dict[str, Panel] = {
    "fig1E": Panel(
        "fig1:umap_by_type",
        ("cell_types", "atlas_umap"),
        "UMAP of all cells by major type",
        "8 major cell types",
    ),
    "fig1F": Panel(
        "fig1:marker_dotplot",
        ("atlas", "major_markers"),
        "Marker genes of the major types",
        "each type carries its canonical markers",
    ),
    "fig1G": Panel(
        "fig1:type_proportions",
        ("composition",),
        "Major-type proportions per condition",
        "myeloid share rises control < PMN < MN; T/NK, B and endothelial shares fall",
    ),
    "fig1H": Panel(
        "fig1:tumour_share",
        ("composition",),
        "Tumour-cell share per condition",
        "tumour cells are found in MN livers only",
    ),
    **{
        f"fig2{letter}": Panel(
            f"fig2:fig2{letter}",
            (f"hepatocyte_de_{contrast}",),
            f"Hepatocyte DE volcano, {contrast.replace('_', ' ')}",
            claim,
        )
        for letter, contrast, claim in (
            ("A", "PMN_vs_control", "Saa1, Saa2, Orm1, Orm2, Lcn2 and Cxcl1 up in PMN hepatocytes"),
            ("B", "MN_vs_control", "S100a8, S100a9, Cxcl2 and Cxcl10 up in MN hepatocytes"),
            ("C", "MN_vs_PMN", "inflammatory chemokines further up in MN than PMN"),
        )
    },
    **{
        f"fig2{letter}": Panel(
            f"fig2:fig2{letter}",
            (f"hepatocyte_gsea_{contrast}",),
            f"Hepatocyte hallmark GSEA, {contrast.replace('_', ' ')}",
            claim,
        )
        for letter, contrast, claim in (
            ("D", "PMN_vs_control", "IL-6/JAK/STAT3 and TNF-a/NF-kB up, bile acid metabolism down"),
            ("E", "MN_vs_control", "inflammatory hallmarks up, bile acid metabolism down in MN"),
            ("F", "MN_vs_PMN", "IL-6/JAK/STAT3 and TNF-a/NF-kB stronger in MN than PMN"),
        )
    },
    **{
        f"fig2{letter}": Panel(
            f"fig2:fig2{letter}",
            (f"bulk_de_fig2{letter}",),
            f"Bulk livers, {model}: PMN vs control",
            "Saa1, Saa2, Orm1, Orm2, Lcn2 and Cxcl1 up in PMN livers",
        )
        for letter, model in (
            ("G", "PDAC orthotopic (KPC)"),
            ("H", "PDAC intrasplenic"),
            ("I", "CRC orthotopic"),
        )
    },
    # Subclustered lineages (livermet.figures.subsets)
    "fig3A": Panel(
        "subsets:fig3A",
        ("subset_myeloid",),
        "UMAP of myeloid cells by lineage",
        "seven myeloid lineages: macrophages, neutrophils, monocytes, DC1, DC2, pDC, basophils",
    ),
    "fig3B": Panel(
        "subsets:fig3B",
        ("subset_myeloid", "marker_sets_myeloid"),
        "Marker genes of the myeloid lineages",
        "each myeloid lineage carries its known markers",
    ),
    "fig3D": Panel(
        "subsets:fig3D",
        ("subset_neutrophil",),
        "UMAP of neutrophils by subtype",
        "four neutrophil subtypes N0-N3; N1 is the Prok2-high one",
    ),
    "fig4A": Panel(
        "subsets:fig4A",
        ("subset_macrophage",),
        "UMAP of macrophages by subtype",
        "three Kupffer-cell states and three monocyte-derived macrophage states",
    ),
    "fig4B": Panel(
        "subsets:fig4B",
        ("subset_macrophage", "marker_sets_macrophage"),
        "Kupffer-cell and macrophage markers per subtype",
        "Kupffer1-3 express Cd5l, Timd4, Clec4f and Vsig4",
    ),
    "fig4C": Panel(
        "subsets:fig4C",
        ("subset_macrophage", "subset_markers_macrophage"),
        "Top 5 markers of each macrophage subtype",
        "Kupffer2 is Il6-high; MAC2 is Arg1/Ctsd-high",
    ),
    "fig5A": Panel(
        "subsets:fig5A",
        ("subset_tnk",),
        "UMAP of T/NK cells by subtype",
        "nine T/NK subtypes, including exhausted CD8 T cells and Tregs",
    ),
    "fig5B": Panel(
        "subsets:fig5B",
        ("subset_tnk", "marker_sets_tnk"),
        "Marker genes of the T/NK subtypes",
        "exhausted CD8 T cells express Pdcd1, Havcr2, Lag3 and Tox; Tregs Foxp3",
    ),
    # DE inside lineages (livermet.figures.lineage_de)
    "fig4F": Panel(
        "lineage_de:fig4F",
        ("subset_macrophage", "lineage_de_Kupffer2_vs_Kupffer3"),
        "Top 40 genes up in Kupffer2 vs Kupffer3",
        "Kupffer2 cells express more cytokines and chemokines (Il6) than Kupffer3",
    ),
    "fig4G": Panel(
        "lineage_de:fig4G",
        ("enrichment_fig4G",),
        "GO enrichment of the genes up in Kupffer2 vs Kupffer3",
        "Kupffer2 genes are enriched for neutrophil chemotaxis and cell-cell interaction",
    ),
    "fig4H": Panel(
        "lineage_de:fig4H",
        ("enrichment_fig4H",),
        "KEGG enrichment of the genes up in Kupffer2 vs Kupffer3",
        "Kupffer2 activates the TNF/NF-kB pathway more than Kupffer3",
    ),
    "fig4J": Panel(
        "lineage_de:fig4J",
        ("lineage_de_MAC2_vs_MAC1",),
        "Cells expressing each gene, MAC2 vs MAC1",
        "MAC2 expresses the M2 markers Arg1 and Ctsd more than MAC1",
    ),
    "fig5D": Panel(
        "lineage_de:fig5D",
        ("lineage_de_CD8_exhausted_MN_vs_control",),
        "Exhausted CD8 T cells, MN vs control",
        "MN exhausted T cells express more T-cell dysfunction genes (Fosl2, Crem)",
    ),
    "fig5E": Panel(
        "lineage_de:fig5E",
        ("enrichment_fig5E",),
        "GO enrichment of the genes up in MN vs control exhausted CD8 T cells",
        "MN exhausted T cells are enriched for T-cell apoptosis terms",
    ),
    "figS2A": Panel(
        "lineage_de:figS2A",
        ("subset_neutrophil", "lineage_de_N1_vs_N3"),
        "N1/N3 markers and the top N1 vs N3 genes across N0-N3",
        "N1 and N3 share Retnlg and Mmp8; N3 expresses more Ltf and Camp, N1 more Prok2",
    ),
    **{
        f"figS2{letter}": Panel(
            f"lineage_de:figS2{letter}", ("subset_neutrophil",), f"{gene} across N0-N3", claim
        )
        for letter, gene, claim in (
            ("B", "Retnlg", "Retnlg is high in N1 and N3"),
            ("C", "Mmp8", "Mmp8 is high in N1 and N3"),
            ("D", "Ltf", "Ltf is higher in N3 than N1"),
            ("E", "Camp", "Camp is higher in N3 than N1"),
            ("F", "Prok2", "Prok2 is higher in N1 than the other neutrophils"),
        )
    },
    **{
        panel: Panel(
            f"composition:{panel}",
            (f"composition_{lineage}", f"composition_test_{lineage}"),
            f"{name} subtype shares per condition (points: animals; bars: means; test FDR)",
            claim,
        )
        for panel, lineage, name, claim in (
            (
                "fig3C",
                "myeloid",
                "Myeloid",
                "neutrophils and monocytes rise in PMN and MN, pDCs fall, macrophages unchanged",
            ),
            ("fig3E", "neutrophil", "Neutrophil", "N1 and N3 rise gradually in PMN and MN"),
            (
                "fig4D",
                "macrophage",
                "Macrophage",
                "Kupffer2 and MAC2 rise in MN; Kupffer3 and MAC1 fall",
            ),
            ("fig5C", "tnk", "T/NK", "exhausted T cells and Tregs rise in MN"),
        )
    },
    # Pseudotime and signature scores inside lineages (livermet.figures.trajectories)
    "fig3I": Panel(
        "trajectories:subtype_shares_along_pseudotime",
        ("pseudotime_bins_neutrophil",),
        "Neutrophil subtypes along diffusion pseudotime (root N3)",
        "N3 neutrophils develop earlier than N1 neutrophils",
    ),
    "fig3J": Panel(
        "trajectories:condition_distribution_along_pseudotime",
        ("pseudotime_bins_neutrophil",),
        "Neutrophils of each condition along pseudotime",
        "control neutrophils lie later (more mature) in pseudotime than PMN and MN neutrophils",
    ),
    "fig3K": Panel(
        "trajectories:signature_heatmap",
        ("signature_means_neutrophil",),
        "Neutrophil signature scores per subtype, scaled -1..1",
        "N1 high in MDSC genes; N3 in phagocytosis and granule formation; N0, N2 in senescence "
        "and apoptosis",
    ),
    "fig4E": Panel(
        "trajectories:umap_pseudotime",
        ("subset_macrophage", "pseudotime_macrophage"),
        "Macrophage diffusion pseudotime (roots Kupffer3, MAC3)",
        "Kupffer2 cells develop later than Kupffer3 cells",
    ),
    "fig4I": Panel(
        "trajectories:umap_cd14_activated",
        ("subset_macrophage", "signature_scores_macrophage"),
        'CD14 "activated" inflammation score of macrophages',
        "the Cd14 inflammation score is highest in Kupffer2 cells",
    ),
    "fig4K": Panel(
        "trajectories:umap_m1",
        ("subset_macrophage", "signature_scores_macrophage"),
        "M1 macrophage signature score",
        "M1 markers are expressed at low levels in most macrophages",
    ),
    "fig4L": Panel(
        "trajectories:umap_m2",
        ("subset_macrophage", "signature_scores_macrophage"),
        "M2 macrophage signature score",
        "M2 markers are highest in MAC2 and Kupffer2 cells",
    ),
    **{
        name: Panel(f"fig6:{draw}", (f"cellchat_{table}",), title, claim)
        for name, draw, table, title, claim in (
            (
                "fig6A",
                "lineage_totals",
                "totals",
                "Significant contact interactions per condition",
                "number and strength of interactions rise in PMN and more in MN",
            ),
            (
                "fig6B",
                "group_count_heatmaps",
                "group_counts",
                "Interactions among hepatocytes, macrophages, neutrophils, NK, exhausted T",
                "hepatocytes, macrophages and neutrophils send more signals to exhausted T in MN",
            ),
            (
                "fig6C",
                "mn_up_bubbles",
                "fig6C_bubbles",
                "Pairs up in MN, to exhausted CD8 T cells",
                "Cd274-Pdcd1 (and Alcam/Cd6) are the main pairs up in MN",
            ),
            (
                "fig6D",
                "cd274_pdcd1_expression",
                "fig6D_expression",
                "Cd274, Cd6 and Pdcd1 by condition",
                "Cd274 up in MN neutrophils, macrophages, hepatocytes; Pdcd1 up in MN exhausted T",
            ),
            (
                "fig6E",
                "neutrophil_macrophage_bubbles",
                "fig6E_bubbles",
                "Neutrophil -> macrophage pairs up in MN",
                "App-Cd74 from neutrophils to macrophages rises in MN",
            ),
            (
                "fig6F",
                "app_expression",
                "fig6F_expression",
                "App in neutrophils by condition",
                "App rises in MN neutrophils",
            ),
            (
                "fig6G",
                "cd74_expression",
                "fig6G_expression",
                "Cd74 in macrophages by condition",
                "Cd74 rises in MN macrophages",
            ),
            (
                "figS4A",
                "subtypes_to_exhausted_bubbles",
                "figS4A_bubbles",
                "Neutrophil and macrophage subtypes -> exhausted CD8 T, up in MN",
                "most neutrophil subtypes, N1 included, signal Cd274-Pdcd1 to exhausted T in MN",
            ),
            (
                "figS4B",
                "neutrophil_subtype_cd274",
                "figS4_neutrophil_expression",
                "Cd274 and App across neutrophil subtypes, MN",
                "most neutrophil subtypes express Cd274 highly in MN; N1 has the most App",
            ),
            (
                "figS4C",
                "neutrophil_cd274_by_condition",
                "figS4_neutrophil_expression",
                "Cd274 in neutrophil subtypes by condition",
                "Cd274 rises progressively in PMN and MN",
            ),
            (
                "figS4D",
                "neutrophil_macrophage_subtype_bubbles",
                "figS4D_bubbles",
                "Neutrophil -> macrophage subtype pairs up in MN",
                "N1 App-Cd74 signalling to Kupffer2 and MAC2 rises in MN",
            ),
            (
                "figS4E",
                "macrophage_subtype_cd74_cd274",
                "figS4_macrophage_expression",
                "Cd74 and Cd274 across macrophage subtypes, MN",
                "MAC2 expresses the most Cd74, Kupffer2 the most Cd274",
            ),
            (
                "figS4F",
                "macrophage_cd74_by_condition",
                "figS4_macrophage_expression",
                "Cd74 in macrophage subtypes by condition",
                "Cd74 in MAC2 rises progressively in PMN and MN",
            ),
        )
    },
    # Deconvolution, survival and the N1 signature (issue 6).
    **{
        f"fig1{letter}": Panel(
            f"deconvolution:fig1{letter}",
            ("immune_fractions", "immune_tests"),
            f"{name} among immune cells in bulk livers (Bisque), control vs PMN",
            claim,
        )
        for letter, name, claim in (
            ("I", "T/NK cells", "T/NK share of immune cells falls in PMN livers"),
            ("J", "Myeloid cells", "myeloid share of immune cells rises in PMN livers"),
            ("K", "B cells", "B share of immune cells falls in PMN livers"),
        )
    },
    "fig3F": Panel(
        "deconvolution:fig3F",
        ("neutrophil_fractions_fig2I",),
        "N0-N3 in bulk livers of the CRC model (Bisque)",
        "N1 and N3 neutrophils rise in PMN livers",
    ),
    "fig3G": Panel(
        "deconvolution:fig3G",
        ("neutrophil_fractions_fig2H",),
        "N0-N3 in bulk livers of the PDAC model (Bisque)",
        "N1 and N3 rise in PMN livers; N1 rises further in MN",
    ),
    **{
        panel: Panel(
            f"survival:{panel}",
            ("survival_patients", "survival_cutpoints"),
            f"Overall survival of CRC liver metastases by {subtype} fraction",
            claim,
        )
        for panel, subtype, claim in (
            ("fig3L", "N1", "a high N1 fraction predicts worse overall survival"),
            ("figS2H", "N0", "the N0 fraction is not associated with survival"),
            ("figS2I", "N2", "the N2 fraction is not associated with survival"),
            ("figS2J", "N3", "the N3 fraction is not associated with survival"),
        )
    },
    "figS2K": Panel(
        "survival:figS2K",
        ("n1_candidates",),
        "N1 markers that predict survival: the N1 signature",
        "24 N1 markers (p < 0.05, log2FC > 2) predict worse survival in GSE159216",
    ),
    "figS2L": Panel(
        "survival:figS2L",
        ("signature_patients", "signature_cutpoints"),
        "Overall survival by N1 signature score",
        "a high N1 signature score predicts worse overall survival",
    ),
    # Human neutrophils and CRC liver metastasis patients (livermet.figures.human)
    "fig3M": Panel(
        "human:fig3M",
        ("human_scores", "human_tests"),
        "N1 signature in human neutrophils: liver and blood, healthy donors vs patients",
        "the N1 signature is higher in liver and blood neutrophils of CRC liver metastasis "
        "patients than of healthy donors",
    ),
    **{
        panel: Panel(f"human:{panel}", ("human_shares", "human_correlations"), title, claim)
        for panel, title, claim in (
            (
                "fig5F",
                "CD8 exhausted T share by N1-like neutrophil share (CRLM patients)",
                "patients with more N1 neutrophils have more exhausted CD8 T cells",
            ),
            (
                "fig5G",
                "CD8 exhausted T share by Kupffer2 share (CRLM patients)",
                "patients with more Kupffer2 cells have more exhausted CD8 T cells",
            ),
            (
                "fig5H",
                "Kupffer2 share by N1-like neutrophil share (CRLM patients)",
                "the N1 share is unrelated to the Kupffer2 share",
            ),
            (
                "fig5I",
                "MAC2 share by N1-like neutrophil share (CRLM patients)",
                "the N1 share correlates positively with the MAC2 share",
            ),
            (
                "figS3",
                "The other macrophage subtypes vs exhausted T and vs N1 (CRLM patients)",
                "only Kupffer2 of the macrophage subtypes goes with exhausted T; N1 is unrelated "
                "to the other macrophage subtypes",
            ),
        )
    },
}
