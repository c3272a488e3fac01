"""Bulk RNA-seq cohorts of the demo: livers mixed from known cell proportions of the same cell
states the single-cell demo draws from, for the deconvolution panels (Fig 1I-K, 3F-G).

Each liver's cell proportions are drawn around its group's composition (control or PMN: myeloid
up, T/NK and B down in PMN, neutrophils and N1 up), its expression is the RNA-weighted mix of the
state profiles of that group (so the hepatocyte PMN programme is in the PMN livers), and read
counts are Poisson around it after gene-wise biological variation. The same ``seed`` as the
single-cell study gives the same state profiles, so the single-cell demo is a matching reference.
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

from livermet import CONDITIONS
from livermet.demo_biology import IMMUNE_TYPES, MAJOR_TYPES, NEUTROPHIL_SUBTYPES
from livermet.demo_composition import sample_state_shares
from livermet.demo_engine import (
    DEFAULT_PARAMS_DIR,
    StudyModel,
    random_stream,
    resolve_effects,
    study_model,
    weighted_mean,
)
from livermet.errors import InputError
from livermet.io import write_table

BULK_GROUPS = ("control", "PMN")
BULK_CONCENTRATION = 100.0
"""Dirichlet concentration of a liver's composition around its group's: livers of a public
cohort vary more than the single-cell study's mice (~10 % relative sd for a 10 % share)."""
BULK_DEPTH = (2e7, 0.25)
"""Median reads per library and lognormal sd of library depth."""
BULK_GENE_SD = 0.10
"""Gene-wise biological variation between livers (sd of the natural-log expression). With the
composition spread above it gives a median sd of log CPM of 0.11 across livers of one group for
genes above 50 CPM, as in 12 real mouse livers (Weger et al. 2018, ``../shared/data``: 0.12);
0.15 gave 0.16, noisier than real livers."""


def simulate_bulk_cohort(
    n_control: int,
    n_pmn: int,
    seed: int,
    effects: dict | None = None,
    params_dir: str | os.PathLike = DEFAULT_PARAMS_DIR,
    cohort: str = "bulk",
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Counts (genes x samples, integer, index ``gene``), design (``sample, group``) and the true
    proportions (long: ``sample, group, scope, cell_type, proportion``; scope ``all`` = the major
    types among all cells, ``immune`` = TNK, Myeloid and B among immune cells, ``neutrophil`` =
    N0-N3 among neutrophils; each scope sums to 1 per sample). ``cohort`` names the random stream,
    so cohorts of one study differ in their livers but share the single-cell demo's profiles."""
    if n_control < 1 or n_pmn < 1:
        raise InputError(f"a bulk cohort needs both groups; got {n_control} control, {n_pmn} PMN")
    model = study_model(seed, effects, params_dir)
    effects = resolve_effects(effects)
    design = pd.DataFrame(
        {
            "sample": [f"control_{i + 1:02d}" for i in range(n_control)]
            + [f"PMN_{i + 1:02d}" for i in range(n_pmn)],
            "group": ["control"] * n_control + ["PMN"] * n_pmn,
        }
    )
    columns, proportions = {}, []
    for sample, group in zip(design["sample"], design["group"], strict=True):
        rng = random_stream(seed, "bulk", f"{cohort}/{sample}")
        shares = sample_state_shares(model, group, rng, effects, BULK_CONCENTRATION)
        columns[sample] = _bulk_counts(model, group, shares, rng)
        proportions.append(true_proportions(model, shares).assign(sample=sample, group=group))
    counts = pd.DataFrame(columns, index=pd.Index(model.universe.symbols, name="gene"))
    proportions = pd.concat(proportions, ignore_index=True)
    return counts, design, proportions[["sample", "group", "scope", "cell_type", "proportion"]]


def simulate_bulk_study(
    counts_path: str | os.PathLike,
    design_path: str | os.PathLike,
    proportions_path: str | os.PathLike,
    n_control: int,
    n_pmn: int,
    seed: int,
    effects: dict | None = None,
    params_dir: str | os.PathLike = DEFAULT_PARAMS_DIR,
    cohort: str = "bulk",
) -> None:
    """Write the cohort: counts as TSV (gzip if the path ends in .gz) with first column ``gene``,
    the design and the true proportions; each file atomic and byte-identical for a given seed."""
    counts, design, proportions = simulate_bulk_cohort(
        n_control, n_pmn, seed, effects, params_dir, cohort
    )
    write_table(counts.reset_index(), counts_path)
    write_table(design, design_path)
    write_table(proportions, proportions_path)


def _bulk_counts(
    model: StudyModel, group: str, shares: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Reads of one liver: RNA-weighted mix of state profiles, gene-wise variation, Poisson."""
    profiles = model.profiles[:, CONDITIONS.index(group)]
    weights = shares * model.library_factor
    expression = weighted_mean(profiles, weights)
    expression *= np.exp(rng.normal(0, BULK_GENE_SD, expression.size))
    depth = BULK_DEPTH[0] * np.exp(rng.normal(0, BULK_DEPTH[1]))
    return rng.poisson(depth * expression / expression.sum()).astype(np.int64)


def true_proportions(model: StudyModel, shares: np.ndarray) -> pd.DataFrame:
    """Cell proportions of one liver in the three scopes, from its leaf-state shares."""
    cell_type = pd.Series([state.cell_type for state in model.states])
    subtype = pd.Series([state.subtype for state in model.states])
    lineage = pd.Series([state.lineage for state in model.states])
    major = pd.Series(shares).groupby(cell_type).sum().reindex(MAJOR_TYPES, fill_value=0.0)
    immune = major[list(IMMUNE_TYPES)]
    neutrophil = pd.Series(shares[(lineage == "Neutrophil").to_numpy()]).set_axis(
        subtype[lineage == "Neutrophil"]
    )[list(NEUTROPHIL_SUBTYPES)]
    return pd.concat(
        [
            _scope("all", major / major.sum()),
            _scope("immune", immune / immune.sum()),
            _scope("neutrophil", neutrophil / neutrophil.sum()),
        ],
        ignore_index=True,
    )


def _scope(scope: str, proportions: pd.Series) -> pd.DataFrame:
    return pd.DataFrame(
        {"scope": scope, "cell_type": proportions.index, "proportion": proportions.to_numpy()}
    )
