"""Hallmark GSEA of one cell type and contrast, ranked by the DE statistic of one method."""

from livermet.gsea import prerank_gsea, ranking_from_de, read_gmt
from livermet.io import read_table, rule_logging, write_table

with rule_logging(snakemake.log[0]):
    params = snakemake.params
    de = read_table(snakemake.input.de, dtype={"gene": str}, keep_default_na=False, na_values=[""])
    ranking = ranking_from_de(de, params.de_method, snakemake.wildcards.contrast)
    table = prerank_gsea(
        ranking,
        read_gmt(snakemake.input.gene_sets),
        permutations=params.permutations,
        seed=params.seed,
        threads=snakemake.threads,
        method=params.method,
        min_size=params.min_size,
        max_size=params.max_size,
        max_permutations=params.max_permutations,
        max_sample_size=params.max_sample_size,
        fdr_se_target=params.fdr_se_target,
        refine_fdr_below=params.refine_fdr_below,
    )
    write_table(table, snakemake.output[0])
