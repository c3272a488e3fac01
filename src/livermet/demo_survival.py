"""The demo's human survival cohort: colorectal cancer liver metastases in GSE159216's file formats.

A stand-in for GSE159216 (Moosavi et al. 2021; Affymetrix HTA 2.0, log2 RMA values, overall
survival in the sample characteristics), written as a GEO series matrix plus a platform SOFT file
so the pipeline reads it with the readers of the real download (:mod:`livermet.geo`).

Each tumour is mixed from the same cell-state profiles as the single-cell demo (the metastatic
niche condition), with human gene symbols through the one-to-one mouse-human ortholog table, so
the mouse single-cell atlas is a matching deconvolution reference after the pipeline maps the
symbols back. Per patient:

* composition: major types, myeloid lineages and T/NK subtypes drawn around a tumour-rich
  metastasis (:data:`CRLM_MAJOR_SHARES`, :data:`CRLM_MYELOID_SHARES`, :data:`CRLM_TNK_SHARES`),
  macrophage subtypes around the metastatic niche's; within neutrophils the N1 share comes
  from the patient's risk factor ``z`` on the logit scale (:data:`N1_LOGIT`) and N0, N2 and N3 split
  the rest by an independent, low-concentration Dirichlet draw (:data:`REST_SHARES`,
  :data:`REST_CONCENTRATION`);
* survival: exponential with hazard ``BASELINE_HAZARD * exp(HAZARD_LOG_HR * z)``, censored at 60
  months and by loss to follow-up. So the hazard rises with the planted N1 fraction
  (:data:`HAZARD_SUBTYPE`) and with nothing else: N0, N2 and N3 are the planted nulls
  (:data:`NULL_SUBTYPES`, Fig S2H-J). Shares of one whole cannot all be independent of one that
  varies: whatever N1 gains the others lose, a third each on average. N1's range is therefore kept
  narrow (sd of its share ~0.09) and the others' wide (~0.23), so each of them follows N1 with a
  correlation of only about -0.1; at 171 patients that is a hazard ratio near 1 that a log-rank
  test rarely detects, while N1 itself keeps a hazard ratio of 2.5 per sd of its logit;
* expression: RNA-weighted mix of the state profiles, gene-wise biological variation, then
  microarray intensities ``log2(CPM + background)`` with technical noise; some patients have a
  second lesion (a second GSM with a nearby composition), as in GSE159216.

The truth (read only by tests) has one row per sample (planted fractions, risk, survival) and the
planted "N1-and-prognostic" genes: mouse genes that are N1 markers in the single-cell sense
(Seurat-style log2 fold change of N1 over all other cells above :data:`TRUTH_MIN_LOG2FC`) and whose
simulated bulk expression carries the hazard (correlation with the planted risk at least
:data:`TRUTH_MIN_RISK_CORRELATION`), with a one-to-one ortholog both ways.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import pandas as pd

from livermet import CONDITIONS
from livermet.demo_biology import NEUTROPHIL_SUBTYPES, WITHIN_SHARES
from livermet.demo_composition import condition_shares
from livermet.demo_engine import (
    DEFAULT_PARAMS_DIR,
    StudyModel,
    random_stream,
    resolve_effects,
    study_model,
    weighted_mean,
)
from livermet.errors import InputError
from livermet.io import open_text_output, write_table
from livermet.orthologs import map_genes

ACCESSION = "GSE900001"
PLATFORM = "GPL900001"
FIRST_GSM = 9_000_001
CLINICAL_KEYS = {
    "patient": "patient id",
    "os_time": "60 months overall survival, time",
    "os_status": "60 months overall survival, status",
}
"""Sample-characteristics keys, spelled as config/paper.yaml expects them for GSE159216."""

CONDITION = "MN"
"""Cell-state profiles of the metastatic niche."""
CRLM_MAJOR_SHARES = {
    "Tumour": 0.45,
    "Hepatocyte": 0.08,
    "Fibroblast": 0.10,
    "Endothelial": 0.07,
    "Cholangiocyte": 0.02,
    "Myeloid": 0.20,
    "TNK": 0.06,
    "B": 0.02,
}
"""Share of all cells in a metastasis: tumour-rich, with a neutrophil-rich myeloid compartment
(neutrophils are among the most abundant immune cells of colorectal liver metastases)."""
CRLM_MYELOID_SHARES = {
    "Neutrophil": 0.45,
    "Macrophage": 0.30,
    "Monocyte": 0.12,
    "DC1": 0.02,
    "DC2": 0.05,
    "pDC": 0.03,
    "Basophil": 0.03,
}
CRLM_TNK_SHARES = {
    "CD4_T": 0.18,
    "CD8_naive": 0.10,
    "CD8_effector": 0.13,
    "CD8_exhausted": 0.09,
    "Treg": 0.08,
    "gdT": 0.05,
    "NKT": 0.12,
    "NK": 0.20,
    "ILC": 0.05,
}
"""T/NK subtypes of a metastasis, kept apart from the mouse livers' (``WITHIN_SHARES``) so that
sizing the livers' small groups for CellChat did not redraw the human cohort."""
MAJOR_CONCENTRATION = 30.0
"""Dirichlet concentration of a tumour's composition: tumours differ far more than inbred livers."""
LESION_CONCENTRATION = 300.0
"""A second lesion of one patient is drawn this close to the first."""
N1_LOGIT = (np.log(0.25 / 0.75), 0.45)
"""(mean, sd) of the logit of the N1 share of neutrophils, the share that carries the hazard:
about 15 % to 40 % (sd ~0.09). Narrow, so that what it takes from the other subtypes is small
next to their own variation; wide enough that the deconvolved N1 fraction still predicts
survival."""
REST_SHARES = {"N0": 0.35, "N2": 0.35, "N3": 0.30}
"""Mean split of what N1 leaves among N0, N2 and N3 (each about a quarter of neutrophils)."""
REST_CONCENTRATION = 1.5
"""Dirichlet concentration of that split: low, so N0, N2 and N3 vary widely (sd ~0.23) by their
own draw, and their share of N1's variation (the only route to the hazard) stays small."""

HAZARD_SUBTYPE = "N1"
NULL_SUBTYPES = ("N0", "N2", "N3")
BASELINE_HAZARD = np.log(2) / 36.0
"""Per month: a median overall survival of three years at average N1, as in resected CRLM."""
HAZARD_LOG_HR = np.log(2.5)
"""Log hazard ratio per standard deviation of the N1 logit. The paper gives none; at a hazard
ratio of 2 the deconvolved N1 fraction, which follows the planted one at a Spearman rho of about
0.5, missed Fig 3L on a default draw (HR 1.91, p 0.059)."""
FOLLOW_UP = 60.0
"""Administrative censoring (the series reports 60-month survival)."""
LOSS_TO_FOLLOW_UP = (12.0, 150.0)
"""Uniform range of the time at which a patient leaves follow-up (months)."""

GENE_SD = 0.2
"""Gene-wise biological variation between tumours (sd of the natural-log expression)."""
ARRAY_BACKGROUND = 16.0
"""Intensity of an unexpressed gene, in CPM units (RMA values of silent probes are ~4)."""
ARRAY_NOISE = 0.15
"""Technical noise of a probe (sd, log2 units)."""
DUPLICATE_PROBE_RATE = 0.05
"""Genes with a second, flat probe (collapsed away by the max-variance rule)."""
N_DECOY_PROBES = 50
"""Probes without a gene and probes naming two genes (dropped by the probe-to-gene reader)."""

TRUTH_MIN_LOG2FC = 2.5
TRUTH_MIN_RISK_CORRELATION = 0.4
"""Least correlation of a planted gene's bulk intensity with the risk. The signature keeps a gene
whose univariate Cox p is below 0.05; at the cohort's ~110 deaths a gene correlated r with the
risk (log HR 0.92 per sd) has a Cox z of about sqrt(110) * 0.92 * r, 9.6 r: 3.8 at 0.4, 2.9 at
0.3. N1's narrow range (see :data:`N1_LOGIT`) puts its best markers at 0.3-0.5."""
TRUTH_GENE_COLUMNS = ("gene", "human_gene", "n1_log2fc", "risk_correlation")


@dataclass(frozen=True)
class SurvivalCohort:
    """The cohort as GEO would serve it, and its truth."""

    expression: pd.DataFrame  # probes x GSM, log2 intensities
    clinical: pd.DataFrame  # per GSM: title, patient and the survival characteristics
    platform: pd.DataFrame  # per probe: gene_assignment
    truth: pd.DataFrame  # per GSM: patient, planted fractions, risk, survival
    truth_genes: pd.DataFrame  # the planted N1-and-prognostic genes


def simulate_survival_cohort(
    n_patients: int,
    seed: int,
    second_lesion_rate: float = 0.2,
    params_dir: str | os.PathLike = DEFAULT_PARAMS_DIR,
) -> SurvivalCohort:
    """Simulate the cohort (see the module docstring); the same arguments give the same cohort."""
    model, rng, patients, gsms = _planted_patients(n_patients, seed, second_lesion_rate, params_dir)
    human = _human_symbols(model)
    mixed = np.array([_tumour_expression(model, shares, rng) for shares in patients["shares"]])
    cpm = mixed[:, human.index.to_numpy()] * 1e6
    intensity = np.log2(cpm + ARRAY_BACKGROUND) + rng.normal(0, ARRAY_NOISE, cpm.shape)
    expression, platform = _probe_table(intensity.T, human.to_numpy(), gsms, rng)
    truth = _truth_table(model, patients, gsms)
    clinical = _clinical_table(truth)
    genes = _truth_genes(model, human, intensity, truth["risk"].to_numpy())
    return SurvivalCohort(expression, clinical, platform, truth, genes)


def planted_truth(
    n_patients: int,
    seed: int,
    second_lesion_rate: float = 0.2,
    params_dir: str | os.PathLike = DEFAULT_PARAMS_DIR,
) -> pd.DataFrame:
    """The truth table of :func:`simulate_survival_cohort` with the same arguments, without
    drawing the cohort's expression (a few seconds instead of ~45 s): for tests of the planted
    survival design over many seeds."""
    model, _, patients, gsms = _planted_patients(n_patients, seed, second_lesion_rate, params_dir)
    return _truth_table(model, patients, gsms)


def _planted_patients(
    n_patients: int, seed: int, second_lesion_rate: float, params_dir: str | os.PathLike
) -> tuple[StudyModel, np.random.Generator, pd.DataFrame, list[str]]:
    """The study model, the cohort's random stream after the patients were drawn, the patients'
    lesions (:func:`_draw_patients`) and their GSM accessions."""
    if n_patients < 20:
        raise InputError(f"a survival cohort needs at least 20 patients, got {n_patients}")
    if not 0 <= second_lesion_rate <= 1:
        raise InputError(f"second_lesion_rate must be in [0, 1], got {second_lesion_rate}")
    model = study_model(seed, None, params_dir)
    rng = random_stream(seed, "bulk", "survival/cohort")
    patients = _draw_patients(model, n_patients, second_lesion_rate, rng)
    gsms = [f"GSM{FIRST_GSM + i}" for i in range(len(patients))]
    return model, rng, patients, gsms


def write_survival_cohort(
    cohort: SurvivalCohort,
    series_matrix_path: str | os.PathLike,
    platform_path: str | os.PathLike,
    truth_path: str | os.PathLike,
    truth_genes_path: str | os.PathLike,
) -> None:
    """Write the series matrix, the platform SOFT file and the two truth tables (each atomic)."""
    write_series_matrix(cohort.expression, cohort.clinical, series_matrix_path)
    write_platform_soft(cohort.platform, platform_path)
    write_table(cohort.truth, truth_path)
    write_table(cohort.truth_genes, truth_genes_path)


# --- patients ------------------------------------------------------------------------------------
def _human_symbols(model: StudyModel) -> pd.Series:
    """Human symbol by position in the mouse universe, for mouse genes with a one-to-one
    ortholog (each human symbol once)."""
    mapping, _ = map_genes(model.universe.symbols, "mouse_to_human", unique_targets=True)
    positions = model.universe.indices(mapping.index)
    return pd.Series(mapping.to_numpy(), index=positions).sort_index()


def _draw_patients(
    model: StudyModel, n_patients: int, second_lesion_rate: float, rng: np.random.Generator
) -> pd.DataFrame:
    """One row per lesion: patient, lesion number, leaf-state shares, risk and survival."""
    rows = []
    for p in range(n_patients):
        patient = f"P{p + 1:03d}"
        z_n1 = rng.normal()
        subtypes = _neutrophil_subtypes(z_n1, rng)
        shares = _state_shares(model, subtypes, MAJOR_CONCENTRATION, rng)
        time, event = _survival(HAZARD_LOG_HR * z_n1, rng)
        lesions = [shares]
        if rng.random() < second_lesion_rate:
            lesions.append(_nearby_lesion(shares, rng))
        for lesion, lesion_shares in enumerate(lesions, start=1):
            rows.append(
                {
                    "patient": patient,
                    "lesion": lesion,
                    "shares": lesion_shares,
                    "risk": HAZARD_LOG_HR * z_n1,
                    "os_time": time,
                    "os_event": event,
                }
            )
    table = pd.DataFrame(rows)
    # GEO numbers samples in submission order, not by patient: shuffle the lesions onto the GSMs.
    return table.iloc[rng.permutation(len(table))].reset_index(drop=True)


def _neutrophil_subtypes(z_n1: float, rng: np.random.Generator) -> dict[str, float]:
    """N1 from its standardised logit; N0, N2 and N3 split the rest by a draw independent of
    ``z_n1``, so they are linked to the hazard only through the rest N1 leaves them."""
    n1 = _expit(N1_LOGIT[0] + N1_LOGIT[1] * z_n1)
    rest = _dirichlet(REST_SHARES, REST_CONCENTRATION, rng)
    return {"N1": n1, **{name: (1 - n1) * share for name, share in rest.items()}}


def _expit(x: float) -> float:
    return float(1 / (1 + np.exp(-x)))


def _state_shares(
    model: StudyModel,
    neutrophil: dict[str, float],
    concentration: float,
    rng: np.random.Generator,
) -> np.ndarray:
    """Leaf-state shares of one tumour: major types, myeloid lineages and T/NK subtypes around
    the CRLM tables, macrophage subtypes around the metastatic niche's, the given neutrophil
    subtypes."""
    major = _dirichlet(CRLM_MAJOR_SHARES, concentration, rng)
    within = {
        "Myeloid": _dirichlet(CRLM_MYELOID_SHARES, concentration, rng),
        "Neutrophil": neutrophil,
        "Macrophage": _dirichlet(WITHIN_SHARES["Macrophage"][CONDITION], 5 * concentration, rng),
        "TNK": _dirichlet(CRLM_TNK_SHARES, 5 * concentration, rng),
    }
    shares = np.empty(len(model.states))
    for i, state in enumerate(model.states):
        share = major.get(state.cell_type, 0.0)
        if state.cell_type in within:
            share *= within[state.cell_type][state.lineage]
        if state.lineage in within and state.lineage != state.cell_type:
            share *= within[state.lineage][state.subtype]
        shares[i] = share
    return shares / shares.sum()


def _dirichlet(
    shares: dict[str, float], concentration: float, rng: np.random.Generator
) -> dict[str, float]:
    keys = list(shares)
    drawn = rng.dirichlet([concentration * shares[key] for key in keys])
    return dict(zip(keys, drawn, strict=True))


def _nearby_lesion(shares: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A second metastasis of the same patient: the same mix, redrawn closely."""
    present = shares > 0
    lesion = np.zeros_like(shares)
    lesion[present] = rng.dirichlet(LESION_CONCENTRATION * shares[present])
    return lesion


def _survival(risk: float, rng: np.random.Generator) -> tuple[float, int]:
    """Overall survival in months (0.1 resolution, so ties occur) and the death indicator."""
    death = rng.exponential(1 / (BASELINE_HAZARD * np.exp(risk)))
    censor = min(FOLLOW_UP, rng.uniform(*LOSS_TO_FOLLOW_UP))
    time = max(round(min(death, censor), 1), 0.1)
    return time, int(death <= censor)


# --- expression ----------------------------------------------------------------------------------
def _tumour_expression(
    model: StudyModel, shares: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Relative expression of one tumour (sums to 1): RNA-weighted state mix, gene-wise noise."""
    profiles = model.profiles[:, CONDITIONS.index(CONDITION)]
    expression = weighted_mean(profiles, shares * model.library_factor)
    expression = expression * np.exp(rng.normal(0, GENE_SD, expression.size))
    return expression / expression.sum()


def _probe_table(
    intensity: np.ndarray, symbols: np.ndarray, gsms: list[str], rng: np.random.Generator
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """HTA-2.0-style probe IDs with their gene assignments: one probe per gene, a flat second
    probe for some genes, and decoys without a gene or with two."""
    n_genes, n_samples = intensity.shape
    ids = [f"TC{i // 100000 + 1:02d}{i % 100000:06d}.hg.1" for i in range(n_genes)]
    assignment = [_assignment(i, [symbol]) for i, symbol in enumerate(symbols)]
    values = [intensity]
    duplicated = np.flatnonzero(rng.random(n_genes) < DUPLICATE_PROBE_RATE)
    flat = intensity[duplicated].mean(axis=1, keepdims=True)
    values.append(flat + rng.normal(0, ARRAY_NOISE / 3, (len(duplicated), n_samples)))
    ids += [f"TC30{i:06d}.hg.1" for i in range(len(duplicated))]
    assignment += [_assignment(i, [symbols[i]]) for i in duplicated]
    pairs = rng.choice(n_genes, size=(N_DECOY_PROBES, 2), replace=False)
    values.append(np.log2(ARRAY_BACKGROUND) + rng.normal(0, 1.0, (2 * N_DECOY_PROBES, n_samples)))
    ids += [f"TC31{i:06d}.hg.1" for i in range(2 * N_DECOY_PROBES)]
    assignment += ["---"] * N_DECOY_PROBES
    assignment += [_assignment(n_genes + k, list(symbols[pair])) for k, pair in enumerate(pairs)]
    expression = pd.DataFrame(np.vstack(values), index=pd.Index(ids, name="ID_REF"), columns=gsms)
    platform = pd.DataFrame({"ID": ids, "gene_assignment": assignment})
    return expression, platform


def _assignment(number: int, symbols: list[str]) -> str:
    """An Affymetrix ``gene_assignment`` value: ``accession // symbol // name // band // id``
    per transcript, transcripts joined by `` /// ``."""
    return " /// ".join(
        f"NM_{900000 + number} // {symbol} // {symbol} (livermet demo) // --- // {number + 1}"
        for symbol in symbols
    )


# --- tables --------------------------------------------------------------------------------------
def _truth_table(model: StudyModel, patients: pd.DataFrame, gsms: list[str]) -> pd.DataFrame:
    """Per GSM: patient, lesion, the lesion's neutrophil-subtype shares (of neutrophils) and
    neutrophil share of all cells, the patient's risk (log hazard) and survival."""
    subtype = np.array([state.subtype for state in model.states])
    columns = [np.flatnonzero(subtype == name)[0] for name in NEUTROPHIL_SUBTYPES]
    shares = np.vstack(patients["shares"].to_numpy())[:, columns]
    neutrophil = shares.sum(axis=1)
    return pd.DataFrame(
        {
            "gsm": gsms,
            "patient": patients["patient"].to_numpy(),
            "lesion": patients["lesion"].to_numpy(),
            **{name: shares[:, k] / neutrophil for k, name in enumerate(NEUTROPHIL_SUBTYPES)},
            "neutrophil": neutrophil,
            "risk": patients["risk"].to_numpy(),
            "os_time": patients["os_time"].to_numpy(),
            "os_event": patients["os_event"].to_numpy(),
        }
    )


def _clinical_table(truth: pd.DataFrame) -> pd.DataFrame:
    """The sample characteristics GEO would list (both lesions of a patient share the record)."""
    return pd.DataFrame(
        {
            "title": (truth["patient"] + " lesion " + truth["lesion"].astype(str)).to_numpy(),
            CLINICAL_KEYS["patient"]: truth["patient"].to_numpy(),
            CLINICAL_KEYS["os_time"]: truth["os_time"].map(lambda t: f"{t:.1f}").to_numpy(),
            CLINICAL_KEYS["os_status"]: truth["os_event"].astype(str).to_numpy(),
        },
        index=pd.Index(truth["gsm"], name="gsm"),
    )


def _truth_genes(
    model: StudyModel, human: pd.Series, intensity: np.ndarray, risk: np.ndarray
) -> pd.DataFrame:
    """The planted N1-and-prognostic genes: single-cell N1 markers (log2 fold change over all
    other cells of at least :data:`TRUTH_MIN_LOG2FC`) whose simulated bulk intensity correlates
    with the planted risk by at least :data:`TRUTH_MIN_RISK_CORRELATION`, and whose human symbol
    maps back to the same mouse gene (otherwise the pipeline cannot see them in mouse symbols)."""
    log2fc = single_cell_log2fc(model, HAZARD_SUBTYPE)[human.index.to_numpy()]
    centred = intensity - intensity.mean(axis=0)
    risk_centred = risk - risk.mean()
    correlation = (centred * risk_centred[:, None]).sum(axis=0) / np.sqrt(
        (centred**2).sum(axis=0) * (risk_centred**2).sum()
    )
    chosen = (log2fc >= TRUTH_MIN_LOG2FC) & (correlation >= TRUTH_MIN_RISK_CORRELATION)
    genes = pd.DataFrame(
        {
            "gene": model.universe.symbols[human.index.to_numpy()[chosen]],
            "human_gene": human.to_numpy()[chosen],
            "n1_log2fc": log2fc[chosen],
            "risk_correlation": correlation[chosen],
        }
    )
    back, _ = map_genes(genes["human_gene"], "human_to_mouse", unique_targets=True)
    round_trip = genes["human_gene"].map(back) == genes["gene"]
    return genes[round_trip.to_numpy()].sort_values("gene").reset_index(drop=True)


def single_cell_log2fc(model: StudyModel, subtype: str) -> np.ndarray:
    """Seurat-style log2 fold change of ``subtype`` over all other cells of the single-cell demo,
    per gene: log2(mean CP10k + 1) difference, every state weighted by its expected share of the
    study's cells (the three conditions in equal numbers), as FindMarkers sees the atlas."""
    effects = resolve_effects(None)
    tables = condition_shares(effects)
    weights = np.array([_expected_state_shares(model, tables, c) for c in CONDITIONS])
    target = np.array([state.subtype == subtype for state in model.states])
    cp10k = model.profiles * 1e4  # states x conditions x genes
    in_group = np.einsum("cs,scg->g", weights * target, cp10k) / (weights * target).sum()
    others = np.einsum("cs,scg->g", weights * ~target, cp10k) / (weights * ~target).sum()
    return np.log2(in_group + 1) - np.log2(others + 1)


def _expected_state_shares(model: StudyModel, tables: dict, condition: str) -> np.ndarray:
    """Leaf-state shares of the composition tables of one condition (no mouse-to-mouse draw)."""
    shares = np.empty(len(model.states))
    for i, state in enumerate(model.states):
        share = tables["major"][condition][state.cell_type]
        if state.cell_type in tables:
            share *= tables[state.cell_type][condition][state.lineage]
        if state.lineage in tables and state.lineage != state.cell_type:
            share *= tables[state.lineage][condition][state.subtype]
        shares[i] = share
    return shares / shares.sum()


# --- GEO formats ---------------------------------------------------------------------------------
def write_series_matrix(
    expression: pd.DataFrame,
    clinical: pd.DataFrame,
    path: str | os.PathLike,
    accession: str = ACCESSION,
    platform: str = PLATFORM,
) -> None:
    """A GEO series matrix: ``!Series_`` and ``!Sample_`` header lines (one
    ``!Sample_characteristics_ch1`` line per clinical field, ``key: value``), then the data table
    between ``!series_matrix_table_begin`` and ``_end``, quoted as GEO quotes it."""
    gsms = list(expression.columns)
    if list(clinical.index) != gsms:
        raise InputError("clinical rows must be the expression columns, in the same order")
    n = len(gsms)
    header = [
        ("!Series_title", ["livermet demo: colorectal cancer liver metastases (simulated)"]),
        ("!Series_geo_accession", [accession]),
        ("!Series_platform_id", [platform]),
        ("!Series_sample_id", [" ".join(gsms) + " "]),
        ("!Sample_title", clinical["title"].tolist()),
        ("!Sample_geo_accession", gsms),
        ("!Sample_source_name_ch1", ["colorectal cancer liver metastasis"] * n),
        ("!Sample_organism_ch1", ["Homo sapiens"] * n),
        *[
            ("!Sample_characteristics_ch1", [f"{key}: {value}" for value in clinical[key]])
            for key in clinical.columns
            if key != "title"
        ],
        ("!Sample_platform_id", [platform] * n),
        ("!Sample_data_processing", ["RMA, log2 (simulated)"] * n),
    ]
    with open_text_output(path, compresslevel=1) as handle:
        for key, values in header:
            handle.write(key + "\t" + "\t".join(f'"{value}"' for value in values) + "\n")
        handle.write("!series_matrix_table_begin\n")
        table = expression.copy()
        table.index = [f'"{probe}"' for probe in table.index]
        table.columns = [f'"{gsm}"' for gsm in table.columns]
        handle.write('"ID_REF"\t' + "\t".join(table.columns) + "\n")
        table.to_csv(handle, sep="\t", header=False, float_format="%.4f", quoting=3)
        handle.write("!series_matrix_table_end\n")


def write_platform_soft(
    platform: pd.DataFrame, path: str | os.PathLike, accession: str = PLATFORM
) -> None:
    """A GEO platform SOFT file whose annotation table has ``ID`` and ``gene_assignment``."""
    with open_text_output(path) as handle:
        handle.write(
            f"^PLATFORM = {accession}\n"
            "!Platform_title = livermet demo array (HTA-2.0-style transcript clusters)\n"
            f"!Platform_geo_accession = {accession}\n"
            "!Platform_organism = Homo sapiens\n"
            "#ID = probe set\n"
            "#gene_assignment = accession // symbol // name // cytoband // Entrez id\n"
            "!platform_table_begin\n"
        )
        platform.to_csv(handle, sep="\t", index=False, quoting=3)
        handle.write("!platform_table_end\n")
