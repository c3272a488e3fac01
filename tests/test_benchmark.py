"""The benchmark harness: run directory, benchmark collection, summary, errors (no timing is
asserted: numbers come from runs of the harness, not from tests)."""

from __future__ import annotations

import shutil
import subprocess

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import scanpy as sc
import scipy.sparse as sp
import yaml
from workflow_utils import REPO

from livermet import benchmark, benchmark_seurat
from livermet.atlas import AtlasSettings
from livermet.errors import InputError

HEADER = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"


def write_benchmark(path, *rows):
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [f"{s}\t0:00:00\t{rss}\t0\t0\t0\t0\t0\t0\t{cpu}\n" for s, rss, cpu in rows]
    path.write_text(HEADER + "".join(lines))


def test_every_job_is_collected_costliest_first(tmp_path):
    folder = tmp_path / "benchmarks"
    write_benchmark(folder / "integrate.tsv", (93.5, 4100.0, 180.2))
    write_benchmark(folder / "qc" / "ctrl_1.tsv", (12.0, 800.0, 11.0))
    write_benchmark(folder / "qc" / "ctrl_2.tsv", (40.0, 700.0, 39.0), (30.0, 650.0, 29.0))
    write_benchmark(folder / "demo_study.tsv", (70.0, 5000.0, 69.0))
    table = benchmark.collect_benchmarks(folder)
    assert list(table["job"]) == ["integrate", "demo_study", "qc/ctrl_2", "qc/ctrl_1"]
    assert table.loc[2, ["wall_s", "max_rss_mb", "cpu_s"]].tolist() == [30.0, 650.0, 29.0]
    text = benchmark.summary(table, 54000, "core", 2, 150.0, 71.2)
    assert "Demo at 54,000 cells, target `core`, `--cores 2`" in text
    assert (
        "Whole run 150 s wall; jobs: 3, summed job wall 136 s, largest peak RSS 4100 MB "
        "(the demo's counts generated before, by `demo_study`, in 71 s)." in text
    )
    assert "| integrate | 93.5 | 4100 | 180.2 |" in text and "| demo_study |" not in text


def test_no_benchmark_files_is_an_error(tmp_path):
    with pytest.raises(InputError, match="no Snakemake benchmark files"):
        benchmark.collect_benchmarks(tmp_path)


def test_run_directory_scales_the_demo_and_plans_the_core(tmp_path, capsys):
    workdir = tmp_path / "bench"
    code = benchmark.main(
        ["--cells", "600", "--workdir", str(workdir), "--project", str(REPO), "--dry-run"]
        + ["--mem-mb", "3000"]
    )
    assert code == 0, capsys.readouterr().err
    config = yaml.safe_load((workdir / "config" / "config.yaml").read_text())
    assert config["demo"]["cells_per_sample"] == 100
    planned = (workdir / "snakemake.log").read_text()
    assert "annotate" in planned and "figure" not in planned  # the core only
    assert "--resources mem_mb=3000" in planned  # jobs start within the memory given
    assert not (workdir / "results").exists()


@pytest.mark.parametrize(
    ("cells", "message"), [(120, "--cells 120: at least 300"), (600, "holds results")]
)
def test_bad_runs_are_refused_with_one_line(tmp_path, capsys, cells, message):
    workdir = tmp_path / "bench"
    (workdir / "results").mkdir(parents=True)
    code = benchmark.main(["--cells", str(cells), "--workdir", str(workdir)])
    assert code == 2
    error = capsys.readouterr().err
    assert message in error and error.count("\n") == 1
    assert not (workdir / "config").exists()


def small_counts_adata(n_cells: int = 300, n_genes: int = 500):
    rng = np.random.default_rng(0)
    groups = rng.integers(3, size=n_cells)
    rate = rng.lognormal(-1, 1.5, (3, n_genes))
    counts = sp.csr_matrix(rng.poisson(rate[groups] * 4).astype(np.int32))
    adata = ad.AnnData(
        X=counts.copy(),
        obs=pd.DataFrame(index=[f"cell{i}" for i in range(n_cells)]),
        var=pd.DataFrame(index=[f"g{j}" for j in range(n_genes)]),
    )
    adata.layers["counts"] = counts
    return adata


def test_the_counts_for_seurat_read_back_as_the_same_matrix(tmp_path):
    adata = small_counts_adata()
    benchmark_seurat.write_10x_h5(adata, tmp_path / "counts.h5")
    back = sc.read_10x_h5(tmp_path / "counts.h5")
    assert list(back.obs_names) == list(adata.obs_names)
    assert list(back.var_names) == list(adata.var_names)
    assert (back.X != adata.layers["counts"]).nnz == 0


def test_the_comparison_reports_the_ratio_of_the_totals():
    ours = pd.DataFrame({"step": ["pca", "umap", "total"], "seconds": [10.0, 20.0, 30.0]})
    seurat = pd.DataFrame(
        {"step": ["create", "pca", "umap", "total"], "seconds": [5.0, 40.0, 50.0, 90.0]}
    )
    text = benchmark_seurat.comparison(ours, seurat, 54000)
    assert "same 54,000 cells" in text
    assert "Seurat / workflow: 3.00" in text
    assert "| workflow | umap | 20.0 |" in text and "| Seurat 4.3 | pca | 40.0 |" in text


def test_a_run_without_qc_samples_is_refused_with_one_line(tmp_path, capsys):
    assert benchmark_seurat.main(["--run", str(tmp_path)]) == 2
    error = capsys.readouterr().err
    assert "no results/qc/*.h5ad" in error and error.count("\n") == 1


@pytest.mark.skipif(
    shutil.which("Rscript") is None
    or subprocess.run(["Rscript", "-e", "library(Seurat)"], capture_output=True).returncode,
    reason="R with Seurat not installed (apt-get install r-cran-seurat); a benchmark tool only",
)
def test_the_seurat_script_times_every_core_step(tmp_path):
    adata = small_counts_adata()
    benchmark_seurat.write_10x_h5(adata, tmp_path / "counts.h5")
    settings = AtlasSettings(n_hvg=200, n_pcs=10, graph_pcs=5)
    times = benchmark_seurat.run_seurat(tmp_path / "counts.h5", tmp_path / "times.tsv", settings)
    steps = ["create", "normalise", "variable_genes", "scale", "pca", "neighbours", "clusters"]
    assert list(times["step"]) == [*steps, "umap", "total"]
    core = times["step"].isin(steps[1:] + ["umap"])
    assert times["seconds"].iloc[-1] == pytest.approx(times.loc[core, "seconds"].sum(), abs=0.01)
