"""The core steps against Seurat 4.3 on the same matrix, one after the other on one machine.

Takes the QC'd samples of a finished benchmark run (``python -m livermet.benchmark``), writes their
counts as a 10x HDF5 file, times the workflow's integration steps on them in this process
(normalise, variable genes, scaled PCA, Harmony, kNN graph, Leiden, UMAP: what the integrate rule
does between reading and writing), then runs ``resources/benchmark/seurat_core.R`` (the same steps
in Seurat, without Harmony) with ``Rscript`` and writes both timings and their ratio. Run it as
``python -m livermet.benchmark_seurat --run DIR`` after ``python -m livermet.benchmark --workdir
DIR``; R with Seurat, hdf5r and OpenBLAS comes from Debian (``apt-get install r-cran-seurat
r-cran-hdf5r libopenblas0-pthread``: without OpenBLAS, R multiplies with the reference BLAS on one
thread and Seurat's PCA alone takes minutes). ``seurat.log`` names the BLAS R used.
"""

from __future__ import annotations

from livermet.numerics import use_portable_kernels

use_portable_kernels()  # before NumPy loads: the kernels every workflow job computes with

import argparse  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import yaml  # noqa: E402

from livermet.errors import InputError  # noqa: E402
from livermet.io import atomic_path, write_table  # noqa: E402

R_SCRIPT = Path(__file__).resolve().parents[2] / "resources" / "benchmark" / "seurat_core.R"


def load_qc_samples(run: Path):
    """The run's QC'd samples stacked as the integrate rule stacks them, and its atlas settings."""
    import anndata as ad

    from livermet.atlas import AtlasSettings, concatenate_samples

    paths = sorted((run / "results" / "qc").glob("*.h5ad"))
    if not paths:
        raise InputError(f"{run}: no results/qc/*.h5ad; run python -m livermet.benchmark first")
    config = yaml.safe_load((run / "config" / "config.yaml").read_text())
    settings = AtlasSettings(**config["atlas"], seed=config["seed"])
    return concatenate_samples([ad.read_h5ad(path) for path in paths]), settings


def write_10x_h5(adata, path: Path) -> None:
    """Counts (``layers["counts"]``) as a Cell Ranger v3 HDF5 matrix, which Seurat's Read10X_h5
    reads: genes x cells in CSC, i.e. the cells x genes CSR arrays as they are."""
    import h5py
    import scipy.sparse as sp

    counts = sp.csr_matrix(adata.layers["counts"])
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as h5:
        group = h5.create_group("matrix")
        group["data"] = counts.data.astype(np.int32)
        group["indices"] = counts.indices.astype(np.int64)
        group["indptr"] = counts.indptr.astype(np.int64)
        group["shape"] = np.array([adata.n_vars, adata.n_obs], dtype=np.int32)
        group["barcodes"] = adata.obs_names.to_numpy(dtype="S")
        features = group.create_group("features")
        names = adata.var_names.to_numpy(dtype="S")
        features["name"] = names
        features["id"] = names
        features["feature_type"] = np.full(adata.n_vars, b"Gene Expression")
        features["genome"] = np.full(adata.n_vars, b"mm10")


def time_workflow_steps(adata, settings) -> pd.DataFrame:
    """Seconds of each integration step on the stacked samples in memory: the functions
    :func:`livermet.atlas.build_atlas` applies a sample at a time, without its reading and
    writing."""
    from livermet import atlas

    steps = {
        "normalise": lambda: atlas.normalise(adata, settings.target_sum),
        "variable_genes, scale, pca, harmony": lambda: atlas.embed(adata, settings),
        "neighbours, clusters": lambda: atlas.leiden_clusters(adata, settings),
        "umap": lambda: atlas.umap_layout(adata, settings),
    }
    rows = []
    for step, run in steps.items():
        start = time.perf_counter()
        run()
        rows.append((step, time.perf_counter() - start))
    rows.append(("total", sum(seconds for _, seconds in rows)))
    return pd.DataFrame(rows, columns=["step", "seconds"])


def run_seurat(counts: Path, out: Path, settings) -> pd.DataFrame:
    """Seurat's timings from the R script (its stderr goes to ``seurat.log`` beside ``out``)."""
    command = [
        "Rscript",
        str(R_SCRIPT),
        str(counts),
        str(out),
        *map(str, (settings.n_hvg, settings.n_pcs, settings.graph_pcs)),
        *map(str, (settings.leiden_resolution, settings.seed)),
    ]
    with open(out.with_name("seurat.log"), "w") as log:
        done = subprocess.run(command, stdout=log, stderr=subprocess.STDOUT)
    if done.returncode != 0:
        raise InputError(f"Rscript {R_SCRIPT.name} failed; see {out.with_name('seurat.log')}")
    return pd.read_csv(out, sep="\t")


def comparison(ours: pd.DataFrame, seurat: pd.DataFrame, n_cells: int) -> str:
    """Markdown: both timings, step by step, and the ratio of the totals."""
    total = {
        name: float(t.loc[t["step"] == "total", "seconds"].iloc[0])
        for name, t in (("workflow", ours), ("Seurat 4.3", seurat))
    }
    lines = [
        f"Core steps on the same {n_cells:,} cells, one after the other on this machine.",
        "",
        "| tool | step | s |",
        "|---|---|---:|",
    ]
    for name, table in (("workflow", ours), ("Seurat 4.3", seurat)):
        lines += [f"| {name} | {row.step} | {row.seconds:.1f} |" for row in table.itertuples()]
    ratio = total["Seurat 4.3"] / total["workflow"]
    lines += ["", f"Seurat / workflow: {ratio:.2f} (totals, object creation excluded)."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m livermet.benchmark_seurat",
        description=" ".join(__doc__.split("\n\n")[0].split()),
    )
    parser.add_argument("--run", type=Path, required=True, help="a finished benchmark run")
    args = parser.parse_args(argv)
    folder = args.run / "seurat"
    try:
        adata, settings = load_qc_samples(args.run)
        folder.mkdir(exist_ok=True)
        write_10x_h5(adata, folder / "counts.h5")
        ours = time_workflow_steps(adata, settings)
        write_table(ours, folder / "workflow_times.tsv")
        seurat = run_seurat(folder / "counts.h5", folder / "seurat_times.tsv", settings)
    except InputError as err:
        print(f"livermet.benchmark_seurat: {err}", file=sys.stderr)
        return 2
    text = comparison(ours, seurat, adata.n_obs)
    (folder / "comparison.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
