"""Fig 6A on the demo's truth: the number of significant contact pairs rises control < PMN < MN
because the generator plants it (``adhesion_up``: ICAM-1 on more senders, stage by stage), not
because of which small groups pass CellChat's 10-cell minimum in a draw.

The six livers are drawn at the demo's scale, labelled with their true groups pooled as the
workflow's ``lineage`` grouping, and run through :func:`livermet.cellchat.communication` with the
configured settings (no workflow: the scorecard's run checks the pipeline's own labels).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scanpy as sc
from demo_livers import draw_demo_livers, project_config
from workflow_utils import REPO

from livermet import CONDITIONS, cellchat
from livermet.demo_biology import CD8_T_CELLS, CONDITION_PROGRAMMES

CONFIG = project_config()
ICAM1_PAIRS = "ICAM1_"


def planted_icam1_senders(condition: str) -> set[str]:
    """The lineages ``adhesion_up`` raises Icam1 in, in ``condition``."""
    return {
        member
        for programme in CONDITION_PROGRAMMES
        if programme.effect == "adhesion_up" and condition in programme.log2fc
        for member in programme.members
    }


def labelled_livers(effects: dict | None = None):
    """Log-normalised counts (CellChat's ``data``) with each cell's true group and condition."""
    counts, truth = draw_demo_livers(CONFIG["seed"], effects)
    subtypes = pd.Series(truth["subtype"].to_numpy(), index=counts.obs_names)
    counts.obs["condition"] = truth["condition"].to_numpy()
    counts.obs["group"] = cellchat.merged_groups(
        subtypes, CONFIG["cellchat"]["groupings"]["lineage"]
    )
    counts.layers["counts"] = counts.X.copy()
    sc.pp.normalize_total(counts, target_sum=1e4)
    sc.pp.log1p(counts)
    return counts, truth


def communication(adata, conditions=CONDITIONS) -> pd.DataFrame:
    settings = cellchat.CellChatSettings(
        groupby="group",
        min_cells=CONFIG["cellchat"]["min_cells"],
        n_perms=CONFIG["cellchat"]["permutations"],
        pval_threshold=CONFIG["cellchat"]["pval_threshold"],
        overexpressed_pval=CONFIG["cellchat"]["overexpressed_pval"],
        seed=CONFIG["seed"],
    )
    resource = cellchat.load_contact_resource(REPO / CONFIG["cellchat"]["resource"])
    return pd.concat(
        [cellchat.communication(adata, condition, resource, settings) for condition in conditions]
    )


@pytest.fixture(scope="module")
def planted():
    adata, truth = labelled_livers()
    return adata, truth, communication(adata)


def icam1_senders(table: pd.DataFrame, condition: str) -> set[str]:
    chosen = table[
        table["significant"]
        & (table["condition"] == condition)
        & table["interaction_name"].str.startswith(ICAM1_PAIRS)
    ]
    return set(chosen["source"])


def test_significant_pairs_rise_with_stage(planted):
    """Fig 6A's claim on the truth. On seeds 1-8 and the default the truth-level counts rose on
    all nine draws, the smallest step 153 pairs (default seed: 758, 1158, 1358)."""
    totals = cellchat.interaction_totals(planted[2]).set_index("condition")["n_interactions"]
    assert totals["control"] < totals["PMN"] < totals["MN"], totals.to_dict()


def test_icam1_pairs_come_from_the_planted_senders_stage_by_stage(planted):
    """More senders in MN than in PMN, none in control. Not all seven planted MN senders pass:
    Icam1 is bursty in the fit (dispersion 7), so at 16-fold it reaches only 19-45 % of their
    cells, and CellChat's trimean stays zero under about a quarter (default seed: hepatocytes,
    fibroblasts, cholangiocytes and endothelial cells pass; macrophages, monocytes and
    neutrophils, 19-24 %, do not)."""
    table = planted[2]
    senders = {condition: icam1_senders(table, condition) for condition in CONDITIONS}
    assert senders["control"] == set()
    assert senders["PMN"] and senders["PMN"] <= planted_icam1_senders("PMN"), senders
    assert senders["MN"] <= planted_icam1_senders("MN"), senders
    assert len(senders["MN"]) > len(senders["PMN"]), senders


def test_without_the_adhesion_programme_no_sender_has_significant_icam1_pairs():
    adata, _ = labelled_livers({"adhesion_up": 0.0})
    table = communication(adata, ["MN"])
    assert icam1_senders(table, "MN") == set()


def test_the_cd8_coreceptor_marks_cd8_t_cells_only(planted):
    """Every MHC-I pair of Fig 6 needs Cd8a or Cd8b1 in its receiver; detected in a third of
    hepatocytes and tumour cells and a quarter of CD8 T cells before ``CD8_OFF``."""
    adata, truth, _ = planted
    detected = np.asarray((adata[:, ["Cd8a", "Cd8b1"]].layers["counts"] > 0).toarray())
    cd8 = truth["subtype"].isin(CD8_T_CELLS).to_numpy()
    assert detected[cd8].mean(axis=0).min() > 0.4, detected[cd8].mean(axis=0)
    assert detected[~cd8].mean(axis=0).max() < 0.05, detected[~cd8].mean(axis=0)
