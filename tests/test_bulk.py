"""Bulk limma-voom: planted truth, readers, and parity with R limma 3.54 on real liver counts."""

from __future__ import annotations

import gzip

import numpy as np
import pandas as pd
import pytest
from conftest import REPO, shared_file
from inmoose.limma import lmFit

from livermet.bulk import (
    BULK_COLUMNS,
    bulk_de,
    filter_expressed,
    group_means_design,
    log_cpm,
    read_design,
    weighted_lm_fit,
)
from livermet.errors import InputError
from livermet.tables import read_count_table

FIXTURE = REPO / "tests" / "fixtures" / "limma" / "weger_limma_R.tsv.gz"


def planted_counts(seed: int = 0) -> tuple[pd.DataFrame, pd.Series]:
    """1,000 genes x 8 samples (4 control, 4 PMN); genes 0-29 4-fold up, 30-59 4-fold down.

    Library sizes differ 5-fold, as between real bulk libraries; dispersion 0.05.
    """
    rng = np.random.default_rng(seed)
    base = np.exp(rng.uniform(np.log(20), np.log(2000), 1000))
    groups = pd.Series(["control"] * 4 + ["PMN"] * 4, index=[f"s{i}" for i in range(8)])
    depth = np.array([1, 2, 3, 5, 1, 2, 3, 5], dtype=float)
    mean = np.outer(base, depth)
    mean[:30, 4:] *= 4
    mean[30:60, 4:] /= 4
    counts = rng.negative_binomial(20, 20 / (20 + mean))
    genes = [f"g{i}" for i in range(1000)]
    return pd.DataFrame(counts, index=genes, columns=groups.index), groups


def test_planted_genes_are_recovered_with_their_fold_change():
    counts, groups = planted_counts()
    table = bulk_de(counts, groups, "PMN", "control")
    assert list(table.columns) == BULK_COLUMNS
    planted = {f"g{i}" for i in range(60)}
    assert len(set(table.head(60)["gene"]) & planted) >= 57
    by_gene = table.set_index("gene")
    assert np.median(by_gene.loc[[f"g{i}" for i in range(30)], "log2fc"]) == pytest.approx(
        2, abs=0.2
    )
    assert np.median(by_gene.loc[[f"g{i}" for i in range(30, 60)], "log2fc"]) == pytest.approx(
        -2, abs=0.2
    )
    discoveries = set(table.loc[table["padj"] < 0.05, "gene"])
    assert len(discoveries - planted) / len(discoveries) <= 0.1  # false discovery proportion
    assert table["pval"].is_monotonic_increasing


def test_weighted_fit_with_unit_weights_equals_inmoose_lmfit():
    counts, groups = planted_counts()
    expr = log_cpm(counts)
    design = group_means_design(groups)
    ours = weighted_lm_fit(expr, design, np.ones(expr.shape))
    theirs = lmFit(expr, design)
    np.testing.assert_allclose(ours.coefficients, theirs.coefficients, rtol=1e-10)
    np.testing.assert_allclose(ours.stdev_unscaled, theirs.stdev_unscaled, rtol=1e-10)
    np.testing.assert_allclose(ours.sigma, theirs.sigma, rtol=1e-10)


def test_filter_keeps_genes_above_ten_reads_at_median_depth_in_smallest_group():
    counts = pd.DataFrame(
        {
            "a": [1000, 0, 9, 50],
            "b": [1000, 0, 12, 50],
            "c": [1000, 40, 9, 0],
            "d": [1000, 40, 0, 0],
        },
        index=["always", "two_samples", "borderline", "group_a_only"],
    )
    groups = pd.Series(["x", "x", "y", "y"], index=list("abcd"))
    kept = filter_expressed(counts, groups)
    # Median library 1,054 reads; the cut-off (10 reads there) is 9.9-10.1 reads per sample, which
    # "borderline" passes in sample b only, one sample fewer than the smallest group (2).
    assert list(kept.index) == ["always", "two_samples", "group_a_only"]


def test_too_few_samples_per_group_is_an_input_error():
    counts, groups = planted_counts()
    groups = groups.copy()
    groups.iloc[1:4] = "other"
    with pytest.raises(InputError, match="'control' has 1 sample"):
        bulk_de(counts, groups, "PMN", "control")


def test_readers_accept_gzip_counts_and_design(tmp_path):
    counts, groups = planted_counts()
    with gzip.open(tmp_path / "counts.tsv.gz", "wt") as fh:
        counts.to_csv(fh, sep="\t", index_label="gene_id")
    groups.rename("group").rename_axis("sample").reset_index().to_csv(
        tmp_path / "design.tsv", sep="\t", index=False
    )
    assert read_count_table(tmp_path / "counts.tsv.gz").equals(counts.rename_axis("gene"))
    assert read_design(tmp_path / "design.tsv").equals(groups.rename("group").rename_axis("sample"))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("gene\ta\tb\ng1\t1.5\t2\n", "not a non-negative integer count"),
        ("gene\ta\tb\ng1\t-1\t2\n", "not a non-negative integer count"),
        ("gene\ta\tb\ng1\t1\t2\ng1\t3\t4\n", "duplicate gene identifiers"),
        ("gene\ta\tb\ng1\tx\t2\n", "non-numeric value"),
    ],
)
def test_bad_count_tables_are_rejected(tmp_path, content, message):
    path = tmp_path / "counts.tsv"
    path.write_text(content)
    with pytest.raises(InputError, match=message):
        read_count_table(path)


def test_design_without_group_column_is_rejected(tmp_path):
    path = tmp_path / "design.tsv"
    path.write_text("sample\tcondition\na\tx\n")
    with pytest.raises(InputError, match="group"):
        read_design(path)


@pytest.mark.realdata
def test_limma_matches_r():
    """Weger 2018 liver counts, GSM2046155-160 (A) vs GSM2046179-184 (B): R limma 3.54 voom +
    lmFit + contrasts.fit + eBayes (tests/fixtures/limma) against this module."""
    counts = read_count_table(shared_file("weger2018_mouse_liver_bulk_counts.tsv.gz"))
    accession = counts.columns.str.removeprefix("GSM").astype(int)
    groups = pd.Series(np.where(accession <= 2046160, "A", "B"), index=counts.columns)
    ours = bulk_de(counts, groups, "B", "A").set_index("gene")
    r = pd.read_csv(FIXTURE, sep="\t", index_col="gene")
    assert set(ours.index) == set(r.index) and len(r) == 15187
    ours = ours.loc[r.index]
    assert np.corrcoef(ours["t"], r["t"])[0, 1] >= 0.999
    np.testing.assert_allclose(ours["t"], r["t"], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(ours["log2fc"], r["log2fc"], rtol=1e-5, atol=1e-5)
    top_ours = set(ours["t"].abs().nlargest(50).index)
    top_r = set(r["t"].abs().nlargest(50).index)
    assert top_ours == top_r
