"""Is the demo no easier than real data? Silhouette of the true major types in PCA space.

Run from the repository root:

    .venv/bin/python resources/demo/compare_realism.py [path/to/zilionis2019_mouse_lung_immune.h5ad]

The same recipe on both: singlets only for the demo (the real set holds annotated cells, which have
passed QC), normalise to 10,000 per cell, log1p, 2,000 highly variable genes (scanpy's default
flavour), 30 principal components, sklearn's silhouette_score (euclidean) of the true labels;
with and without scaling genes to unit variance (scanpy's tutorial scales, the brief's recipe does
not). A lower silhouette means types overlap more, i.e. a harder data set. The demo is the default
scale (6 samples x 600 cells, seed 20250336); the real set is 800 mouse lung immune cells
(Zilionis et al. 2019; 200 each of neutrophils, T, NK, B) with their `Major cell type` labels.

Two demo numbers: all 8 major types (as the brief asks; not like for like, since hepatocytes or
endothelium differ from immune cells more than T from NK cells), and the matched comparison:
the same four classes as the real set (neutrophils, T cells, NK cells, B cells), at most 200 cells
each, drawn at random.
"""

from __future__ import annotations

import sys
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd
import scanpy as sc
import yaml
from sklearn.metrics import silhouette_score

from livermet.demo import simulate_counts
from livermet.demo_biology import T_CELLS

REAL = Path(__file__).resolve().parents[3] / "shared/data/zilionis2019_mouse_lung_immune.h5ad"
REPO = Path(__file__).resolve().parents[2]
# The default demo: the samples sheet and seed of config/config.yaml.
DEMO_SAMPLES = (
    pd.read_csv(REPO / "config/samples.tsv", sep="\t", comment="#")
    .set_index("sample")["condition"]
    .to_dict()
)
DEMO_SEED = yaml.safe_load((REPO / "config/config.yaml").read_text())["seed"]


def silhouettes(counts: ad.AnnData, labels: np.ndarray) -> dict[str, float]:
    """Silhouette of ``labels`` on 30 PCs of 2,000 HVGs, unscaled and scaled."""
    adata = counts.copy()
    sc.pp.normalize_total(adata, target_sum=1e4)
    sc.pp.log1p(adata)
    sc.pp.highly_variable_genes(adata, n_top_genes=2000)
    adata = adata[:, adata.var["highly_variable"]].copy()
    result = {}
    for scaled in (False, True):
        data = adata.copy()
        if scaled:
            sc.pp.scale(data, max_value=10)
        sc.pp.pca(data, n_comps=30, random_state=0)
        result["scaled" if scaled else "unscaled"] = float(
            silhouette_score(data.obsm["X_pca"], labels)
        )
    return result


def demo_scores(cells_per_sample: int = 600) -> dict[str, dict[str, float]]:
    counts, truth = simulate_counts(DEMO_SAMPLES, cells_per_sample, DEMO_SEED)
    singlets = ~(truth["is_doublet"] | truth["is_low_quality"] | truth["is_erythroid"]).to_numpy()
    matched = matched_classes(truth)
    rng = np.random.default_rng(0)
    keep = np.sort(
        np.concatenate(
            [
                rng.choice(cells, size=min(200, len(cells)), replace=False)
                for cells in (
                    np.flatnonzero(singlets & (matched == name))
                    for name in ("Neutrophil", "T", "NK", "B")
                )
            ]
        )
    )
    return {
        "8 major types": silhouettes(counts[singlets], truth["cell_type"].to_numpy()[singlets]),
        "matched 4 classes": silhouettes(counts[keep], matched[keep]),
    }


def matched_classes(truth) -> np.ndarray:
    """The real set's four classes in demo terms ('' for cells outside them)."""
    classes = np.full(len(truth), "", dtype=object)
    classes[(truth["lineage"] == "Neutrophil").to_numpy()] = "Neutrophil"
    classes[truth["subtype"].isin(T_CELLS).to_numpy()] = "T"
    classes[(truth["subtype"] == "NK").to_numpy()] = "NK"
    classes[(truth["cell_type"] == "B").to_numpy()] = "B"
    return classes


def real_scores(path: Path) -> dict[str, float]:
    adata = ad.read_h5ad(path)
    return silhouettes(adata, adata.obs["Major cell type"].astype(str).to_numpy())


if __name__ == "__main__":
    real_path = Path(sys.argv[1]) if len(sys.argv) > 1 else REAL
    for name, scores in demo_scores().items():
        print(f"demo, {name}: {scores}")
    print(f"real, zilionis lung immune, 4 types: {real_scores(real_path)}")
