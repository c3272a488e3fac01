"""Cell composition of the demo's livers: the condition tables of :mod:`livermet.demo_biology`,
with switched-off composition effects frozen, and each mouse drawn around its condition."""

from __future__ import annotations

import numpy as np

from livermet import CONDITIONS
from livermet.demo_biology import COMPOSITION_EFFECTS, MAJOR_SHARES, WITHIN_SHARES
from livermet.demo_engine import StudyModel

COMPOSITION_CONCENTRATION = 500.0
"""Dirichlet concentration of a mouse's composition around its condition's (mouse-to-mouse
variation): a share p varies with sd sqrt(p (1 - p) / 501), 13 % of a 10 % share."""


def condition_shares(effects: dict) -> dict[str, dict[str, dict[str, float]]]:
    """The composition tables with each switched-off composition effect frozen at control."""
    tables = {"major": MAJOR_SHARES} | WITHIN_SHARES
    tables = {level: {c: dict(s) for c, s in table.items()} for level, table in tables.items()}
    for effect, (level, name) in COMPOSITION_EFFECTS.items():
        if not effects[effect]:
            for condition in CONDITIONS:
                tables[level][condition] = _freeze_share(
                    tables[level][condition], name, tables[level]["control"][name]
                )
    return tables


def _freeze_share(shares: dict[str, float], name: str, value: float) -> dict[str, float]:
    rest = sum(share for key, share in shares.items() if key != name)
    return {
        key: value if key == name else share * (1 - value) / rest for key, share in shares.items()
    }


def sample_state_shares(
    model: StudyModel,
    condition: str,
    rng: np.random.Generator,
    effects: dict,
    concentration: float = COMPOSITION_CONCENTRATION,
) -> np.ndarray:
    """Leaf-state shares of one mouse: each level of the hierarchy drawn around its condition."""
    tables = condition_shares(effects)
    drawn = {
        level: _dirichlet(table[condition], concentration, rng) for level, table in tables.items()
    }
    shares = np.empty(len(model.states))
    for i, state in enumerate(model.states):
        share = drawn["major"][state.cell_type]
        if state.cell_type in drawn:
            share *= drawn[state.cell_type][state.lineage]
        if state.lineage in drawn:
            share *= drawn[state.lineage][state.subtype]
        shares[i] = share
    return shares / shares.sum()


def _dirichlet(
    shares: dict[str, float], concentration: float, rng: np.random.Generator
) -> dict[str, float]:
    """Mouse-to-mouse variation around ``shares``; absent parts (share 0) stay absent."""
    present = [key for key, share in shares.items() if share > 0]
    drawn = rng.dirichlet([concentration * shares[key] for key in present])
    return dict.fromkeys(shares, 0.0) | dict(zip(present, drawn, strict=True))


def allocate_cells(shares: np.ndarray, n_cells: int, rng: np.random.Generator) -> np.ndarray:
    """A label per cell, in random order, with each label's count its share of ``n_cells`` rounded
    by largest remainder (counts differ from ``shares * n_cells`` by less than one cell): the
    demo's livers vary by their drawn shares, not by counting noise on top (see
    :mod:`livermet.demo`)."""
    expected = np.asarray(shares, dtype=float) * n_cells
    counts = np.floor(expected).astype(np.int64)
    shortfall = n_cells - counts.sum()
    largest_remainders = np.argsort(-(expected - counts), kind="stable")[:shortfall]
    counts[largest_remainders] += 1
    return rng.permutation(np.repeat(np.arange(len(counts)), counts))
