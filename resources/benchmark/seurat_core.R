# Seurat 4.3's core steps on the counts of a livermet benchmark run, each step timed (elapsed s),
# for the ratio against the workflow's integrate step (python -m livermet.benchmark_seurat).
# Usage: Rscript seurat_core.R counts.h5 times.tsv [n_hvg n_pcs graph_pcs resolution seed]
# Steps and parameters as the paper's Methods: normalise to 10,000 per cell and log1p, 4000 vst
# variable genes, scale (clipped at 10), 50 PCs, a k=20 SNN graph on 20 PCs, clustering at
# resolution 0.8 (Louvain, Seurat's default: Leiden needs Python's leidenalg through reticulate),
# UMAP (uwot) on the 20 PCs. No Harmony: the workflow's 2 s for it are in its side of the table.
suppressPackageStartupMessages(library(Seurat))
args <- commandArgs(trailingOnly = TRUE)
if (length(args) < 2) stop("usage: Rscript seurat_core.R counts.h5 times.tsv [n_hvg n_pcs graph_pcs resolution seed]")
num <- function(i, default) if (length(args) >= i) as.numeric(args[i]) else default
n_hvg <- num(3, 4000); n_pcs <- num(4, 50); graph_pcs <- num(5, 20)
resolution <- num(6, 0.8); seed <- num(7, 0)

message("BLAS: ", extSoftVersion()[["BLAS"]], "; LAPACK: ", La_library())
counts <- Read10X_h5(args[1])
times <- list()
timed <- function(step, expr) {
  elapsed <- system.time(value <- force(expr))[["elapsed"]]
  times[[step]] <<- elapsed
  message(sprintf("%s: %.1f s", step, elapsed))
  value
}
obj <- timed("create", CreateSeuratObject(counts))
rm(counts)
obj <- timed("normalise", NormalizeData(obj, scale.factor = 1e4, verbose = FALSE))
obj <- timed("variable_genes", FindVariableFeatures(obj, nfeatures = n_hvg, verbose = FALSE))
obj <- timed("scale", ScaleData(obj, verbose = FALSE))
obj <- timed("pca", RunPCA(obj, npcs = n_pcs, seed.use = seed, verbose = FALSE))
obj <- timed("neighbours", FindNeighbors(obj, dims = seq_len(graph_pcs), k.param = 20, verbose = FALSE))
obj <- timed("clusters", FindClusters(obj, resolution = resolution, random.seed = seed, verbose = FALSE))
obj <- timed("umap", RunUMAP(obj, dims = seq_len(graph_pcs), seed.use = seed, verbose = FALSE))
table <- data.frame(step = names(times), seconds = unlist(times))
core <- table$step != "create"  # the workflow side starts from counts in memory too
table <- rbind(table, data.frame(step = "total", seconds = sum(table$seconds[core])))
write.table(table, args[2], sep = "\t", quote = FALSE, row.names = FALSE)
message(sprintf("%d cells, %d clusters", ncol(obj), length(levels(Idents(obj)))))
