# Shared set-up: config and samples-sheet validation, input functions, wildcard constraints.
import os
import re
import sys

import pandas as pd
from snakemake.utils import validate

# The package lives in src/; jobs (in this environment or a conda env) import it from there.
SRC = os.path.join(workflow.basedir, "src")
sys.path.insert(0, SRC)
os.environ.update(
    PYTHONPATH=os.pathsep.join(
        [SRC, *os.environ.get("PYTHONPATH", "").split(os.pathsep)]
    ).rstrip(os.pathsep)
)
os.environ.setdefault("MPLBACKEND", "Agg")

from livermet.io import H5AD_COMPRESSION_VARIABLE  # noqa: E402
from livermet.numerics import use_portable_kernels, use_shared_numba_cache  # noqa: E402
from livermet.panels import PANELS  # noqa: E402

# Jobs inherit AVX2 BLAS/NumPy kernels: the same tables on every x86-64 machine.
use_portable_kernels()
# Jobs compile numba kernels once per user, not once per job or run (~/.cache/livermet/numba).
use_shared_numba_cache()

validate(config, "../../config/schemas/config.schema.yaml")
# Jobs write their .h5ad files compressed as the config says (livermet.io.write_h5ad).
os.environ[H5AD_COMPRESSION_VARIABLE] = config["h5ad_compression"]
if "datasets" in config:
    validate(config["datasets"], "../../config/schemas/datasets.schema.yaml")


def load_samples(path):
    """The samples sheet, validated row by row; sample names must be unique."""
    sheet = pd.read_csv(path, sep="\t", dtype=str, comment="#").fillna("")
    validate(sheet, "../../config/schemas/samples.schema.yaml")
    duplicated = sheet["sample"][sheet["sample"].duplicated()].tolist()
    if duplicated:
        raise ValueError(f"{path}: duplicate sample names {duplicated}")
    return sheet.set_index("sample", drop=False)


SAMPLES = load_samples(config["samples"])
DEMO = config.get("demo", {}).get("enabled", False)


def demo_bulk_cohort(name, cohort):
    folder = f"results/demo/bulk/{name}"
    return {
        "panel": cohort["panel"],
        "counts": f"{folder}/counts.tsv.gz",
        "design": f"{folder}/design.tsv",
    }


# Bulk cohorts: the configured ones, plus the demo's simulated cohorts when the demo is on.
BULK_COHORTS = {
    **config["bulk"]["cohorts"],
    **{
        name: demo_bulk_cohort(name, cohort)
        for name, cohort in (config["demo"]["bulk_cohorts"] if DEMO else {}).items()
    },
}


def lineage_order(lineages):
    """Lineage names, each after its parent; a parent that is neither `atlas` nor a lineage, or
    a cycle, is a config error."""
    ordered = []
    while len(ordered) < len(lineages):
        ready = [
            name
            for name, spec in lineages.items()
            if name not in ordered
            and (spec["parent"] == "atlas" or spec["parent"] in ordered)
        ]
        if not ready:
            stuck = sorted(set(lineages) - set(ordered))
            raise ValueError(
                f"config subsets.lineages: parent of {stuck} is not `atlas` or another "
                "lineage (or the parents form a cycle)"
            )
        ordered.extend(ready)
    return ordered


LINEAGES = lineage_order(config["subsets"]["lineages"])


wildcard_constraints:
    sample="|".join(map(re.escape, SAMPLES.index)),
    panel="|".join(PANELS),
    celltype="|".join(map(re.escape, config["de"]["celltypes"])),
    contrast="|".join(config["de"]["contrasts"]),
    cohort="|".join(map(re.escape, BULK_COHORTS)),
    lineage="|".join(LINEAGES),


def sample_counts(wildcards):
    """Local path of a sample's counts (downloaded first when the sheet gives a URL)."""
    return local_input_path(SAMPLES.loc[wildcards.sample])


def sample_meta(wildcards):
    """The samples-sheet row of one sample, as passed to its scripts."""
    return SAMPLES.loc[wildcards.sample].to_dict()


def qc_outputs():
    return expand("results/qc/{sample}.h5ad", sample=SAMPLES.index)


def mem_mb_from_input(factor, minimum=1000):
    """Memory request that grows with the input size (factor x input MB, at least minimum)."""

    def mem_mb(wildcards, input):
        return max(minimum, int(factor * input.size_mb))

    return mem_mb


# Stage outputs by the names that livermet.panels uses.
FIGURE_INPUTS = {
    "atlas": "results/atlas/atlas.h5ad",
    "atlas_umap": "results/atlas/umap.tsv",
    "cell_types": "results/atlas/cell_types.tsv",
    "major_markers": config["annotation"]["markers"],
    "composition": "results/atlas/composition.tsv",
    **{
        f"hepatocyte_de_{c}": f"results/de/Hepatocyte/{c}.tsv"
        for c in config["de"]["contrasts"]
    },
    **{
        f"bulk_de_{cohort['panel']}": f"results/bulk/{name}/de.tsv"
        for name, cohort in BULK_COHORTS.items()
    },
    **{
        f"hepatocyte_gsea_{c}": f"results/gsea/Hepatocyte/{c}.tsv"
        for c in config["de"]["contrasts"]
    },
}


def subset_inputs(wildcards):
    """A lineage's parent (the annotated atlas or the parent lineage's subset) and markers."""
    spec = config["subsets"]["lineages"][wildcards.lineage]
    parent = spec["parent"]
    return {
        "parent": (
            "results/atlas/atlas.h5ad"
            if parent == "atlas"
            else f"results/subsets/{parent}.h5ad"
        ),
        "markers": spec["markers"],
    }


def figure_inputs(wildcards):
    return {name: FIGURE_INPUTS[name] for name in PANELS[wildcards.panel].inputs}


def bulk_inputs(wildcards):
    """Counts and design of a bulk cohort: its own files, or a dataset's downloaded counts."""
    cohort = BULK_COHORTS[wildcards.cohort]
    if "dataset" in cohort:
        return {"counts": dataset_file(cohort["dataset"], "counts")}
    return {"counts": cohort["counts"], "design": cohort["design"]}


def bulk_groups(wildcards):
    """Sample groups of a dataset cohort (``datasets.<name>.groups``); None with a design file."""
    cohort = BULK_COHORTS[wildcards.cohort]
    if "dataset" in cohort:
        return dataset_setting(cohort["dataset"], "groups")
    return None


# Targets of `rule all` besides the figures; each stage's rules file adds its own outputs here
# (and its figure inputs to FIGURE_INPUTS), next to the rules that make them.
TARGETS = [
    "results/qc/summary.tsv",
    "results/atlas/atlas.h5ad",
    *expand("results/bulk/{cohort}/de.tsv", cohort=BULK_COHORTS),
    *expand(
        "results/{kind}/{celltype}/{contrast}.tsv",
        kind=("de", "gsea"),
        celltype=config["de"]["celltypes"],
        contrast=config["de"]["contrasts"],
    ),
]


def all_targets():
    return [
        *TARGETS,
        *expand("results/figures/{panel}.{ext}", panel=PANELS, ext=("pdf", "png")),
    ]
