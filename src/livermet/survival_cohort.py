"""A survival cohort from GEO (GSE159216, or the demo's stand-in): expression and outcome per
patient, and the optimal-cutpoint survival of its deconvolved cell fractions (Fig 3L, S2H-J).

Reading follows the paper: the series matrix (log2 RMA values per probe) and the platform's gene
assignments give one row per human gene (the most variable probe of each gene,
:func:`livermet.geo.collapse_to_genes`); patients with several metastases keep their sample with
the lowest GSM; human symbols become mouse symbols through the one-to-one ortholog table (the
paper used clusterProfiler ``bitr``), with the number of genes lost logged, so the mouse atlas can
serve as the deconvolution reference and the mouse N1 markers can be looked up.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from livermet import geo
from livermet.errors import InputError
from livermet.orthologs import map_table_index
from livermet.survival import HIGH, cutpoint_survival_table, surv_categorize

log = logging.getLogger(__name__)

TIME, EVENT = "OS_time", "OS_event"
CLINICAL_COLUMNS = ["sample", "patient", TIME, EVENT]


def read_geo_cohort(
    series_matrix, platform, fields: Mapping[str, str]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(expression: mouse genes x samples, log2; clinical: :data:`CLINICAL_COLUMNS`), one sample
    per patient with a known overall survival.

    ``fields`` names the sample characteristics: ``patient``, ``os_time``, ``os_status`` (config
    ``datasets.<name>.survival``).
    """
    for key in ("patient", "os_time", "os_status"):
        if not fields.get(key):
            raise InputError(f"survival field {key!r} is not set (datasets.<name>.survival.{key})")
    matrix = geo.read_series_matrix(series_matrix)
    if matrix.expression.empty:
        raise InputError(f"{series_matrix}: the series matrix has no expression table")
    genes = geo.probe_to_gene(geo.read_platform_table(platform))
    expression = geo.collapse_to_genes(matrix.expression, genes)
    clinical = clinical_table(matrix.clinical, fields)
    expression = expression[clinical["sample"].tolist()]
    mouse, n_lost = map_table_index(expression, "human_to_mouse")
    log.info(
        "%d patients; %d human genes, %d without a one-to-one mouse ortholog (lost), %d kept",
        len(clinical),
        len(expression),
        n_lost,
        len(mouse),
    )
    mouse.index.name = "gene"
    return mouse, clinical


def clinical_table(characteristics: pd.DataFrame, fields: Mapping[str, str]) -> pd.DataFrame:
    """One row per patient (lowest GSM), with overall survival; patients without it dropped."""
    missing = [fields[k] for k in ("os_time", "os_status") if fields[k] not in characteristics]
    if missing:
        raise InputError(
            f"no clinical field {missing[0]!r}; fields are: {', '.join(characteristics.columns)}"
        )
    kept = geo.one_sample_per_patient(characteristics, fields["patient"])
    table = pd.DataFrame(
        {
            "sample": kept.index,
            "patient": kept[fields["patient"]].astype(str).to_numpy(),
            TIME: pd.to_numeric(kept[fields["os_time"]], errors="coerce").to_numpy(),
            EVENT: pd.to_numeric(kept[fields["os_status"]], errors="coerce").to_numpy(),
        }
    )
    complete = table[[TIME, EVENT]].notna().all(axis=1)
    log.info(
        "%d samples, %d patients, %d with overall survival",
        len(characteristics),
        len(table),
        int(complete.sum()),
    )
    table = table[complete].reset_index(drop=True)
    if table.empty:
        raise InputError("no patient has both an overall-survival time and status")
    if not table[EVENT].isin((0, 1)).all():
        raise InputError(f"{fields['os_status']} must be 0 (censored) or 1 (death)")
    return table


def fraction_survival(
    clinical: pd.DataFrame,
    fractions: pd.DataFrame,
    variables: Sequence[str],
    scope: str = "all",
    minprop: float = 0.1,
    n_perm: int = 0,
    seed: int = 0,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Optimal-cutpoint survival of each cell fraction (the paper's surv_cutpoint split).

    Returns the cutpoint table (:data:`livermet.survival.RESULT_COLUMNS`, one row per variable)
    and the patient table: clinical columns, each variable's fraction and its ``<variable>_group``
    (high / low), what the Kaplan-Meier panels draw.
    """
    wide = fractions[fractions["scope"] == scope].pivot(
        index="sample", columns="cell_type", values="proportion"
    )
    unknown = [v for v in variables if v not in wide.columns]
    if unknown:
        raise InputError(f"no fraction of {', '.join(unknown)} in scope {scope!r}")
    patients = clinical.join(wide[list(variables)], on="sample")
    without = patients[list(variables)].isna().all(axis=1)
    if without.any():
        log.warning("%d patients have no fractions and are left out", int(without.sum()))
        patients = patients[~without].reset_index(drop=True)
    return cutpoint_analysis(patients, variables, minprop, n_perm, seed)


def cutpoint_analysis(
    patients: pd.DataFrame,
    variables: Sequence[str],
    minprop: float = 0.1,
    n_perm: int = 0,
    seed: int = 0,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Cutpoint table and patients with their high/low group per variable (see above). A variable
    with fewer than two distinct values (a subtype the reference lacked, or the only one left)
    gets a row of NaN statistics, no groups and a warning, so the others are still analysed."""
    present = [v for v in variables if patients[v].nunique() > 1]
    missing = [v for v in variables if v not in present]
    if missing:
        log.warning("%s: fewer than two distinct values, no survival split", ", ".join(missing))
    table = cutpoint_survival_table(patients, present, TIME, EVENT, minprop, n_perm, seed)
    table = table.set_index("variable").reindex(list(variables)).reset_index()
    patients = patients.copy()
    for row in table.itertuples():
        groups = surv_categorize(patients[row.variable].to_numpy(), row.cutpoint)
        unset = patients[row.variable].isna().to_numpy() | np.isnan(row.cutpoint)
        patients[f"{row.variable}_group"] = np.where(unset, "", groups)
    for row in table.dropna(subset=["cutpoint"]).itertuples():
        log.info(
            "%s: cut %.4g, %d high / %d low, HR %.2f, log-rank p %.2g, adjusted p %.2g",
            row.variable,
            row.cutpoint,
            row.n_high,
            row.n_low,
            row.hr,
            row.logrank_p,
            row.adjusted_p,
        )
    return table, patients


def is_high(patients: pd.DataFrame, variable: str) -> np.ndarray:
    """Boolean high-group mask of the patients with a group for ``variable``."""
    return (patients[f"{variable}_group"] == HIGH).to_numpy()
