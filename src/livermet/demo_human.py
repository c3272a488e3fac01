"""The demo's human part: blood and liver of healthy donors and of colorectal cancer liver
metastasis (CRLM) patients, in the file formats of the human data sets of Fig 3M and Fig 5F-I.

Stand-ins for the data sets of ``human.datasets`` in ``config/paper.yaml``:

* ``hcl_pbmc``: healthy peripheral blood, Microwell-seq (Human Cell Landscape, Han et al., Nature
  2020), one dense ``<donor>_dge.txt.gz`` table (genes x barcodes) per donor;
* ``hcl_liver``: healthy adult liver, Microwell-seq (GSE134355), the same layout;
* ``wu_liver`` and ``wu_pbmc``: CRLM liver metastases and the patients' blood, 10x (Wu et al.,
  Cancer Discov 2022): one merged MEX directory for every sample plus ``cell_meta.tsv`` naming
  each barcode's patient, sample and tissue (``Liver_T`` / ``PBMC``), as the scCRLM portal
  serves them.

Cells are drawn from the mouse demo's cell states and profiles (:mod:`livermet.demo_biology`,
:mod:`livermet.demo_engine`; the same ``seed`` gives the same programmes, so an N1 signature learnt
on the mouse demo fits these neutrophils): control livers for healthy donors, the metastatic
niche for patients. Genes carry human symbols through the mouse-to-human ortholog map with one
mouse gene per human symbol (genes without an ortholog are dropped, as a human data set simply
lacks them); a few human marker levels are set on top (:data:`HUMAN_LEVELS`: classical monocytes
express S100A8/A9, CD14, VCAN and FCN1, neutrophils G0S2, macrophages C1Q), so that monocytes
compete with neutrophils for the neutrophil markers as they do in human blood. Platforms differ in
depth (Microwell-seq is shallower) and by a gene-wise platform effect shared by their samples;
samples differ by their own gene-wise and depth effects and by ambient RNA
(:func:`livermet.demo.sample_profiles`).

Planted truth (read only by tests: ``truth.tsv`` per cell, ``patients.tsv`` per donor):

* neutrophils among the other immune cells of every set (lineage ``Neutrophil``);
* the N1 share of neutrophils is higher in patients than in healthy donors (:data:`N1_SHARE`), in
  liver and in blood, so the N1 signature is higher in patients' neutrophils;
* in the CRLM livers two independent latent factors per patient set the shares of Fig 5F-I
  (:data:`LIVER_PLANTED`): the N1 factor drives the N1 share of neutrophils and the MAC2 share of
  macrophages (N1 - MAC2, Fig 5I), the Kupffer2 factor the Kupffer2 share of macrophages, and the
  CD8 exhausted share of T/NK cells loads on both equally (N1 - Tex, Fig 5F, and Kupffer2 - Tex,
  Fig 5G, each correlated about 0.7); N1 and Kupffer2 are unrelated (the null of Fig 5H), the
  Kupffer2 factor being made uncorrelated with the N1 factor across the cohort's patients
  (:func:`cohort_factors`). The demo has 24 patients of 400 cells (the paper had 11): at 12, an
  exhausted-T link reaches p < 0.05 on the planted shares of 80 % of seeds, all three links on 62 %;
  at 24 all four Spearman tests hold on the planted shares of every seed tried (0-499) and, through
  the pipeline's reclustering and N1-like calls, on the six seeds run (N1 - Tex p 0.0003 at the
  default seed, 0.04 at the weakest: the ~65 neutrophils drawn per patient blur the N1 share).

As in the paper's design, disease status is confounded with platform (healthy donors are
Microwell-seq, patients 10x). With the N1 shares of both statuses set equal, the tumour - normal
difference of the N1 score here comes from the donors' random N1 shares, not from the platform:
downsampling every neutrophil to the shallowest platform's depth leaves it unchanged.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, replace

import anndata as ad
import numpy as np
import pandas as pd
import scipy.sparse as sp

from livermet.demo import sample_profiles
from livermet.demo_biology import WITHIN_SHARES
from livermet.demo_engine import (
    DEFAULT_PARAMS_DIR,
    LIBRARY_DEPTH,
    CellPlan,
    StudyModel,
    draw_cells,
    random_stream,
    resolve_effects,
    study_model,
)
from livermet.demo_formats import CSV_CHUNK_ROWS, dense_csv_rows, write_mex
from livermet.demo_survival import single_cell_log2fc
from livermet.errors import InputError
from livermet.io import open_text_output, write_table
from livermet.orthologs import map_genes

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DemoSet:
    """One simulated human data set: what it is, how it was sequenced and its cell mix."""

    tissue: str  # liver | PBMC
    status: str  # normal | tumour
    platform: str  # microwell | 10x
    groups: dict[str, float]  # share of cells per group (a major type, or a myeloid lineage)


BLOOD_MICROWELL = {
    "Neutrophil": 0.30,
    "Monocyte": 0.14,
    "TNK": 0.38,
    "B": 0.12,
    "DC2": 0.03,
    "pDC": 0.02,
    "Basophil": 0.01,
}
"""Whole blood on Microwell-seq keeps its granulocytes (HCL blood is neutrophil-rich)."""
BLOOD_10X = {
    "Neutrophil": 0.12,
    "Monocyte": 0.18,
    "TNK": 0.50,
    "B": 0.14,
    "DC2": 0.03,
    "pDC": 0.02,
    "Basophil": 0.01,
}
"""Patients' blood on 10x: fewer neutrophils survive the preparation."""
LIVER_HEALTHY = {
    "Hepatocyte": 0.22,
    "Endothelial": 0.18,
    "Cholangiocyte": 0.04,
    "Fibroblast": 0.04,
    "Macrophage": 0.16,
    "Neutrophil": 0.08,
    "Monocyte": 0.06,
    "DC2": 0.02,
    "TNK": 0.16,
    "B": 0.04,
}
LIVER_METASTASIS = {
    "Tumour": 0.08,
    "Hepatocyte": 0.03,
    "Endothelial": 0.03,
    "Cholangiocyte": 0.01,
    "Fibroblast": 0.03,
    "Macrophage": 0.22,
    "Neutrophil": 0.16,
    "Monocyte": 0.06,
    "DC2": 0.02,
    "pDC": 0.01,
    "TNK": 0.30,
    "B": 0.05,
}
"""A metastasis dominated by its immune infiltrate (macrophages, neutrophils, T cells), as in
Wu et al.'s CD45-rich liver samples."""

DATASETS = {
    "hcl_pbmc": DemoSet("PBMC", "normal", "microwell", BLOOD_MICROWELL),
    "hcl_liver": DemoSet("liver", "normal", "microwell", LIVER_HEALTHY),
    "wu_liver": DemoSet("liver", "tumour", "10x", LIVER_METASTASIS),
    "wu_pbmc": DemoSet("PBMC", "tumour", "10x", BLOOD_10X),
}
CONDITION_OF_STATUS = {"normal": "control", "tumour": "MN"}
"""Mouse cell-state profiles used for each disease status."""
WU_TISSUE = {"liver": "Liver_T", "PBMC": "PBMC"}
"""Tissue labels of Wu et al.'s cell metadata (config/paper.yaml wu2022_crlm params)."""
WU_SAMPLE_SUFFIX = {"liver": "LM", "PBMC": "PBMC"}

HUMAN_LEVELS = {
    "Monocyte": {"Cd14": 40.0, "Vcan": 20.0, "Fcnb": 20.0, "S100a8": 100.0, "S100a9": 100.0},
    "Neutrophil": {"G0s2": 40.0},
    "Macrophage": {"C1qa": 40.0, "C1qb": 40.0, "C1qc": 40.0},
}
"""CP10k levels of human marker biology the mouse states lack (mouse symbols; Fcnb -> FCN1):
S100A8/A9-high classical monocytes, G0S2 in neutrophils, C1Q in every macrophage, Kupffer cells
included (MacParland et al., Nat Commun 2018)."""

N1_SHARE = {"normal": 0.10, "tumour": 0.35}
"""Mean N1 share of neutrophils (on the logit scale) for healthy donors and for patients."""
N1_LOGIT_SD = {"normal": 0.5, "tumour": 1.0}
"""SD between donors of the logit N1 share (a standard normal latent factor times this): healthy
donors vary less than patients, whose N1 share drives the planted exhausted-T link."""
LIVER_PLANTED = {
    "CD8_exhausted": (0.12, {"n1": 1.0, "kupffer2": 1.0, "tex_noise": 0.2}),
    "Kupffer2": (0.18, {"kupffer2": 1.0}),
    "MAC2": (0.18, {"n1": 1.0, "mac2_noise": 0.3}),
}
"""Subtype shares planted in a CRLM liver: (mean share, loadings), the logit share being
logit(mean) + the sum of loading x the patient's factor. CD8 exhausted (of T/NK cells) loads on
both patient factors equally, so it correlates about 0.7 with each (the most two uncorrelated
factors allow); Kupffer2 is the Kupffer2 factor alone; MAC2 follows the N1 factor as a share of the
macrophages that are not Kupffer2 (0.18 of them, about 0.15 of all as in the mouse metastatic
niche), so the two never exceed all macrophages."""
COMPOSITION_CONCENTRATION = 200.0
"""Dirichlet concentration of a donor's group and subtype shares around the set's table."""
PLATFORM_DEPTH = {"microwell": 0.35, "10x": 1.0}
"""UMI depth relative to the mouse demo: Microwell-seq captures about a third of 10x's UMIs."""
DONOR_LIBRARY_SD = 0.1
BARCODE_LENGTH = {"microwell": 18, "10x": 16}
PATIENT_COLUMNS = (
    "dataset",
    "donor",
    "status",
    "n1_factor",
    "N1",
    "CD8_exhausted",
    "Kupffer2",
    "MAC2",
)
TRUTH_COLUMNS = (
    "dataset",
    "sample",
    "donor",
    "barcode",
    "tissue",
    "status",
    "platform",
    "lineage",
    "subtype",
)
DEFAULT_DONORS = {"hcl_pbmc": 5, "hcl_liver": 5, "wu_liver": 24, "wu_pbmc": 5}


@dataclass(frozen=True)
class HumanModel:
    """The mouse study model with human marker levels, and the human symbol of each kept gene."""

    model: StudyModel
    columns: np.ndarray  # positions in the mouse universe of the genes kept
    symbols: np.ndarray  # their human symbols


@dataclass(frozen=True)
class DemoSample:
    """One simulated sample: its counts (human symbols) and who it comes from."""

    dataset: str
    sample: str
    donor: str
    counts: ad.AnnData


def human_model(seed: int, params_dir: str | os.PathLike = DEFAULT_PARAMS_DIR) -> HumanModel:
    """The mouse demo's model of ``seed`` with :data:`HUMAN_LEVELS` set, and the ortholog map."""
    model = study_model(seed, None, params_dir)
    profiles = model.profiles.copy()
    for lineage, levels in HUMAN_LEVELS.items():
        rows = [i for i, state in enumerate(model.states) if state.lineage == lineage]
        genes = model.universe.indices(levels)
        values = np.array(list(levels.values())) / 1e4
        for row in rows:
            profiles[row][:, genes] = values
    profiles /= profiles.sum(axis=-1, keepdims=True)
    mapping, _ = map_genes(model.universe.symbols, "mouse_to_human", unique_targets=True)
    columns = model.universe.indices(mapping.index)
    order = np.argsort(columns)
    return HumanModel(
        replace(model, profiles=profiles),
        columns[order],
        mapping.to_numpy(dtype=object)[order],
    )


# --- design --------------------------------------------------------------------------------------
def check_donors(donors: dict[str, int]) -> dict[str, int]:
    """Donors per data set (defaults for the ones not given); patients' blood comes from some of
    the metastasis patients, so ``wu_pbmc`` may not exceed ``wu_liver``."""
    unknown = set(donors) - set(DATASETS)
    if unknown:
        raise InputError(f"demo human donors: unknown data set(s) {sorted(unknown)}")
    donors = DEFAULT_DONORS | dict(donors)
    if min(donors.values()) < 2:
        raise InputError(f"demo human donors: every data set needs at least 2 donors, got {donors}")
    if donors["wu_pbmc"] > donors["wu_liver"]:
        raise InputError("demo human donors: wu_pbmc patients are a subset of wu_liver's")
    return donors


def design(donors: dict[str, int]) -> pd.DataFrame:
    """One row per sample: dataset, donor, sample (the Wu samples are named as the portal names
    them, ``<patient>_LM`` and ``<patient>_PBMC``)."""
    donors = check_donors(donors)
    rows = []
    for dataset, spec in DATASETS.items():
        for k in range(donors[dataset]):
            if spec.platform == "10x":
                donor = f"P{k + 1:02d}"
                sample = f"{donor}_{WU_SAMPLE_SUFFIX[spec.tissue]}"
            else:
                donor = f"{'blood' if spec.tissue == 'PBMC' else 'liver'}{k + 1}"
                sample = donor
            rows.append({"dataset": dataset, "donor": donor, "sample": sample})
    return pd.DataFrame(rows)


def _expit(x: float) -> float:
    return float(1 / (1 + np.exp(-x)))


def _logit(p: float) -> float:
    return float(np.log(p / (1 - p)))


def donor_factors(seed: int, donor: str) -> dict[str, float]:
    """A donor's latent factors, standard normal (a patient's are shared by the liver and the
    blood sample); ``mac2_noise`` is drawn last so the others keep their values of older demos."""
    rng = random_stream(seed, "sample", f"human/donor/{donor}")
    return {
        "n1": rng.normal(),
        "tex_noise": rng.normal(),
        "kupffer2": rng.normal(),
        "mac2_noise": rng.normal(),
    }


def cohort_factors(seed: int, donors: list[str]) -> dict[str, dict[str, float]]:
    """The factors of one data set's donors, its Kupffer2 factor made uncorrelated with its N1
    factor across them (:func:`uncorrelated_with`): the planted N1 - Kupffer2 null then holds in
    the cohort itself, not only in expectation. Drawn independently, the two factors correlate at
    p < 0.05 on one seed in 20 and weaken one exhausted-T link or the other: at 24 patients all
    four tests of Fig 5F-I hold on the planted shares of 88 % of seeds, against 100 % so (seeds
    0-499)."""
    factors = {donor: donor_factors(seed, donor) for donor in donors}
    n1 = np.array([f["n1"] for f in factors.values()])
    kupffer2 = np.array([f["kupffer2"] for f in factors.values()])
    kupffer2 = uncorrelated_with(kupffer2, n1)
    return {
        donor: f | {"kupffer2": float(k)}
        for (donor, f), k in zip(factors.items(), kupffer2, strict=True)
    }


def uncorrelated_with(y: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``y`` less its least-squares projection on ``x`` (both centred), rescaled to the SD of
    ``x``: its sample correlation with ``x`` is zero, and a share loading equally on both (CD8
    exhausted) correlates equally with each; fewer than three values are returned as they are
    (two centred values are always collinear)."""
    if len(y) < 3:
        return y
    x = x - x.mean()
    y = y - y.mean()
    residual = y - (x @ y) / (x @ x) * x
    return residual * x.std() / residual.std()


def planted_shares(spec: DemoSet, factors: dict[str, float]) -> dict[str, float]:
    """Subtype shares set by the donor's factors: N1 of neutrophils everywhere; in the CRLM
    livers CD8 exhausted of T/NK cells, Kupffer2 and MAC2 of macrophages
    (:data:`LIVER_PLANTED`)."""
    n1_logit = _logit(N1_SHARE[spec.status]) + N1_LOGIT_SD[spec.status] * factors["n1"]
    shares = {"N1": _expit(n1_logit)}
    if spec.status == "tumour" and spec.tissue == "liver":
        shares |= {name: _loaded_share(*model, factors) for name, model in LIVER_PLANTED.items()}
        shares["MAC2"] *= 1 - shares["Kupffer2"]
    return shares


def _loaded_share(mean: float, loadings: dict[str, float], factors: dict[str, float]) -> float:
    return _expit(_logit(mean) + sum(w * factors[name] for name, w in loadings.items()))


def state_shares(
    model: StudyModel, spec: DemoSet, planted: dict[str, float], rng: np.random.Generator
) -> np.ndarray:
    """Leaf-state shares of one sample: groups and subtypes drawn around the set's tables, then
    the planted subtypes set exactly (the other subtypes of their lineage rescaled)."""
    condition = CONDITION_OF_STATUS[spec.status]
    groups = _dirichlet(spec.groups, rng)
    within = {
        lineage: _with_planted(_dirichlet(WITHIN_SHARES[lineage][condition], rng), planted)
        for lineage in ("Neutrophil", "Macrophage", "TNK")
    }
    shares = np.zeros(len(model.states))
    for i, state in enumerate(model.states):
        group = group_of(state)
        if group in groups:
            shares[i] = groups[group] * within.get(group, {}).get(state.subtype, 1.0)
    return shares / shares.sum()


def _with_planted(drawn: dict[str, float], planted: dict[str, float]) -> dict[str, float]:
    """A lineage's drawn subtype shares with its planted subtypes set exactly and the others
    scaled together to fill the rest (set one by one, a second planted subtype would rescale the
    first)."""
    mine = {name: share for name, share in planted.items() if name in drawn}
    others = sum(share for name, share in drawn.items() if name not in mine)
    scale = (1 - sum(mine.values())) / others
    return {name: mine.get(name, share * scale) for name, share in drawn.items()}


def group_of(state) -> str:
    """The group a state's share is set at: its myeloid lineage, else its major type."""
    return state.lineage if state.cell_type == "Myeloid" else state.cell_type


def _dirichlet(shares: dict[str, float], rng: np.random.Generator) -> dict[str, float]:
    keys = list(shares)
    total = sum(shares.values())
    drawn = rng.dirichlet([COMPOSITION_CONCENTRATION * shares[k] / total for k in keys])
    return dict(zip(keys, drawn, strict=True))


# --- simulation ----------------------------------------------------------------------------------
def simulate_sample(
    hm: HumanModel,
    dataset: str,
    sample: str,
    donor: str,
    factors: dict[str, float],
    n_cells: int,
    seed: int,
) -> tuple[DemoSample, pd.DataFrame, dict[str, float]]:
    """One sample's counts (human symbols, barcodes as the platform writes them), its per-cell
    truth and the donor's planted shares (set by ``factors``, :func:`cohort_factors`)."""
    spec = DATASETS[dataset]
    model = hm.model
    planted = planted_shares(spec, factors)
    rng = random_stream(seed, "sample", f"human/{dataset}/{sample}")
    platform_rng = random_stream(seed, "batch", f"human/{spec.platform}")
    shares = state_shares(model, spec, planted, rng)
    condition = CONDITION_OF_STATUS[spec.status]
    profiles = sample_profiles(model, condition, shares, rng, platform_rng, resolve_effects(None))
    states = rng.choice(len(shares), size=n_cells, p=shares)
    universe = model.universe
    log_library = (
        universe.library_meanlog
        + np.log(LIBRARY_DEPTH * PLATFORM_DEPTH[spec.platform])
        + rng.normal(0, DONOR_LIBRARY_SD)
        + np.log(model.library_factor[states])
        + rng.normal(0, universe.library_sdlog, n_cells)
    )
    plan = CellPlan(
        state=states,
        library=np.exp(log_library),
        mito_share=np.full(n_cells, np.nan),
        haemoglobin_share=np.zeros(n_cells),
    )
    counts = draw_cells(rng, profiles, plan, universe)[:, hm.columns]
    barcodes = _barcodes(rng, n_cells, spec.platform, sample)
    obs = pd.DataFrame(index=pd.Index(barcodes, dtype=str))
    var = pd.DataFrame({"gene_ids": hm.symbols}, index=pd.Index(hm.symbols, dtype=str))
    adata = ad.AnnData(X=sp.csr_matrix(counts, dtype=np.int32), obs=obs, var=var)
    truth = pd.DataFrame(
        {
            "dataset": dataset,
            "sample": sample,
            "donor": donor,
            "barcode": barcodes,
            "tissue": spec.tissue,
            "status": spec.status,
            "platform": spec.platform,
            "lineage": [group_of(model.states[s]) for s in states],
            "subtype": [model.states[s].subtype for s in states],
        }
    )
    return DemoSample(dataset, sample, donor, adata), truth, {"n1_factor": factors["n1"], **planted}


def _barcodes(rng: np.random.Generator, n: int, platform: str, sample: str) -> np.ndarray:
    """Distinct random barcodes: bare 18-mers for Microwell-seq, ``<sample>_<16-mer>-1`` for a
    merged 10x matrix (unique across its samples, as merged matrices name them)."""
    length = BARCODE_LENGTH[platform]
    codes = rng.choice(4**length, size=n, replace=False)
    digits = (codes[:, None] // 4 ** np.arange(length - 1, -1, -1)) % 4
    bases = np.array(list("ACGT"))[digits]
    words = np.array(["".join(row) for row in bases])
    return words if platform == "microwell" else np.char.add(f"{sample}_", np.char.add(words, "-1"))


def simulate_human(
    donors: dict[str, int],
    cells_per_sample: int | dict[str, int],
    seed: int,
    params_dir: str | os.PathLike = DEFAULT_PARAMS_DIR,
) -> tuple[list[DemoSample], pd.DataFrame, pd.DataFrame]:
    """Every sample of :func:`design` in memory: the samples, the per-cell truth and the per-donor
    planted shares (one row per data set and donor). ``cells_per_sample`` is one number or one
    per data set."""
    cells = cells_by_dataset(cells_per_sample)
    hm = human_model(seed, params_dir)
    rows = design(donors)
    factors = {
        dataset: cohort_factors(seed, group["donor"].tolist())
        for dataset, group in rows.groupby("dataset", sort=False)
    }
    samples, truths, patients = [], [], []
    for row in rows.itertuples(index=False):
        sample, truth, planted = simulate_sample(
            hm,
            row.dataset,
            row.sample,
            row.donor,
            factors[row.dataset][row.donor],
            cells[row.dataset],
            seed,
        )
        samples.append(sample)
        truths.append(truth)
        patients.append(
            {
                "dataset": row.dataset,
                "donor": row.donor,
                "status": DATASETS[row.dataset].status,
                **planted,
            }
        )
    patient_table = pd.DataFrame(patients).reindex(columns=list(PATIENT_COLUMNS))
    return samples, pd.concat(truths, ignore_index=True), patient_table


def cells_by_dataset(cells_per_sample: int | dict[str, int]) -> dict[str, int]:
    """Cells per sample of each data set, from one number or a mapping of data set to number."""
    if isinstance(cells_per_sample, dict):
        unknown = set(cells_per_sample) - set(DATASETS)
        missing = set(DATASETS) - set(cells_per_sample)
        if unknown or missing:
            raise InputError(
                f"demo human cells_per_sample: unknown {sorted(unknown)}, missing {sorted(missing)}"
            )
        cells = dict(cells_per_sample)
    else:
        cells = dict.fromkeys(DATASETS, cells_per_sample)
    if min(cells.values()) < 50:
        raise InputError(f"demo human cells_per_sample must be at least 50, got {cells}")
    return cells


# --- files ---------------------------------------------------------------------------------------
def demo_outputs(folder: str, donors: dict[str, int]) -> dict[str, object]:
    """Paths the demo writes: Microwell-seq tables (one per sample), the merged 10x MEX directory
    and its cell metadata, and the two truth tables."""
    rows = design(donors)
    microwell = rows[rows["dataset"].map(lambda d: DATASETS[d].platform == "microwell")]
    return {
        "dge": [f"{folder}/{r.dataset}/{r.sample}_dge.txt.gz" for r in microwell.itertuples()],
        "mex": f"{folder}/wu/matrix",
        "cell_meta": f"{folder}/wu/cell_meta.tsv",
        "truth": f"{folder}/truth.tsv",
        "patients": f"{folder}/patients.tsv",
    }


def demo_datasets(folder: str, donors: dict[str, int]) -> dict[str, dict]:
    """The ``human.datasets`` entries that read the demo's files (the pipeline's configuration of
    the demo, in the form a user writes for real data)."""
    rows = design(donors)
    outputs = demo_outputs(folder, donors)
    datasets = {}
    for dataset, spec in DATASETS.items():
        entry = {"tissue": spec.tissue, "status": spec.status}
        if spec.platform == "microwell":
            entry["files"] = [
                {
                    "path": f"{folder}/{dataset}/{r.sample}_dge.txt.gz",
                    "format": "microwell_dge",
                    "donor": r.donor,
                    "sample": r.sample,
                }
                for r in rows[rows["dataset"] == dataset].itertuples()
            ]
        else:
            entry |= {
                "files": [{"path": outputs["mex"], "format": "mex"}],
                "metadata": {"path": outputs["cell_meta"]},
                "donor_column": "patient",
                "sample_column": "sample",
                "select": {"tissue": WU_TISSUE[spec.tissue]},
            }
        entry["correlations"] = spec.status == "tumour" and spec.tissue == "liver"
        datasets[dataset] = entry
    return datasets


def write_human_demo(
    folder: str,
    donors: dict[str, int],
    cells_per_sample: int | dict[str, int],
    seed: int,
    params_dir: str | os.PathLike = DEFAULT_PARAMS_DIR,
) -> None:
    """Simulate and write every file of :func:`demo_outputs` (the same arguments give
    byte-identical files)."""
    outputs = demo_outputs(folder, donors)
    samples, truth, patients = simulate_human(donors, cells_per_sample, seed, params_dir)
    merged = []
    for sample in samples:
        if DATASETS[sample.dataset].platform == "microwell":
            path = f"{folder}/{sample.dataset}/{sample.sample}_dge.txt.gz"
            write_microwell_dge(sample.counts, path)
            log.info("demo human %s: %d cells -> %s", sample.sample, sample.counts.n_obs, path)
        else:
            merged.append(sample)
    counts = ad.concat([sample.counts for sample in merged], merge="same")
    write_mex(counts, outputs["mex"])
    write_table(_cell_meta(merged), outputs["cell_meta"])
    log.info(
        "demo human 10x: %d cells of %d samples -> %s", counts.n_obs, len(merged), outputs["mex"]
    )
    write_table(truth, outputs["truth"])
    write_table(patients, outputs["patients"])


def _cell_meta(samples: list[DemoSample]) -> pd.DataFrame:
    """Wu et al.-style cell metadata: barcode, patient, sample and tissue of each cell."""
    return pd.concat(
        [
            pd.DataFrame(
                {
                    "barcode": sample.counts.obs_names,
                    "patient": sample.donor,
                    "sample": sample.sample,
                    "tissue": WU_TISSUE[DATASETS[sample.dataset].tissue],
                }
            )
            for sample in samples
        ],
        ignore_index=True,
    )


def write_microwell_dge(counts: ad.AnnData, path: str | os.PathLike) -> None:
    """A Human Cell Landscape ``*_dge.txt.gz``: a ``GENE`` header field then the barcodes, one
    tab-separated row of integer counts per gene (dense, as HCL writes them)."""
    by_gene = sp.csr_matrix(sp.csr_matrix(counts.X).T)
    genes = counts.var_names.to_numpy()
    with open_text_output(path, compresslevel=1) as handle:
        handle.write("GENE\t" + "\t".join(counts.obs_names) + "\n")
        handle.flush()
        for start in range(0, by_gene.shape[0], CSV_CHUNK_ROWS):
            rows = slice(start, start + CSV_CHUNK_ROWS)
            handle.buffer.write(dense_csv_rows(by_gene[rows], genes[rows]).replace(b",", b"\t"))


# --- a stand-in N1 signature ---------------------------------------------------------------------
def n1_standin_signature(
    seed: int, n_genes: int = 24, params_dir: str | os.PathLike = DEFAULT_PARAMS_DIR
) -> list[str]:
    """A stand-in for ``results/signature/n1_signature.tsv`` in tests: mouse symbols of N1 markers
    as the signature's marker step finds them (log2 fold change of N1 over every other cell of the
    mouse demo at least :data:`STANDIN_MIN_LOG2FC`) that also tell N1 from the other neutrophils
    (as the prognostic filter keeps genes that track the N1 fraction rather than neutrophil
    numbers): the ``n_genes`` highest over other neutrophils, among genes with a human ortholog."""
    model = study_model(seed, None, params_dir)
    symbols = model.universe.symbols
    versus_all = pd.Series(single_cell_log2fc(model, "N1"), index=symbols)
    versus_neutrophils = pd.Series(_n1_over_neutrophils(model), index=symbols)
    mapping, _ = map_genes(symbols, "mouse_to_human", unique_targets=True)
    markers = versus_all.index[versus_all >= STANDIN_MIN_LOG2FC].intersection(mapping.index)
    ranked = versus_neutrophils[markers].sort_values(ascending=False, kind="stable")
    return ranked.index[:n_genes].tolist()


STANDIN_MIN_LOG2FC = 2.0


def _n1_over_neutrophils(model: StudyModel) -> np.ndarray:
    """log2(mean CP10k + 1) of N1 minus that of the other neutrophil subtypes (equal weights,
    all conditions)."""
    cp10k = model.profiles.mean(axis=1) * 1e4
    n1 = [i for i, state in enumerate(model.states) if state.subtype == "N1"]
    others = [
        i
        for i, state in enumerate(model.states)
        if state.lineage == "Neutrophil" and state.subtype != "N1"
    ]
    return np.log2(cp10k[n1].mean(axis=0) + 1) - np.log2(cp10k[others].mean(axis=0) + 1)
