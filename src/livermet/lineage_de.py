"""DE inside a lineage: between two subtypes, and between conditions within one subtype.

Both read a lineage's subset (``results/subsets/<lineage>.h5ad``: ``layers["counts"]``,
log-normalised ``X``, obs ``subtype``, ``condition``, ``sample``) and write tables of
:data:`livermet.de.DE_COLUMNS`.

* :func:`subtype_de` - Kupffer2 vs Kupffer3 (Fig 4F-H), MAC2 vs MAC1 (Fig 4J), N1 vs N3 (Fig S2A-F;
  Tables S3, S4): the paper's ``FindMarkers`` between two clusters, a cell-level Wilcoxon test on
  all cells of the two subtypes whatever their condition (:func:`livermet.de.wilcoxon_de` with the
  subtype as the grouping). ``contrast`` reads ``<group>_vs_<reference>``; log2fc > 0 means higher
  in ``group``.
* :func:`subtype_condition_de` - MN vs control within each T/NK subtype (Fig 5D; Table S5):
  :func:`livermet.de.condition_de` on the subtype's cells, the paper's cell-level Wilcoxon and the
  per-animal pseudobulk side by side, as for the major types.

A subtype with few cells in a condition (3 control exhausted T cells in the default demo) cannot
carry every test. A method that cannot run - the Wilcoxon with fewer than
:data:`livermet.de.MIN_WILCOXON_CELLS` cells on a side, the pseudobulk with fewer than two animals
of ``min_cells`` cells on a side - is left out with a warning in the log, and the table may then be
empty (its header only). So is a subtype the subclustering did not find in this data set (one of
the nine T/NK subtypes of Fig 5D may be missing): the workflow checks the configured names against
the lineage's marker file before it runs, so an absent subtype is not a misspelling. A subtype
absent from a two-subtype comparison, or a condition absent from the subset, is an error.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import anndata as ad
import pandas as pd

from livermet.bulk import check_contrast_groups
from livermet.de import (
    DE_COLUMNS,
    METHODS,
    MIN_WILCOXON_CELLS,
    condition_de,
    parse_contrast,
    pseudobulk_counts,
    wilcoxon_de,
)
from livermet.errors import InputError

log = logging.getLogger(__name__)

SUBTYPE_KEY = "subtype"


def check_labels(subset: ad.AnnData, key: str, names: Sequence[str], source: str) -> None:
    """Each of ``names`` labels at least one cell in ``obs[key]``; else name what the file has."""
    absent = absent_labels(subset, key, names, source)
    if absent:
        raise InputError(f"{source}: {absent}")


def absent_labels(subset: ad.AnnData, key: str, names: Sequence[str], source: str) -> str:
    """Which of ``names`` label no cell in ``obs[key]``, with what the file has ("" if none)."""
    if key not in subset.obs:
        raise InputError(f"{source}: obs lacks column {key!r}")
    present = set(subset.obs[key].astype(str))
    missing = [name for name in names if name not in present]
    if not missing:
        return ""
    return (
        f"no cells with {key} {', '.join(map(repr, missing))} "
        f"(present: {', '.join(sorted(present))})"
    )


def empty_de_table() -> pd.DataFrame:
    """A DE table without rows (:data:`livermet.de.DE_COLUMNS`): a comparison that cannot run."""
    return pd.DataFrame({column: [] for column in DE_COLUMNS})


def subtype_de(
    subset: ad.AnnData,
    group: str,
    reference: str,
    min_pct: float = 0.1,
    source: str = "subset",
) -> pd.DataFrame:
    """Cell-level Wilcoxon of subtype ``group`` against ``reference``, sorted by p-value then gene.

    ``min_pct`` as in :func:`livermet.de.condition_de` (Seurat's ``min.pct``); ``source`` names the
    subset file in error messages. A subtype the run's subclustering did not find (the config's
    names are checked against the marker files before the run) gives an empty table and a
    warning, as in :func:`subtype_condition_de`: its claims then read "not reproduced" instead of
    the whole workflow stopping.
    """
    if group == reference:
        raise InputError(f"{source}: subtype {group!r} is compared with itself")
    if "counts" not in subset.layers:
        raise InputError(f'{source}: AnnData lacks layers["counts"] (raw counts) needed for DE')
    absent = absent_labels(subset, SUBTYPE_KEY, [group, reference], source)
    if absent:
        log.warning("%s %s_vs_%s: %s; the table is empty", source, group, reference, absent)
        return empty_de_table()
    table = wilcoxon_de(subset, group, reference, min_pct, condition_key=SUBTYPE_KEY)
    table = table.sort_values(["pval", "gene"], kind="mergesort", ignore_index=True)
    return table[DE_COLUMNS]


def runnable_methods(
    cells: ad.AnnData,
    group: str,
    ref: str,
    methods: Sequence[str],
    min_cells: int,
    label: str,
) -> list[str]:
    """The ``methods`` that the cells of one subtype can carry for ``group`` vs ``ref``.

    Those left out are logged with the reason (cell or animal counts per condition).
    """
    runnable = []
    n_cells = cells.obs["condition"].astype(str).value_counts()
    if "wilcoxon" in methods:
        short = {c: int(n_cells.get(c, 0)) for c in (group, ref)}
        if min(short.values()) >= MIN_WILCOXON_CELLS:
            runnable.append("wilcoxon")
        else:
            log.warning(
                "%s: Wilcoxon left out, cells per condition %s (%d needed on each side)",
                label,
                short,
                MIN_WILCOXON_CELLS,
            )
    if "pseudobulk" in methods:
        _, animals = pseudobulk_counts(cells, min_cells)
        try:
            check_contrast_groups(animals, [(group, ref)])
        except InputError as err:
            log.warning(
                "%s: pseudobulk left out, animals with >= %d cells: %s",
                label,
                min_cells,
                err,
            )
        else:
            runnable.append("pseudobulk")
    return runnable


def subtype_condition_de(
    subset: ad.AnnData,
    subtype: str,
    contrast: str,
    methods: Sequence[str] = METHODS,
    min_pct: float = 0.1,
    min_cells: int = 10,
    source: str = "subset",
) -> pd.DataFrame:
    """Condition DE (``contrast`` = ``<group>_vs_<ref>``) within the cells of one subtype.

    The methods the cells can carry run through :func:`livermet.de.condition_de` with the
    subtype as the cell type; with none, an empty table of :data:`livermet.de.DE_COLUMNS`.
    """
    group, ref = parse_contrast(contrast)
    unknown = set(methods) - set(METHODS)
    if unknown:
        raise InputError(f"unknown DE method(s) {sorted(unknown)}; choose from {METHODS}")
    check_labels(subset, "condition", [group, ref], source)
    cells = subset[subset.obs[SUBTYPE_KEY].astype(str) == subtype]
    label = f"{source} {subtype} {contrast}"
    if cells.n_obs == 0:
        present = ", ".join(sorted(set(subset.obs[SUBTYPE_KEY].astype(str))))
        log.warning("%s: no cells with subtype %r (present: %s)", label, subtype, present)
        methods = []
    else:
        methods = runnable_methods(cells, group, ref, methods, min_cells, label)
    if not methods:
        log.warning("%s: no DE method can run; the table is empty", label)
        return empty_de_table()
    return condition_de(
        subset,
        subtype,
        [contrast],
        methods=methods,
        min_pct=min_pct,
        min_cells=min_cells,
        cell_type_key=SUBTYPE_KEY,
    )
