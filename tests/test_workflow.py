"""The whole workflow on the demo study, checked against the planted truth.

One run of the default demo (6 samples x 600 cells, the session's ``demo_run`` fixture) is shared
by the checks; tests/test_report.py reruns part of it and checks that tables are identical.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr
from sklearn.metrics import adjusted_rand_score, roc_auc_score
from test_cellchat import check_planted_communication
from workflow_utils import make_workdir, snakemake

from livermet.figures.fig2 import volcano_classes
from livermet.numerics import portable_kernels_apply
from livermet.panels import PANELS

pytestmark = pytest.mark.workflow


@pytest.fixture(scope="module")
def truth(demo_run):
    table = pd.read_csv(demo_run / "results/demo/truth.tsv", sep="\t", dtype={"barcode": str})
    table["cell"] = table["sample"] + "_" + table["barcode"]
    return table.set_index("cell")


@pytest.fixture(scope="module")
def qc_cells(demo_run):
    tables = [
        pd.read_csv(path, sep="\t")
        for path in sorted((demo_run / "results/qc").glob("*.cells.tsv"))
    ]
    return pd.concat(tables).set_index("cell")


@pytest.fixture(scope="module")
def cell_types(demo_run):
    return pd.read_csv(demo_run / "results/atlas/cell_types.tsv", sep="\t").set_index("cell")


def test_every_target_is_built(demo_run):
    figures = {p.name for p in (demo_run / "results/figures").iterdir()}
    assert {f"{panel}.{ext}" for panel in PANELS for ext in ("pdf", "png")} <= figures
    summary = pd.read_csv(demo_run / "results/qc/summary.tsv", sep="\t")
    assert len(summary) == 6
    assert (
        summary["cells_out"] == summary["cells_in"] - summary["removed_qc"] - summary["doublets"]
    ).all()


@pytest.mark.skipif(
    not portable_kernels_apply(), reason="the portable kernels need an x86-64 CPU with AVX2"
)
def test_jobs_compute_with_the_portable_kernels(demo_run):
    # what every rule's log records first; the Snakefile sets it for every job it starts
    log = (demo_run / "results/logs/integrate.log").read_text()
    assert re.search(r"numerics: BLAS openblas \S+ \(Haswell kernels", log), log[:500]


def test_major_types_match_the_truth_on_retained_singlets(cell_types, truth):
    joined = cell_types.join(truth[["cell_type", "is_doublet"]], rsuffix="_true")
    singlets = joined[~joined["is_doublet"]]
    ari = adjusted_rand_score(singlets["cell_type_true"], singlets["cell_type"])
    assert ari >= 0.95, f"major-type ARI {ari:.3f}"


def test_scrublet_ranks_planted_doublets_high(qc_cells, truth):
    scored = qc_cells.dropna(subset=["doublet_score"]).join(truth["is_doublet"])
    auroc = roc_auc_score(scored["is_doublet"], scored["doublet_score"])
    # 0.894-0.946 over seven draws of the demo (default seed 0.895, 2026-12-04), 0.917-0.942 over
    # four draws before its small groups were resized; random ranking gives 0.5
    assert auroc >= 0.88, f"scrublet AUROC {auroc:.3f}"


def test_planted_low_quality_cells_are_removed(qc_cells, truth):
    low_quality = truth.index[truth["is_low_quality"]]
    removed = ~qc_cells.loc[low_quality, "kept"]
    assert removed.mean() >= 0.95, f"{removed.mean():.1%} of low-quality cells removed"


def test_condition_shares_match_the_truth_within_3_points(cell_types, truth):
    joined = cell_types.join(truth[["cell_type", "is_doublet"]], rsuffix="_true")
    joined = joined[~joined["is_doublet"]]
    found = pd.crosstab(joined["condition"], joined["cell_type"], normalize="index")
    planted = pd.crosstab(joined["condition"], joined["cell_type_true"], normalize="index")
    difference = found.sub(planted, fill_value=0).abs().max().max()
    assert difference <= 0.03, f"largest share difference {difference:.3f}"


PMN_GENES = {"Saa1", "Saa2", "Orm1", "Orm2", "Lcn2", "Cxcl1"}
MN_GENES = {"S100a8", "S100a9", "Cxcl2", "Cxcl10"}


def top_up(table: pd.DataFrame) -> set[str]:
    """The volcano's red genes: the first 20 by p-value among p < 0.05 and log2FC > 1."""
    table = table.reset_index(drop=True)
    return set(table.loc[volcano_classes(table) == "top_up", "gene"])


@pytest.mark.parametrize(
    ("contrast", "planted"), [("PMN_vs_control", PMN_GENES), ("MN_vs_control", MN_GENES)]
)
def test_planted_hepatocyte_genes_are_top_up_in_both_methods(demo_run, contrast, planted):
    de = pd.read_csv(demo_run / f"results/de/Hepatocyte/{contrast}.tsv", sep="\t")
    assert set(de["method"]) == {"wilcoxon", "pseudobulk"}
    for method, table in de.groupby("method"):
        missing = planted - top_up(table)
        assert not missing, f"{method} {contrast}: {sorted(missing)} not in the top 20 up"


@pytest.mark.parametrize("contrast", ["PMN_vs_control", "MN_vs_control"])
def test_planted_hallmarks_have_the_planted_sign(demo_run, contrast):
    gsea = pd.read_csv(demo_run / f"results/gsea/Hepatocyte/{contrast}.tsv", sep="\t")
    nes = gsea.set_index("term")["nes"]
    assert nes["HALLMARK_IL6_JAK_STAT3_SIGNALING"] > 0
    assert nes["HALLMARK_TNFA_SIGNALING_VIA_NFKB"] > 0
    assert nes["HALLMARK_BILE_ACID_METABOLISM"] < 0


@pytest.mark.parametrize("cohort", ["pdac_kpc", "pdac_spleen", "crc_orthotopic"])
def test_bulk_cohorts_recover_the_planted_pmn_genes(demo_run, cohort):
    de = pd.read_csv(demo_run / f"results/bulk/{cohort}/de.tsv", sep="\t")
    up = de[(de["padj"] < 0.05) & (de["log2fc"] > 0)]
    assert PMN_GENES <= set(up["gene"]), sorted(PMN_GENES - set(up["gene"]))


def subset_cells(demo_run, lineage: str, truth: pd.DataFrame) -> pd.DataFrame:
    """A lineage's cells with their given and planted labels, residual doublets left out."""
    cells = pd.read_csv(demo_run / f"results/subsets/{lineage}/cells.tsv", sep="\t")
    cells = cells.set_index("cell").join(
        truth[["lineage", "subtype", "is_doublet"]], rsuffix="_true"
    )
    return cells[~cells["is_doublet"]]


@pytest.mark.parametrize(
    ("lineage", "level"),
    [
        ("myeloid", "lineage"),
        ("neutrophil", "subtype"),
        ("macrophage", "subtype"),
        ("tnk", "subtype"),
    ],
)
def test_subtypes_match_the_truth_within_each_lineage(demo_run, truth, lineage, level):
    cells = subset_cells(demo_run, lineage, truth)
    planted = cells["lineage"] if level == "lineage" else cells["subtype_true"]
    ari = adjusted_rand_score(planted, cells["subtype"])
    assert ari >= 0.9, f"{lineage} subtype ARI {ari:.3f}"


def test_the_cluster_named_n1_is_the_planted_prok2_high_one(demo_run, truth):
    cells = subset_cells(demo_run, "neutrophil", truth)
    named_n1 = cells[cells["subtype"] == "N1"]
    assert (named_n1["subtype_true"] == "N1").mean() >= 0.9
    markers = pd.read_csv(demo_run / "results/subsets/neutrophil/markers.tsv", sep="\t")
    assert "Prok2" in set(markers.loc[markers["group"] == "N1", "gene"].head(10))


@pytest.mark.parametrize("subtype", ["CD8_exhausted", "Treg"])
def test_planted_exhausted_t_and_tregs_are_found(demo_run, truth, subtype):
    cells = subset_cells(demo_run, "tnk", truth)
    named, planted = cells["subtype"] == subtype, cells["subtype_true"] == subtype
    precision, recall = (
        (named & planted).sum() / named.sum(),
        (named & planted).sum() / planted.sum(),
    )
    assert min(precision, recall) >= 0.9, (
        f"{subtype}: precision {precision:.2f}, recall {recall:.2f}"
    )


def test_neutrophil_share_of_myeloid_rises_with_stage(demo_run):
    composition = pd.read_csv(demo_run / "results/subsets/myeloid/composition.tsv", sep="\t")
    neutrophils = composition[composition["subtype"] == "Neutrophil"]
    means = neutrophils.groupby("condition")["proportion"].mean()
    assert means["control"] < means["PMN"] < means["MN"], means.to_dict()


PLANTED_SHIFTS = [("myeloid", "Neutrophil", "MN_vs_control"), ("macrophage", "Kupffer2", "overall")]
PLANTED_NULLS = [
    ("tnk", "NK", "PMN_vs_control"),
    ("tnk", "CD8_effector", "PMN_vs_control"),
    ("macrophage", "Kupffer1", "PMN_vs_control"),
    ("myeloid", "DC2", "PMN_vs_control"),
    ("tnk", "gdT", "overall"),
]
"""Shares the demo keeps equal across the stages compared, the five with the most cells (~33
down to ~8 per control liver): Basophils and MAC3 (~3 cells per liver) left out, where one cell
named differently moves a liver's share by a third."""


def propeller_rows(demo_run, rows) -> pd.DataFrame:
    tables = []
    for lineage, subtype, contrast in rows:
        table = pd.read_csv(demo_run / f"results/subsets/{lineage}/composition_test.tsv", sep="\t")
        tables.append(
            table[
                (table["method"] == "propeller")
                & (table["subtype"] == subtype)
                & (table["contrast"] == contrast)
            ]
        )
    return pd.concat(tables)


def test_composition_test_finds_planted_shifts_and_not_planted_nulls(demo_run):
    shifts, nulls = (
        propeller_rows(demo_run, PLANTED_SHIFTS),
        propeller_rows(demo_run, PLANTED_NULLS),
    )
    assert len(shifts) == len(PLANTED_SHIFTS) and len(nulls) == len(PLANTED_NULLS)
    assert (shifts["p"] < 0.05).all(), shifts[["subtype", "p"]]
    # One null p-value is uniform, so one may fall below 0.2 by chance; the planted nulls as a
    # group must look null: median p above 0.2 and none significant after FDR.
    assert nulls["p"].median() > 0.2, nulls[["subtype", "p"]]
    assert (nulls["fdr"] >= 0.05).all(), nulls[["subtype", "fdr"]]


def test_pseudotime_puts_planted_n3_before_n1(demo_run, truth):
    table = pd.read_csv(demo_run / "results/subsets/neutrophil/pseudotime.tsv", sep="\t")
    table = table.set_index("cell").join(
        truth[["subtype", "is_doublet", "maturation"]], rsuffix="_true"
    )
    singlets = table[~table["is_doublet"]]
    medians = singlets.groupby("subtype_true")["pseudotime"].median()
    assert medians["N3"] < medians["N1"] < min(medians["N0"], medians["N2"]), medians.to_dict()
    # and along the whole planted maturation axis, not only between subtypes (0.83 seen)
    neutrophils = singlets.dropna(subset=["maturation"])  # other cells have no maturation
    assert spearmanr(neutrophils["pseudotime"], neutrophils["maturation"]).statistic > 0.7


def test_planted_ligand_receptor_pairs_are_stronger_in_mn(demo_run):
    check_planted_communication(demo_run / "results")


def jobs_planned(workdir, *targets):
    result = snakemake(workdir, "-n", *targets, "--quiet", "rules")
    rows = [line.split() for line in result.stdout.splitlines()]
    return {row[0]: int(row[1]) for row in rows if len(row) == 2 and row[1].isdigit()}


def test_dry_run_lists_the_jobs(tmp_path):
    jobs = jobs_planned(make_workdir(tmp_path / "dry"))
    assert jobs["ingest"] == jobs["qc"] == 6
    assert jobs["figure"] >= 13 and jobs["all"] == 1


@pytest.mark.parametrize(("panel", "extra"), [("fig1G", {}), ("fig1E", {"atlas_umap": 1})])
def test_one_panel_builds_only_what_it_needs(tmp_path, panel, extra):
    jobs = jobs_planned(make_workdir(tmp_path / "panel"), f"results/figures/{panel}.pdf")
    core = {"demo_study": 1, "ingest": 6, "qc": 6, "integrate": 1, "annotate": 1, "figure": 1}
    assert jobs == {**core, **extra, "total": 16 + len(extra)}


def test_a_schema_violation_stops_before_any_job(tmp_path):
    workdir = make_workdir(tmp_path / "bad_config", qc={"max_mito_pct": 250})
    result = snakemake(workdir, "-n", check=False)
    assert result.returncode != 0
    assert "max_mito_pct" in result.stdout + result.stderr
    assert not (workdir / "results").exists()


def test_a_bad_condition_in_the_samples_sheet_is_refused(tmp_path):
    workdir = make_workdir(tmp_path / "bad_sheet")
    sheet = workdir / "config/samples.tsv"
    sheet.write_text(sheet.read_text().replace("\tPMN\t", "\tpre-metastatic\t", 1))
    result = snakemake(workdir, "-n", check=False)
    assert result.returncode != 0
    assert "pre-metastatic" in result.stdout + result.stderr


def test_bad_counts_stop_ingest_with_one_line_and_no_output(tmp_path):
    workdir = make_workdir(tmp_path / "bad_counts", demo={"enabled": False})
    counts = np.random.default_rng(0).poisson(3, (50, 3))
    counts[0, 0] = -1
    table = pd.DataFrame(counts, columns=["Alb", "mt-Co1", "Cd3e"])
    table.index.name = "Cell_Index"
    (workdir / "bad.csv").write_text("## BD Rhapsody\n" + table.to_csv())
    sheet = "sample\tcondition\tbatch\tpath\tformat\nctrl_1\tcontrol\tb1\tbad.csv\trhapsody_csv\n"
    (workdir / "config/samples.tsv").write_text(sheet)
    result = snakemake(workdir, "results/ingest/ctrl_1.h5ad", check=False)
    assert result.returncode != 0
    assert "livermet error: sample ctrl_1: bad.csv: negative counts" in result.stderr
    assert not (workdir / "results/ingest/ctrl_1.h5ad").exists()
    assert not list((workdir / "results/ingest").glob("*.h5ad*"))


def test_paper_config_plans_every_configured_download_offline(tmp_path):
    workdir = make_workdir(tmp_path / "paper")
    result = snakemake(workdir, "downloads", "-n", "--configfile", "config/paper.yaml")
    planned = set(re.findall(r"resources/raw/[^\s,]+", result.stdout))
    assert "resources/raw/GSE159216/GSE159216_series_matrix.txt.gz" in planned
    assert "resources/raw/GSE134355/GSM4008624_Adult-Liver1-2_dge.txt.gz" in planned
    assert "not downloadable yet: config datasets.wu2022_crlm" in result.stdout + result.stderr


def test_paper_config_names_the_missing_field_of_an_unfinished_dataset(tmp_path):
    workdir = make_workdir(tmp_path / "paper_missing")
    target = "results/bulk/GSE109480/de.tsv"
    result = snakemake(workdir, target, "-n", "--configfile", "config/paper.yaml", check=False)
    assert result.returncode != 0
    assert "config datasets.GSE109480.files.counts.name is not set" in result.stdout + result.stderr
