"""The default demo's six livers drawn in memory (singlets only, no files, no workflow), for tests
that check what the generator plants at the level of its truth."""

from __future__ import annotations

import anndata as ad
import pandas as pd
import yaml
from workflow_utils import REPO

from livermet.demo import simulate_counts


def project_config() -> dict:
    return yaml.safe_load((REPO / "config" / "config.yaml").read_text())


def samples_sheet() -> pd.DataFrame:
    return pd.read_csv(REPO / "config" / "samples.tsv", sep="\t")


def draw_demo_livers(seed: int, effects: dict | None = None) -> tuple[ad.AnnData, pd.DataFrame]:
    """The samples of ``config/samples.tsv`` at ``demo.cells_per_sample``, in their batches,
    drawn with ``seed`` and without doublets, low-quality or red cells: counts and truth."""
    sheet = samples_sheet()
    return simulate_counts(
        dict(zip(sheet["sample"], sheet["condition"], strict=True)),
        project_config()["demo"]["cells_per_sample"],
        seed,
        0.0,
        0.0,
        0.0,
        effects=effects,
        batch_by_sample=dict(zip(sheet["sample"], sheet["batch"], strict=True)),
    )
