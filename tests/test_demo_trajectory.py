"""The demo's neutrophil maturation axis: planted values, what they do to the counts, and what
they leave alone."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr

import livermet.demo_engine as demo_engine
from livermet.demo import simulate_counts
from livermet.demo_biology import GRANULE_LEVELS, MATURATION
from livermet.demo_engine import DEFAULT_PARAMS_DIR, study_model
from livermet.errors import InputError

SEED = 20250336
THREE_LIVERS = {"ctrl_1": "control", "pmn_1": "PMN", "mn_1": "MN"}
MATURE_GENES = [gene for gene, (start, end) in MATURATION.levels.items() if end > start]


@pytest.fixture(scope="module")
def neutrophils():
    """Neutrophil singlets only (three livers), with their CP10k."""
    counts, truth = simulate_counts(THREE_LIVERS, 500, SEED, 0.0, 0.0, 0.0, only=("Neutrophil",))
    totals = np.asarray(counts.X.sum(axis=1)).ravel()
    cp10k = pd.DataFrame(
        counts[:, list(GRANULE_LEVELS) + MATURE_GENES].X.toarray() / totals[:, None] * 1e4,
        columns=list(GRANULE_LEVELS) + MATURE_GENES,
    )
    return truth, cp10k


def test_truth_maturation_orders_n3_before_n1_before_n0_and_n2(neutrophils):
    truth, _ = neutrophils
    assert set(truth["lineage"]) == {"Neutrophil"} and truth["maturation"].between(0, 1).all()
    medians = truth.groupby("subtype")["maturation"].median()
    assert medians["N3"] < medians["N1"] < min(medians["N0"], medians["N2"]), medians.to_dict()
    for (subtype, condition), values in truth.groupby(["subtype", "condition"])["maturation"]:
        low, high = MATURATION.ranges[subtype]
        shift = MATURATION.shift[condition]
        assert values.min() >= max(low + shift, 0) - 1e-9, (subtype, condition)
        assert values.max() <= min(high + shift, 1) + 1e-9, (subtype, condition)


def test_control_neutrophils_are_more_mature_than_mn_within_each_subtype(neutrophils):
    truth, _ = neutrophils
    means = truth.groupby(["subtype", "condition"])["maturation"].mean().unstack()
    assert (means["control"] > means["MN"]).all(), means


def test_granule_genes_fall_and_maturation_genes_rise_with_m(neutrophils):
    """A property of the drawn counts, also inside N3 alone (not only between subtypes)."""
    truth, cp10k = neutrophils
    granule = cp10k[list(GRANULE_LEVELS)].sum(axis=1)
    mature = cp10k[MATURE_GENES].sum(axis=1)
    m = truth["maturation"]
    assert spearmanr(granule, m).statistic < -0.7
    # four genes of 1-30 CP10k in ~1000-UMI cells: Poisson noise keeps the per-cell rank
    # correlation moderate (0.41 seen), so the mean rise is checked too
    assert spearmanr(mature, m).statistic > 0.3
    assert mature[m > 0.7].mean() > 2 * mature[m < 0.3].mean()  # 2.9x seen
    n3 = (truth["subtype"] == "N3").to_numpy()
    early = n3 & (m < m[n3].median()).to_numpy()
    late = n3 & (m > m[n3].median()).to_numpy()
    assert granule[early].mean() > 1.5 * granule[late].mean()
    for gene in GRANULE_LEVELS:
        by_subtype = cp10k[gene].groupby(truth["subtype"].to_numpy()).mean()
        assert by_subtype["N3"] > by_subtype["N1"] > max(by_subtype["N0"], by_subtype["N2"]), gene


def test_maturation_is_empty_for_other_cells_and_kept_for_neutrophil_doublets():
    _, truth = simulate_counts({"mn_1": "MN"}, 400, SEED, doublet_rate=0.2)
    has_neutrophil = truth["lineage"].str.split("+").map(lambda parts: "Neutrophil" in parts)
    assert truth["maturation"].notna().equals(has_neutrophil)
    assert (truth["is_doublet"] & has_neutrophil).any()


def test_other_states_do_not_depend_on_the_axis(monkeypatch):
    """The maturation genes are drawn after every programme and act on neutrophils only."""
    planted = study_model(SEED, None, DEFAULT_PARAMS_DIR)
    other_axis = dataclasses.replace(MATURATION, n_random=10, fold=0.2, levels={"Ltf": (5.0, 5.0)})
    monkeypatch.setattr(demo_engine, "MATURATION", other_axis)
    changed = study_model(SEED, None, DEFAULT_PARAMS_DIR)
    neutrophil = np.array([state.lineage == "Neutrophil" for state in planted.states])
    np.testing.assert_array_equal(planted.profiles[~neutrophil], changed.profiles[~neutrophil])
    assert not np.allclose(planted.profiles[neutrophil], changed.profiles[neutrophil])


def test_switching_the_condition_shift_off_gives_every_condition_the_same_range():
    _, truth = simulate_counts(
        THREE_LIVERS,
        300,
        SEED,
        0.0,
        0.0,
        0.0,
        effects={"neutrophil_maturation_shift": 0.0},
        only=("Neutrophil",),
    )
    for subtype, values in truth.groupby("subtype")["maturation"]:
        low, high = MATURATION.ranges[subtype]
        assert values.between(low - 1e-9, high + 1e-9).all(), subtype


def test_only_one_lineage_cannot_have_heterotypic_doublets():
    with pytest.raises(InputError) as err:
        simulate_counts({"mn_1": "MN"}, 200, SEED, doublet_rate=0.1, only=("Neutrophil",))
    assert str(err.value) == (
        "demo doublets are heterotypic but no major type other than Myeloid is simulated; "
        "set doublet_rate to 0"
    )
    with pytest.raises(InputError, match=r"demo only=\['N9'\] names no cell state"):
        simulate_counts({"mn_1": "MN"}, 50, SEED, 0.0, 0.0, 0.0, only=("N9",))
