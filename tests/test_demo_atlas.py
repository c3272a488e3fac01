"""Fig 1E on the demo's truth: the rarest major type, the cholangiocytes, forms an atlas cluster of
its own at the paper's 20 graph PCs because the generator gives it a programme of lineage size
(``OWN_STREAM_PROGRAMMES``); with the type-level programme alone it joined the endothelium.

The six livers are drawn at the demo's scale (singlets) and integrated and clustered as the
``integrate`` rule does, with the configured atlas settings.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd
from demo_livers import draw_demo_livers, project_config, samples_sheet

from livermet import demo_engine
from livermet.atlas import AtlasSettings, build_atlas
from livermet.demo_biology import OWN_STREAM_PROGRAMMES
from livermet.demo_engine import DEFAULT_PARAMS_DIR, study_model
from livermet.io import write_h5ad

SEED_THAT_MERGED = 3
"""A draw whose cholangiocytes joined an endothelial cluster in the workflow (and here) before."""


def cholangiocyte_cluster(seed: int) -> tuple[float, float]:
    """Of the Leiden cluster holding most cholangiocytes: the share of all cholangiocytes in it,
    and the share of its cells that are cholangiocytes."""
    counts, truth = draw_demo_livers(seed)
    batch = samples_sheet().set_index("sample")["batch"]
    counts.obs = pd.DataFrame(
        {
            "sample": truth["sample"].to_numpy(),
            "condition": truth["condition"].to_numpy(),
            "batch": truth["sample"].map(batch).to_numpy(),
        },
        index=counts.obs_names,
    )
    counts.layers["counts"] = counts.X
    with tempfile.TemporaryDirectory() as folder:
        write_h5ad(counts, Path(folder) / "livers.h5ad")
        settings = AtlasSettings(**project_config()["atlas"], seed=seed)
        build_atlas([Path(folder) / "livers.h5ad"], settings, Path(folder) / "atlas.h5ad")
        atlas = ad.read_h5ad(Path(folder) / "atlas.h5ad")
    table = pd.crosstab(atlas.obs["leiden"].to_numpy(), truth["cell_type"].to_numpy())
    cholangiocytes = table["Cholangiocyte"]
    cluster = cholangiocytes.idxmax()
    in_cluster = cholangiocytes[cluster]
    return in_cluster / cholangiocytes.sum(), in_cluster / table.loc[cluster].sum()


def test_cholangiocytes_form_their_own_atlas_cluster():
    recall, purity = cholangiocyte_cluster(SEED_THAT_MERGED)
    assert recall >= 0.9 and purity >= 0.9, (recall, purity)


def test_without_their_programme_they_join_the_endothelium(monkeypatch):
    """Measured: purity 0.15 (the cluster is mostly endothelial), recall 1.0."""
    monkeypatch.setattr(demo_engine, "OWN_STREAM_PROGRAMMES", ())
    _, purity = cholangiocyte_cluster(SEED_THAT_MERGED)
    assert purity < 0.5


def test_own_stream_programmes_change_their_members_only(monkeypatch):
    """Each draws from its own stream: every other state's profile and the maturation axis stay
    as drawn without it."""
    with_them = study_model(SEED_THAT_MERGED, None, DEFAULT_PARAMS_DIR)
    monkeypatch.setattr(demo_engine, "OWN_STREAM_PROGRAMMES", ())
    without = study_model(SEED_THAT_MERGED, None, DEFAULT_PARAMS_DIR)
    changed = np.any(with_them.profiles != without.profiles, axis=(1, 2))
    members = {member for programme in OWN_STREAM_PROGRAMMES for member in programme.members}
    assert {with_them.states[i].cell_type for i in np.flatnonzero(changed)} == members
    assert np.array_equal(with_them.maturation.slope, without.maturation.slope)
    assert np.array_equal(with_them.maturation.log_start, without.maturation.log_start)
