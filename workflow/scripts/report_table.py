"""Render one tab-separated table as an HTML page for the Snakemake report."""

from livermet.io import atomic_path, read_table, rule_logging
from livermet.report import table_html

with rule_logging(snakemake.log[0]):
    page = table_html(read_table(snakemake.input[0]), snakemake.params.title, snakemake.input[0])
    with atomic_path(snakemake.output[0]) as tmp:
        tmp.write_text(page, encoding="utf-8")
