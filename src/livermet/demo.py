"""The deterministic demo study: a simulated mouse liver atlas with the paper's design and planted,
known truth, written in the file formats of the real data so the pipeline's readers are exercised.

Six livers (control, PMN, MN; two each) are drawn from the cell states, markers, composition
shifts and condition programmes of :mod:`livermet.demo_biology`, with negative-binomial counts
whose gene means, dispersions and library sizes were fitted to real mouse single-cell counts
(``resources/demo/fit_params.py``). On top of the biology each sample gets what real data has:
ambient RNA, per-batch and per-sample gene-wise and library-size effects, heterotypic doublets,
low-quality cells and red-cell contamination. A truth table (one row per cell) records it all,
with each neutrophil's maturation (its place on the planted N3 -> N1 -> N0/N2 axis).

Doublets are planted only as heterotypic pairs (parents of different major types): a homotypic
doublet looks like a large singlet of its type, which expression-based detectors (scrublet,
scDblFinder) cannot see either, so planting them would only lower every detector's recall.

A liver's composition varies around its condition (a Dirichlet draw per mouse), but its cells are
then allocated to states, and to doublets and QC failures, by those shares (largest remainder),
not drawn multinomially: the paper's comparisons are between two livers per stage of small
populations (~15 neutrophils of a control liver, ~40 macrophages), where counting noise alone
reversed planted shifts (MAC1 0.20 -> 0.12 of macrophages came out 0.155 -> 0.161).

Randomness: one ``seed``; the study-level programmes come from one stream and each sample (and
each batch) from a stream keyed by its name, so a sample's cells do not depend on which other
samples are simulated, nor on their order; the neutrophils' maturation values come from a stream
of their own, so the other draws are those of a model without the axis.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import replace

import anndata as ad
import numpy as np
import pandas as pd
import scipy.sparse as sp

from livermet import CONDITIONS
from livermet.demo_biology import check_conditions
from livermet.demo_bulk import simulate_bulk_cohort, simulate_bulk_study
from livermet.demo_composition import allocate_cells, sample_state_shares
from livermet.demo_engine import (
    DEFAULT_PARAMS_DIR,
    LIBRARY_DEPTH,
    CellPlan,
    MaturationTable,
    StudyModel,
    draw_cells,
    random_stream,
    resolve_effects,
    study_model,
    weighted_mean,
)
from livermet.demo_formats import write_sample
from livermet.errors import InputError
from livermet.io import write_table

log = logging.getLogger(__name__)

__all__ = ["simulate_counts", "simulate_study", "simulate_bulk_cohort", "simulate_bulk_study"]

TRUTH_COLUMNS = (
    "sample",
    "barcode",
    "condition",
    "cell_type",
    "lineage",
    "subtype",
    "is_doublet",
    "is_low_quality",
    "is_erythroid",
    "maturation",
)
SAMPLE_COLUMNS = ("sample", "condition", "batch", "path", "format")
AMBIENT_SHARE = (0.02, 0.05)
"""Share of each cell's UMIs from the sample's ambient RNA (uniform range per sample)."""
BATCH_GENE_SD, SAMPLE_GENE_SD = 0.2, 0.1
"""SD of the gene-wise log multiplicative effect shared by a batch, and of each sample's own."""
BATCH_LIBRARY_SD, SAMPLE_LIBRARY_SD = 0.15, 0.1
LOW_QUALITY_LIBRARY = (0.15, 0.5)
"""A low-quality cell keeps this fraction of its UMIs (uniform range): cytoplasm lost..."""
LOW_QUALITY_MITO = (0.30, 0.70)
"""... so its mitochondrial share rises into this range."""
ERYTHROID_SHARE = (0.04, 0.25)
"""Share of a contaminated cell's UMIs from red-cell haemoglobin transcripts."""
DOUBLET_KEEP = 0.7
"""Each molecule of a doublet's two cells is kept with this probability (one bead, two cells)."""
BARCODE_SPACE = 96**3
"""BD Rhapsody cell index range (three 96-part cell labels)."""
GOOD, DOUBLET, LOW_QUALITY, ERYTHROID = range(4)  # cell kinds, in the order of their rates
"""Kinds of simulated cells; each cell carries at most one planted problem."""


def simulate_counts(
    conditions_by_sample: dict[str, str],
    cells_per_sample: int,
    seed: int,
    doublet_rate: float = 0.05,
    low_quality_rate: float = 0.04,
    erythroid_rate: float = 0.03,
    effects: dict | None = None,
    batch_by_sample: dict[str, str] | None = None,
    params_dir: str | os.PathLike = DEFAULT_PARAMS_DIR,
    only: Sequence[str] = (),
) -> tuple[ad.AnnData, pd.DataFrame]:
    """Simulate all samples in memory: raw counts (CSR int32) and the per-cell truth.

    ``obs`` has ``sample`` and ``barcode`` (obs_names are ``<sample>_<barcode>``); ``var_names``
    are mouse symbols with Ensembl IDs in ``var["gene_ids"]``. The truth has :data:`TRUTH_COLUMNS`
    in the same row order. ``effects`` overrides entries of
    :data:`livermet.demo_biology.DEFAULT_EFFECTS`, e.g. ``{"hepatocyte_pmn_programme": 0.0}`` or
    ``{"n1_rises": False}``. ``batch_by_sample`` groups samples into batches that share a batch
    effect (default: every sample its own batch). ``only`` (names of types, lineages or subtypes,
    e.g. ``("Neutrophil",)``) keeps just those states, in their shares, for a quick look at one
    lineage; the ambient RNA is then theirs, and doublets need two major types among them.
    """
    _check_size_and_rates(cells_per_sample, doublet_rate, low_quality_rate, erythroid_rate)
    check_conditions(set(conditions_by_sample.values()))
    model = study_model(seed, effects, params_dir)
    effects = resolve_effects(effects)
    batches = batch_by_sample or {sample: sample for sample in conditions_by_sample}
    parts = [
        simulate_sample(
            model,
            sample,
            condition,
            batches[sample],
            cells_per_sample,
            seed,
            (doublet_rate, low_quality_rate, erythroid_rate),
            effects,
            only,
        )
        for sample, condition in conditions_by_sample.items()
    ]
    for part, _ in parts:
        part.obs_names = part.obs["sample"].astype(str) + "_" + part.obs["barcode"].astype(str)
    counts = ad.concat([part for part, _ in parts])
    counts.var = model.universe.var
    truth = pd.concat([truth for _, truth in parts], ignore_index=True)
    return counts, truth


def simulate_study(
    samples: pd.DataFrame,
    truth_path: str | os.PathLike,
    cells_per_sample: int,
    seed: int,
    doublet_rate: float,
    low_quality_rate: float,
    erythroid_rate: float,
    effects: dict | None = None,
    params_dir: str | os.PathLike = DEFAULT_PARAMS_DIR,
) -> None:
    """Write every sample of the sheet (``sample, condition, batch, path, format``) to its path in
    its format (rhapsody_csv, mex, h5ad) and the truth table to ``truth_path``; one sample is in
    memory at a time, and the same arguments give byte-identical files."""
    _check_samples(samples)
    _check_size_and_rates(cells_per_sample, doublet_rate, low_quality_rate, erythroid_rate)
    model = study_model(seed, effects, params_dir)
    effects = resolve_effects(effects)
    truths = []
    for row in samples.itertuples(index=False):
        counts, truth = simulate_sample(
            model,
            row.sample,
            row.condition,
            row.batch,
            cells_per_sample,
            seed,
            (doublet_rate, low_quality_rate, erythroid_rate),
            effects,
        )
        write_sample(counts, row.path, row.format, row.sample)
        log.info(
            "demo sample %s (%s): %d cells -> %s", row.sample, row.format, len(truth), row.path
        )
        truths.append(truth)
    write_table(pd.concat(truths, ignore_index=True), truth_path)


def simulate_sample(
    model: StudyModel,
    sample: str,
    condition: str,
    batch: str,
    n_cells: int,
    seed: int,
    rates: tuple[float, float, float],
    effects: dict,
    only: Sequence[str] = (),
) -> tuple[ad.AnnData, pd.DataFrame]:
    """One liver: composition, cell kinds, library sizes, counts, doublets; rows sorted by
    barcode. ``only``: see :func:`simulate_counts`."""
    rng = random_stream(seed, "sample", sample)
    batch_rng = random_stream(seed, "batch", batch)
    shares = _restrict(model, sample_state_shares(model, condition, rng, effects), only)
    # each (state, kind) pair gets its share of the cells: every state loses its share of cells
    # to doublets and QC failures, so a state of a few cells keeps its planted share of singlets
    kind_rates = np.array([1 - sum(rates), *rates])
    cells = allocate_cells(np.outer(shares, kind_rates).ravel(), n_cells, rng)
    first, kinds = np.divmod(cells, len(kind_rates))
    is_doublet, is_low_quality, is_erythroid = (
        kinds == DOUBLET,
        kinds == LOW_QUALITY,
        kinds == ERYTHROID,
    )
    second = _second_parents(model, first[is_doublet], shares, rng)
    components = np.concatenate([first, second])
    table = model.maturation_table(condition)
    row, maturation = draw_maturation(table, components, random_stream(seed, "maturation", sample))
    profiles = sample_profiles(model, condition, shares, rng, batch_rng, effects, table.profiles)
    library_shift = batch_rng.normal(0, BATCH_LIBRARY_SD * effects["batch_strength"]) + rng.normal(
        0, SAMPLE_LIBRARY_SD * effects["batch_strength"]
    )
    plan = _cell_plan(model, components, library_shift, rng)
    plan = replace(plan, state=np.where(row >= 0, len(model.states) + row, components))
    _plant_low_quality(plan, np.flatnonzero(is_low_quality), rng)
    _plant_erythroid(plan, np.flatnonzero(is_erythroid), rng)
    components = draw_cells(rng, profiles, plan, model.universe)
    counts = _merge_doublets(components, np.flatnonzero(is_doublet), rng)
    barcodes = np.sort(rng.choice(BARCODE_SPACE, size=n_cells, replace=False) + 1)
    order = rng.permutation(n_cells)  # barcodes are sorted, cells shuffled onto them
    truth = _truth_table(model, sample, condition, first, second, is_doublet, kinds, maturation)
    truth = _assign_rows(truth, order, barcodes)
    obs = pd.DataFrame(
        {"sample": sample, "barcode": truth["barcode"].to_numpy()},
        index=pd.Index(truth["barcode"].to_numpy(), dtype=str),
    )
    adata = ad.AnnData(X=counts[order], obs=obs, var=model.universe.var)
    return adata, truth


def _restrict(model: StudyModel, shares: np.ndarray, only: Sequence[str]) -> np.ndarray:
    """``shares`` of the states named (by type, lineage or subtype) in ``only``, renormalised."""
    if not only:
        return shares
    kept = np.array([bool({s.cell_type, s.lineage, s.subtype} & set(only)) for s in model.states])
    if not kept.any():
        raise InputError(f"demo only={list(only)} names no cell state")
    kept_shares = np.where(kept, shares, 0.0)
    return kept_shares / kept_shares.sum()


def _second_parents(
    model: StudyModel, first: np.ndarray, shares: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """A partner for each doublet from a different major type (heterotypic doublets only)."""
    major = np.array([state.cell_type for state in model.states])
    second = np.empty(len(first), dtype=np.int64)
    for cell_type in np.unique(major[first]):
        mine = np.flatnonzero(major[first] == cell_type)
        other = np.where(major != cell_type, shares, 0.0)
        if not other.any():
            raise InputError(
                f"demo doublets are heterotypic but no major type other than {cell_type} is "
                "simulated; set doublet_rate to 0"
            )
        second[mine] = rng.choice(len(shares), size=len(mine), p=other / other.sum())
    return second


# --- expression per sample -----------------------------------------------------------------------
def draw_maturation(
    table: MaturationTable, components: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Each maturing cell's row of ``table`` (uniform over its state's m values) and its m;
    -1 and NaN for the other cells."""
    row = np.full(len(components), -1)
    for state in np.unique(table.state):
        cells = np.flatnonzero(components == state)
        options = np.flatnonzero(table.state == state)
        row[cells] = options[rng.integers(len(options), size=len(cells))]
    return row, np.where(row >= 0, table.value[row], np.nan)


def sample_profiles(
    model: StudyModel,
    condition: str,
    shares: np.ndarray,
    rng: np.random.Generator,
    batch_rng: np.random.Generator,
    effects: dict,
    extra: np.ndarray | None = None,
) -> np.ndarray:
    """State profiles of one sample: the condition's, plus ambient RNA, times batch effects;
    ``extra`` rows (the maturation table's) are appended and mixed alike."""
    profiles = model.profiles[:, CONDITIONS.index(condition)]
    weights = shares * model.library_factor
    ambient = weighted_mean(profiles, weights)
    if extra is not None:
        profiles = np.vstack([profiles, extra])
    ambient_share = rng.uniform(*AMBIENT_SHARE)
    n_genes = profiles.shape[1]
    strength = effects["batch_strength"]
    log_batch = batch_rng.normal(0, BATCH_GENE_SD * strength, n_genes) + rng.normal(
        0, SAMPLE_GENE_SD * strength, n_genes
    )
    mixed = ((1 - ambient_share) * profiles + ambient_share * ambient) * np.exp(log_batch)
    return mixed / mixed.sum(axis=1, keepdims=True)


def _cell_plan(
    model: StudyModel, states: np.ndarray, library_shift: float, rng: np.random.Generator
) -> CellPlan:
    universe = model.universe
    log_library = (
        universe.library_meanlog
        + np.log(LIBRARY_DEPTH)
        + library_shift
        + np.log(model.library_factor[states])
        + rng.normal(0, universe.library_sdlog, len(states))
    )
    return CellPlan(
        state=states,
        library=np.exp(log_library),
        mito_share=np.full(len(states), np.nan),
        haemoglobin_share=np.zeros(len(states)),
    )


def _plant_low_quality(plan: CellPlan, cells: np.ndarray, rng: np.random.Generator) -> None:
    """Broken cells: most cytoplasmic RNA lost, mitochondrial transcripts kept."""
    plan.library[cells] *= rng.uniform(*LOW_QUALITY_LIBRARY, len(cells))
    plan.mito_share[cells] = rng.uniform(*LOW_QUALITY_MITO, len(cells))


def _plant_erythroid(plan: CellPlan, cells: np.ndarray, rng: np.random.Generator) -> None:
    """Red-cell contamination: haemoglobin transcripts take a share of the cell's UMIs."""
    plan.haemoglobin_share[cells] = rng.uniform(*ERYTHROID_SHARE, len(cells))


def _merge_doublets(
    components: sp.csr_matrix, doublets: np.ndarray, rng: np.random.Generator
) -> sp.csr_matrix:
    """Add each doublet's partner to it, then thin the pair's molecules (one bead's capture)."""
    n_cells = components.shape[0] - len(doublets)
    partner = sp.csr_matrix(
        (np.ones(len(doublets)), (doublets, np.arange(len(doublets)))),
        shape=(n_cells, len(doublets)),
    )
    counts = sp.csr_matrix(components[:n_cells] + partner @ components[n_cells:], dtype=np.int64)
    is_doublet = np.zeros(n_cells, dtype=bool)
    is_doublet[doublets] = True
    entry_in_doublet = np.repeat(is_doublet, np.diff(counts.indptr))
    counts.data[entry_in_doublet] = rng.binomial(counts.data[entry_in_doublet], DOUBLET_KEEP)
    counts.eliminate_zeros()
    counts.sort_indices()  # the sparse product leaves column indices unsorted
    return sp.csr_matrix(counts, dtype=np.int32)


# --- truth ---------------------------------------------------------------------------------------
def _truth_table(
    model: StudyModel,
    sample: str,
    condition: str,
    first: np.ndarray,
    second: np.ndarray,
    is_doublet: np.ndarray,
    kinds: np.ndarray,
    maturation: np.ndarray,
) -> pd.DataFrame:
    """Truth per simulated cell (in simulation order); doublets name both parents with '+'.
    ``maturation`` is per component (cells, then doublet partners), NaN where not maturing."""
    columns = {}
    for level in ("cell_type", "lineage", "subtype"):
        names = np.array([getattr(state, level) for state in model.states], dtype=object)
        values = names[first].copy()
        values[is_doublet] = names[first[is_doublet]] + "+" + names[second]
        columns[level] = values
    return pd.DataFrame(
        {
            "sample": sample,
            "barcode": "",
            "condition": condition,
            **columns,
            "is_doublet": is_doublet,
            "is_low_quality": kinds == LOW_QUALITY,
            "is_erythroid": kinds == ERYTHROID,
            "maturation": _cell_maturation(maturation, is_doublet),
        }
    )


def _cell_maturation(maturation: np.ndarray, is_doublet: np.ndarray) -> np.ndarray:
    """Per cell: its maturation, or for a doublet that of its maturing parent (a doublet has at
    most one: its parents are of different major types); NaN where no parent matures."""
    first = maturation[: len(is_doublet)].copy()
    doublets = np.flatnonzero(is_doublet)
    second = maturation[len(is_doublet) :]
    first[doublets] = np.where(np.isnan(first[doublets]), second, first[doublets])
    return first


def _assign_rows(truth: pd.DataFrame, order: np.ndarray, barcodes: np.ndarray) -> pd.DataFrame:
    """Reorder the truth like the count rows and give row i the i-th (sorted) barcode."""
    truth = truth.iloc[order].reset_index(drop=True)
    truth["barcode"] = barcodes.astype(str)
    return truth[list(TRUTH_COLUMNS)]


# --- checks --------------------------------------------------------------------------------------
def _check_size_and_rates(cells_per_sample: int, *rates: float) -> None:
    if cells_per_sample < 1:
        raise InputError(f"demo cells_per_sample must be at least 1, got {cells_per_sample}")
    if min(rates) < 0 or sum(rates) >= 1:
        raise InputError(f"demo rates {rates} must be >= 0 and sum to less than 1")


def _check_samples(samples: pd.DataFrame) -> None:
    missing = set(SAMPLE_COLUMNS) - set(samples.columns)
    if missing:
        raise InputError(f"samples sheet lacks column(s) {', '.join(sorted(missing))}")
    if samples["sample"].duplicated().any():
        raise InputError(
            f"duplicate sample names: {sorted(samples['sample'][samples['sample'].duplicated()])}"
        )
    check_conditions(set(samples["condition"]))
