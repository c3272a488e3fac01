"""Quality control of one sample: the paper's cell filters, then scrublet doublet calls.

The paper (Seurat) removed cells with > 25 % mitochondrial counts, > 1 % erythroid (haemoglobin)
counts, < 200 detected genes or <= 1000 UMIs, then doublets (DoubletFinder). Doublets are called
per sample because a doublet is made of two cells captured in the same droplet or well.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import anndata as ad
import numpy as np
import pandas as pd
import scrublet

from livermet.errors import InputError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class QCThresholds:
    """Cell filters; a cell is kept when it passes all of them."""

    max_mito_pct: float = 25.0
    max_erythroid_pct: float = 1.0
    min_genes: int = 200
    min_umis: int = 1000  # a cell needs strictly more UMIs than this
    mito_prefix: str = "mt-"
    erythroid_pattern: str = r"^Hb[ab]-"


@dataclass(frozen=True)
class DoubletSettings:
    """Scrublet settings; ``threshold`` is "expected", "auto" or a number (see score_doublets)."""

    expected_rate: float = 0.06
    threshold: float | str = "expected"
    n_pcs: int = 20
    log_transform: bool = True
    max_cells: int = 20000  # larger samples are scored in random parts of at most this many
    seed: int = 0


def add_qc_metrics(adata: ad.AnnData, thresholds: QCThresholds) -> None:
    """Per-cell totals, detected genes and mitochondrial / erythroid percentages in ``obs``."""
    counts = adata.layers["counts"]  # CSR without explicit zeros (ingest guarantees it)
    total = np.asarray(counts.sum(axis=1)).ravel()
    mito = adata.var_names.str.startswith(thresholds.mito_prefix)
    erythroid = adata.var_names.str.match(thresholds.erythroid_pattern)
    adata.obs["total_counts"] = total
    adata.obs["n_genes"] = np.diff(counts.indptr)
    adata.obs["pct_mito"] = _pct(counts[:, mito], total)
    adata.obs["pct_erythroid"] = _pct(counts[:, erythroid], total)


def _pct(sub, total: np.ndarray) -> np.ndarray:
    part = np.asarray(sub.sum(axis=1)).ravel()
    return np.where(total > 0, 100.0 * part / np.maximum(total, 1), 0.0)


def failed_filters(obs: pd.DataFrame, thresholds: QCThresholds) -> pd.DataFrame:
    """One boolean column per reason; a cell may fail several."""
    return pd.DataFrame(
        {
            "high_mito": obs["pct_mito"] > thresholds.max_mito_pct,
            "erythroid": obs["pct_erythroid"] > thresholds.max_erythroid_pct,
            "low_genes": obs["n_genes"] < thresholds.min_genes,
            "low_umis": obs["total_counts"] <= thresholds.min_umis,
        },
        index=obs.index,
    )


def score_doublets(
    adata: ad.AnnData, settings: DoubletSettings
) -> tuple[np.ndarray, np.ndarray, float]:
    """Scrublet scores and calls for one sample; returns (scores, is_doublet, threshold used).

    ``threshold``: "expected" calls the top ``expected_rate`` fraction of cells, as DoubletFinder
    (the paper's tool) does; "auto" is scrublet's own threshold, falling back to "expected" when
    scrublet finds none in its simulated-score histogram; a number is used as given.

    A sample of more than ``max_cells`` cells is scored in random parts of at most that many
    (:func:`random_parts`), each with its own simulated doublets, because scrublet's exact
    neighbour search grows with the square of the cells scored together. A demo sample of
    74,140 cells whole: 190 s, 14.3 GB, planted doublets ranked at AUROC 0.969; in four parts:
    95 s, 4.9 GB, AUROC 0.961 (the more cells scored together, the better scrublet ranks them).
    "auto" then uses the median of the parts' thresholds.
    """
    scores = np.empty(adata.n_obs)
    auto_thresholds = []
    for part in random_parts(adata.n_obs, settings.max_cells, settings.seed):
        scores[part], auto_threshold = scrublet_scores(adata.layers["counts"][part], settings)
        auto_thresholds.append(auto_threshold)
    if settings.threshold == "auto" and None not in auto_thresholds:
        threshold = float(np.median(auto_thresholds))
        return scores, scores > threshold, threshold  # scrublet calls scores above its threshold
    if settings.threshold in ("auto", "expected"):
        threshold = expected_rate_threshold(scores, settings.expected_rate)
    else:
        threshold = float(settings.threshold)
    return scores, scores >= threshold, threshold


def scrublet_scores(counts, settings: DoubletSettings) -> tuple[np.ndarray, float | None]:
    """Scrublet's doublet scores of the cells of ``counts`` and its own threshold (None when its
    simulated-score histogram gives none).

    Neighbours are exact (scikit-learn), not scrublet's default annoy index: annoy queries one
    cell at a time on one thread, and was half of a sample's doublet scoring (9,000 cells:
    7.0 of 15.7 s).
    """
    scrub = scrublet.Scrublet(
        counts, expected_doublet_rate=settings.expected_rate, random_state=settings.seed
    )
    scores, calls = scrub.scrub_doublets(
        n_prin_comps=min(settings.n_pcs, counts.shape[0] - 1),
        log_transform=settings.log_transform,
        use_approx_neighbors=False,
        verbose=False,
    )
    return scores, (None if calls is None else float(scrub.threshold_))


def random_parts(n_cells: int, max_cells: int, seed: int) -> list[np.ndarray]:
    """Cell positions split at random into the fewest parts of at most ``max_cells`` (sizes
    differing by at most one), each in sample order; one part of every cell when they fit."""
    if n_cells <= max_cells:
        return [np.arange(n_cells)]
    n_parts = -(-n_cells // max_cells)
    order = np.random.default_rng(seed).permutation(n_cells)
    return [np.sort(order[start::n_parts]) for start in range(n_parts)]


def expected_rate_threshold(scores: np.ndarray, rate: float) -> float:
    """The score of the ``rate`` x n-th highest cell (infinite when that is zero cells)."""
    n_expected = int(round(rate * scores.size))
    return float(np.sort(scores)[::-1][n_expected - 1]) if n_expected else np.inf


def filter_sample(
    adata: ad.AnnData, thresholds: QCThresholds, doublets: DoubletSettings
) -> tuple[ad.AnnData, pd.DataFrame, dict]:
    """Apply the cell filters, then doublet calls.

    Returns the kept cells, a per-cell table (metrics, failed filters, doublet score, kept) that
    says why each removed cell went, and the sample's summary row.
    """
    sample = str(adata.obs["sample"].iloc[0])
    add_qc_metrics(adata, thresholds)
    failed = failed_filters(adata.obs, thresholds)
    passed = ~failed.any(axis=1).to_numpy()
    if not passed.any():
        raise InputError(
            f"sample {sample}: no cells left after QC "
            f"(failed: {failed.sum().to_dict()}; thresholds {thresholds})"
        )
    kept = adata[passed].copy()
    scores, is_doublet, threshold = score_doublets(kept, doublets)
    kept.obs["doublet_score"] = scores
    kept.obs["predicted_doublet"] = is_doublet
    cells = per_cell_table(adata.obs, failed, kept.obs)
    if is_doublet.all():
        raise InputError(f"sample {sample}: every cell was called a doublet")
    summary = {
        "sample": sample,
        "cells_in": adata.n_obs,
        **failed.sum().astype(int).to_dict(),
        "removed_qc": int((~passed).sum()),
        "doublets": int(is_doublet.sum()),
        "doublet_threshold": round(threshold, 6),
        "cells_out": int((~is_doublet).sum()),
    }
    log.info("sample %s: %s", sample, summary)
    kept.uns["qc"] = {"thresholds": vars(thresholds), "doublets": vars(doublets)}
    return kept[~is_doublet].copy(), cells, summary


def per_cell_table(obs: pd.DataFrame, failed: pd.DataFrame, scored: pd.DataFrame) -> pd.DataFrame:
    """Every input cell with its metrics, failed filters, doublet score and whether it was kept."""
    metrics = ["barcode", "total_counts", "n_genes", "pct_mito", "pct_erythroid"]
    cells = obs[[column for column in metrics if column in obs]].join(failed)
    cells = cells.join(scored[["doublet_score", "predicted_doublet"]])
    cells["predicted_doublet"] = cells["predicted_doublet"].eq(True)  # unscored cells: False
    cells["kept"] = ~failed.any(axis=1) & ~cells["predicted_doublet"]
    return cells.rename_axis("cell").reset_index()
