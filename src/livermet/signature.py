"""The N1 signature (Fig S2K/L; used again on human neutrophils, Fig 3M): N1 markers that predict
worse survival.

The paper: "N1 neutrophils were analyzed differentially in comparison to all other cell types using
FindMarkers. Genes exhibiting high expression levels (p < 0.05, LogFC > 2) were intersected with
those associated with poor prognosis in patients with liver metastases from colorectal cancer
(GSE159216)", 24 genes. Here:

1. markers: Wilcoxon of N1 against every other labelled atlas cell on log-normalised counts
   (:func:`livermet.de.wilcoxon_de`, Seurat's test and log2 fold change), genes detected in at
   least ``min_pct`` of either side; kept with p below ``max_p`` and log2 fold change above
   ``min_log2fc``;
2. prognosis: univariate Cox of overall survival on each marker's log2 expression in the
   survival cohort (one sample per patient, mouse symbols), kept with HR > 1 and Wald p below
   ``max_cox_p``. Only markers are fitted: the intersection is the same as fitting every gene, at
   a hundredth of the cost (lifelines takes ~0.1 s per fit);
3. score: per patient, the mean over signature genes of the z-scored log2 expression; its
   optimal-cutpoint survival gives Fig S2L. The genes were chosen for their association with
   survival in this same cohort, so that p-value is optimistic by construction (selection on the
   outcome); it shows the signature's coherence, not an independent validation.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import anndata as ad
import numpy as np
import pandas as pd

from livermet.de import DE_COLUMNS, wilcoxon_de
from livermet.errors import InputError
from livermet.survival import cox_univariate, survival_arrays
from livermet.survival_cohort import cutpoint_analysis

log = logging.getLogger(__name__)

SIGNATURE_COLUMNS = [
    "gene",
    "log2fc",
    "pval",
    "padj",
    "pct_group",
    "pct_ref",
    "hr",
    "hr_low95",
    "hr_high95",
    "cox_p",
]
OTHERS = "other"


@dataclass(frozen=True)
class SignatureSettings:
    """Thresholds of the paper (p < 0.05, log2FC > 2, Cox HR > 1 with p < 0.05)."""

    subtype: str = "N1"
    label: str = "subtype"
    min_pct: float = 0.1
    max_p: float = 0.05
    min_log2fc: float = 2.0
    max_cox_p: float = 0.05


def subtype_markers(
    atlas: ad.AnnData, labels: pd.DataFrame, settings: SignatureSettings
) -> pd.DataFrame:
    """Wilcoxon of one subtype against all other labelled atlas cells (every gene tested)."""
    if settings.label not in labels.columns:
        raise InputError(f"labels table has no column {settings.label!r}")
    labelled = atlas.obs_names.isin(labels.index)
    if not labelled.any():
        raise InputError("no atlas cell is in the labels table; are they from the same run?")
    cells = atlas[labelled]
    in_group = labels.loc[cells.obs_names, settings.label].to_numpy() == settings.subtype
    if in_group.sum() < 3:
        # an upstream labelling that found (almost) no such cells: an empty signature, said so
        log.warning("%d atlas cells labelled %r: no markers", in_group.sum(), settings.subtype)
        return pd.DataFrame(columns=[c for c in DE_COLUMNS if c not in ("method", "contrast")])
    test = ad.AnnData(
        X=cells.X,
        obs=pd.DataFrame(
            {"versus": np.where(in_group, settings.subtype, OTHERS)}, index=cells.obs_names
        ),
        var=pd.DataFrame(index=cells.var_names),
        layers={"counts": cells.layers["counts"]},
    )
    table = wilcoxon_de(test, settings.subtype, OTHERS, settings.min_pct, condition_key="versus")
    log.info("%s vs %d other cells: %d genes", settings.subtype, (~in_group).sum(), len(table))
    return table.drop(columns=["method", "contrast"])


def passing_markers(markers: pd.DataFrame, settings: SignatureSettings) -> pd.DataFrame:
    """Markers up in the subtype: p below ``max_p`` and log2 fold change above ``min_log2fc``."""
    up = markers[(markers["pval"] < settings.max_p) & (markers["log2fc"] > settings.min_log2fc)]
    return up.sort_values(["log2fc", "gene"], ascending=[False, True]).reset_index(drop=True)


def cox_per_gene(
    expression: pd.DataFrame, clinical: pd.DataFrame, genes: Sequence[str]
) -> pd.DataFrame:
    """Univariate Cox of overall survival on each gene's log2 expression (HR per log2 unit).

    Genes absent from the cohort or without variation get NaN statistics (and count as not
    prognostic).
    """
    frame = clinical.set_index("sample")[["OS_time", "OS_event"]]
    rows = []
    for gene in genes:
        stats = dict.fromkeys(("hr", "hr_low95", "hr_high95", "cox_p"), np.nan)
        if gene in expression.index:
            frame["x"] = expression.loc[gene, frame.index].to_numpy(dtype=float)
            time, event, x = survival_arrays(frame, "x", "OS_time", "OS_event")
            if np.ptp(x) > 0:
                stats = cox_univariate(time, event, x)
        rows.append({"gene": gene, **stats})
    table = pd.DataFrame(rows, columns=["gene", "hr", "hr_low95", "hr_high95", "cox_p"])
    log.info(
        "Cox on %d genes: %d in the cohort, %d with HR > 1 and p < 0.05",
        len(genes),
        int(table["hr"].notna().sum()),
        int(((table["hr"] > 1) & (table["cox_p"] < 0.05)).sum()),
    )
    return table


def n1_signature(
    markers: pd.DataFrame,
    expression: pd.DataFrame,
    clinical: pd.DataFrame,
    settings: SignatureSettings,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(candidates, signature): every passing marker with its Cox statistics and a ``prognostic``
    flag, and the signature itself (the prognostic markers, :data:`SIGNATURE_COLUMNS`)."""
    up = passing_markers(markers, settings)
    cox = cox_per_gene(expression, clinical, up["gene"].tolist())
    candidates = up.merge(cox, on="gene", how="left")
    candidates["prognostic"] = (candidates["hr"] > 1) & (candidates["cox_p"] < settings.max_cox_p)
    signature = candidates[candidates["prognostic"]][SIGNATURE_COLUMNS].reset_index(drop=True)
    log.info(
        "%d %s markers, %d of them prognostic: %s",
        len(up),
        settings.subtype,
        len(signature),
        ", ".join(signature["gene"]),
    )
    return candidates, signature


def signature_score(expression: pd.DataFrame, genes: Sequence[str]) -> pd.Series:
    """Mean z-scored log2 expression of the signature genes per sample (NaN without genes)."""
    present = [g for g in genes if g in expression.index]
    if not present:
        return pd.Series(np.nan, index=expression.columns, name="score")
    values = expression.loc[present]
    spread = values.std(axis=1, ddof=1).replace(0, np.nan)
    z = values.sub(values.mean(axis=1), axis=0).div(spread, axis=0)
    return z.mean(axis=0).rename("score")


def signature_survival(
    genes: Sequence[str],
    expression: pd.DataFrame,
    clinical: pd.DataFrame,
    minprop: float = 0.1,
    n_perm: int = 0,
    seed: int = 0,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Optimal-cutpoint survival by signature score (variable ``score``): the cutpoint table and
    the patients with their score and ``score_group``. An empty signature gives one row of NaN
    statistics and no groups, so the panel can say so instead of the workflow stopping."""
    score = signature_score(expression, genes)
    patients = clinical.assign(score=clinical["sample"].map(score).to_numpy())
    return cutpoint_analysis(patients, ["score"], minprop, n_perm, seed)
