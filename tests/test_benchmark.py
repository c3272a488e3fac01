"""The benchmark harness: run directory, benchmark collection, summary, errors (no timing is
asserted: numbers come from runs of the harness, not from tests)."""

from __future__ import annotations

import pytest
import yaml
from workflow_utils import REPO

from livermet import benchmark
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
    table = benchmark.collect_benchmarks(folder)
    assert list(table["job"]) == ["integrate", "qc/ctrl_2", "qc/ctrl_1"]
    assert table.loc[1, ["wall_s", "max_rss_mb", "cpu_s"]].tolist() == [30.0, 650.0, 29.0]
    text = benchmark.summary(table, 54000, "core", 2, 150.0)
    assert "Demo at 54,000 cells, target `core`, `--cores 2`" in text
    assert "Whole run 150 s wall; jobs: 3, summed job wall 136 s, largest peak RSS 4100 MB." in text
    assert "| integrate | 93.5 | 4100 | 180.2 |" in text


def test_no_benchmark_files_is_an_error(tmp_path):
    with pytest.raises(InputError, match="no Snakemake benchmark files"):
        benchmark.collect_benchmarks(tmp_path)


def test_run_directory_scales_the_demo_and_plans_the_core(tmp_path, capsys):
    workdir = tmp_path / "bench"
    code = benchmark.main(
        ["--cells", "600", "--workdir", str(workdir), "--project", str(REPO), "--dry-run"]
    )
    assert code == 0, capsys.readouterr().err
    config = yaml.safe_load((workdir / "config" / "config.yaml").read_text())
    assert config["demo"]["cells_per_sample"] == 100
    planned = (workdir / "snakemake.log").read_text()
    assert "annotate" in planned and "figure" not in planned  # the core only
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
