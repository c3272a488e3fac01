"""Cell-cell communication (Fig 6, S4): CellChat's contact model per condition, through liana.

The paper ran CellChat (R) with the "Cell-Cell Contact" part of CellChatDB (mouse), once per
condition. Here liana's CellChat method computes the same quantities: per group the trimean of
each gene scaled by the data maximum, the law-of-mass-action probability ``L*R / (0.5 + L*R)``
(Hill, n = 1) and a permutation p-value from shuffled group labels. This module is glue around it:

- the resource is CellChatDB v2 mouse, contact pairs only, with complexes resolved to subunits
  (``resources/cellchat/``). Contact pairs carry no agonist, antagonist or co-receptor, so
  CellChat's cofactor terms are 1 there and liana, which has none, loses nothing;
- only the genes of that resource are passed to liana, so its scaling maximum is CellChat's
  (the maximum of the signalling genes, not of the whole matrix);
- as CellChat's standard workflow does (``identifyOverExpressedGenes`` then
  ``identifyOverExpressedInteractions``), a pair is scored only when its ligand and its receptor
  are each over-expressed (Wilcoxon, one group against the rest) in some group.

Groups are the finest labels of the subclustering (``results/subsets/labels.tsv``) pooled as a
grouping says (:func:`merged_groups`): Fig 6 pools neutrophil and macrophage subtypes into their
lineage, Fig S4 keeps them, so each condition is run once per grouping, as the paper analysed the
two levels separately. :func:`compare_conditions` then builds every table behind the panels:
totals (CellChat's compareInteractions), counts among groups, pairs up in MN (significant in MN
and at least ``up_fold`` x as probable as in every other stage; CellChat's bubble comparison
``max.dataset`` takes any increase), bubble tables and gene expression by condition.

Known deviations from CellChat R: liana takes a complex's expression as the minimum of its
subunits (CellChat: geometric mean), so complex pairs (71 of 662) score a little lower; p-values
count permutations with a score >= the observed one (CellChat: >), and groups under the
minimum size are dropped before the permutations rather than after.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd
import scipy.sparse as sp

from livermet import CONDITIONS
from livermet.errors import InputError

log = logging.getLogger(__name__)

CONTACT = "Cell-Cell Contact"
UNASSIGNED = "Unassigned"
PAIR_KEY = ["source", "target", "interaction_name"]
NEUTROPHIL, MACROPHAGE, EXHAUSTED_T = "Neutrophil", "Macrophage", "CD8_exhausted"
FIG6B_GROUPS = ("Hepatocyte", MACROPHAGE, NEUTROPHIL, "NK", EXHAUSTED_T)
"""Fig 6B: the groups whose signalling to one another the paper counts."""
FIG6C_SOURCES = ("Hepatocyte", MACROPHAGE, NEUTROPHIL)
"""Fig 6C: the senders to exhausted CD8 T cells whose rising pairs the paper shows."""
TABLE_COLUMNS = [
    "condition",
    "source",
    "target",
    "ligand",
    "receptor",
    "interaction_name",
    "interaction_name_2",
    "pathway_name",
    "prob",
    "pval",
    "significant",
]


@dataclass(frozen=True)
class CellChatSettings:
    """CellChat's defaults: computeCommunProb nboot = 100, subsetCommunication thresh = 0.05,
    filterCommunication min.cells = 10, identifyOverExpressedGenes thresh.p = 0.05."""

    groupby: str = "cell_type"
    min_cells: int = 10
    n_perms: int = 100
    pval_threshold: float = 0.05
    overexpressed_only: bool = True
    overexpressed_pval: float = 0.05
    seed: int = 1
    n_jobs: int = 1


def load_contact_resource(path: str | Path) -> pd.DataFrame:
    """Read the CellChatDB contact table; refuse any other annotation (the model would differ)."""
    resource = pd.read_csv(path, sep="\t", dtype=str)
    needed = {
        "interaction_name",
        "ligand",
        "receptor",
        "ligand_genes",
        "receptor_genes",
        "annotation",
    }
    if missing := needed - set(resource.columns):
        raise InputError(f"{path}: missing columns {sorted(missing)}")
    if set(resource["annotation"]) != {CONTACT}:
        raise InputError(f"{path}: expected only {CONTACT!r} pairs (cofactors are not modelled)")
    return resource


def read_labels(path: str | Path, cells: pd.Index) -> pd.Series:
    """The finest label (``subtype``) of each atlas cell from the subclustering's labels table,
    in atlas order; every atlas cell must have a row."""
    table = pd.read_csv(path, sep="\t", dtype=str)
    if missing := {"cell", "subtype"} - set(table.columns):
        raise InputError(f"{path}: missing columns {sorted(missing)}")
    if table["cell"].duplicated().any():
        raise InputError(f"{path}: cell {table['cell'][table['cell'].duplicated()].iloc[0]} twice")
    labels = table.set_index("cell")["subtype"]
    absent = cells.difference(labels.index)
    if len(absent):
        raise InputError(f"{path}: no label for {len(absent)} atlas cells, e.g. {absent[0]}")
    return labels.reindex(cells).fillna(UNASSIGNED)


def merged_groups(labels: pd.Series, merge: Mapping[str, Sequence[str]]) -> pd.Series:
    """Communication group of each cell: its finest label, or the group ``merge`` lists that
    label under (Fig 6 pools neutrophil and macrophage subtypes into their lineage, Fig S4 keeps
    them). Unassigned cells get no group (NaN), so they take part in nothing."""
    rename: dict[str, str] = {}
    for group, members in merge.items():
        for label in members:
            if rename.setdefault(label, group) != group:
                raise InputError(f"label {label} is merged into both {rename[label]} and {group}")
    labels = labels.astype(str)
    return labels.map(lambda label: rename.get(label, label)).where(labels != UNASSIGNED)


def resource_genes(resource: pd.DataFrame) -> list[str]:
    """Every ligand and receptor subunit of the resource."""
    genes = pd.concat([resource["ligand_genes"], resource["receptor_genes"]]).str.split("_")
    return sorted(set(genes.explode()))


def signalling_data(
    adata: ad.AnnData, resource: pd.DataFrame, settings: CellChatSettings
) -> ad.AnnData:
    """Cells of groups with enough cells, genes of the resource: CellChat's ``data.signaling``."""
    sizes = adata.obs[settings.groupby].value_counts()
    kept = sizes.index[sizes >= settings.min_cells]
    genes = adata.var_names.intersection(resource_genes(resource))
    cells = adata.obs[settings.groupby].isin(kept).to_numpy()
    data = adata[cells, genes].copy()
    data.obs[settings.groupby] = data.obs[settings.groupby].astype(str).astype("category")
    return data


def overexpressed_genes(data: ad.AnnData, settings: CellChatSettings) -> set[str]:
    """Genes up in at least one group against the rest (p < threshold, log fold change > 0),
    CellChat's ``identifyOverExpressedGenes`` with its defaults (thresh.pc = thresh.fc = 0)."""
    import scanpy as sc  # here: the comparison job uses this module's other helpers only (1.3 s)

    ranked = sc.tl.rank_genes_groups(
        data, settings.groupby, method="wilcoxon", use_raw=False, copy=True
    )
    table = sc.get.rank_genes_groups_df(ranked, group=None)
    up = table[(table["pvals"] < settings.overexpressed_pval) & (table["logfoldchanges"] > 0)]
    return set(up["names"])


def overexpressed_pairs(resource: pd.DataFrame, genes: set[str]) -> pd.DataFrame:
    """Pairs whose ligand and receptor each have an over-expressed subunit
    (``identifyOverExpressedInteractions`` with variable.both = TRUE)."""

    def hit(column: str) -> pd.Series:
        return resource[column].str.split("_").map(lambda subunits: bool(genes & set(subunits)))

    return resource[hit("ligand_genes") & hit("receptor_genes")]


def communication(
    adata: ad.AnnData, condition: str, resource: pd.DataFrame, settings: CellChatSettings
) -> pd.DataFrame:
    """Communication probability and p-value per pair and sender/receiver in one condition.

    ``adata.X`` holds log1p counts normalised to 1e4 (CellChat's ``data`` slot). Only rows with a
    probability above zero are kept: a zero can never be significant and other conditions read a
    missing row as zero. Fewer than two groups large enough give an empty table (no group to test
    against the rest).
    """
    cells = adata[(adata.obs["condition"] == condition).to_numpy()]
    if cells.n_obs == 0:
        raise InputError(f"no cells of condition {condition!r}")
    data = signalling_data(cells, resource, settings)
    if data.obs[settings.groupby].nunique() < 2:
        return pd.DataFrame(columns=TABLE_COLUMNS)
    pairs = resource
    if settings.overexpressed_only:
        pairs = overexpressed_pairs(resource, overexpressed_genes(data, settings))
    if pairs.empty:
        return pd.DataFrame(columns=TABLE_COLUMNS)
    scores = run_liana(data, pairs, settings)
    return tidy_scores(scores, pairs, condition, settings.pval_threshold)


def run_liana(data: ad.AnnData, pairs: pd.DataFrame, settings: CellChatSettings) -> pd.DataFrame:
    """liana's CellChat method on every pair (expr_prop = 0: CellChat has no such filter).
    liana is imported here: it is slow to import and only this step needs it."""
    import liana

    lr = pairs[["ligand_genes", "receptor_genes"]].set_axis(["ligand", "receptor"], axis=1)
    return liana.mt.cellchat(
        data,
        groupby=settings.groupby,
        resource=lr,
        expr_prop=0.0,
        min_cells=settings.min_cells,
        n_perms=settings.n_perms,
        seed=settings.seed,
        n_jobs=settings.n_jobs,
        use_raw=False,
        inplace=False,
        verbose=False,
    )


def tidy_scores(
    scores: pd.DataFrame, pairs: pd.DataFrame, condition: str, pval_threshold: float
) -> pd.DataFrame:
    """liana's output in CellChat's names (interaction, pathway), one row per scored pair."""
    scored = scores[scores["lr_probs"] > 0].merge(
        pairs,
        left_on=["ligand_complex", "receptor_complex"],
        right_on=["ligand_genes", "receptor_genes"],
        suffixes=("_liana", ""),
    )
    table = scored.assign(
        condition=condition,
        prob=scored["lr_probs"].astype(float),
        pval=scored["cellchat_pvals"].astype(float),
    )
    table["significant"] = table["pval"] < pval_threshold
    return table[TABLE_COLUMNS].sort_values(PAIR_KEY).reset_index(drop=True)


def interaction_totals(table: pd.DataFrame) -> pd.DataFrame:
    """Fig 6A: number and total probability (CellChat's "strength") of significant interactions
    per condition, as CellChat's compareInteractions counts them; a stage with none shows 0."""
    significant = table[table["significant"]]
    totals = significant.groupby("condition", observed=True)["prob"].agg(["size", "sum"])
    totals = totals.reindex(CONDITIONS, fill_value=0)
    return pd.DataFrame(
        {
            "condition": totals.index,
            "n_interactions": totals["size"].astype(int).to_numpy(),
            "strength": totals["sum"].astype(float).to_numpy(),
        }
    )


def group_counts(table: pd.DataFrame, groups: Sequence[str]) -> pd.DataFrame:
    """Fig 6B: significant interactions per sender -> receiver among ``groups``, every pair of
    groups listed (zero where none), so heatmaps of different conditions line up."""
    chosen = table[
        table["significant"] & table["source"].isin(groups) & table["target"].isin(groups)
    ]
    counts = chosen.groupby(["condition", "source", "target"], observed=True).size()
    grid = pd.MultiIndex.from_product(
        [CONDITIONS, list(groups), list(groups)], names=["condition", "source", "target"]
    )
    return counts.reindex(grid, fill_value=0).rename("count").reset_index()


def wide_probabilities(table: pd.DataFrame) -> pd.DataFrame:
    """One row per sender, receiver and pair; prob and pval per condition (0 and 1 where the
    pair was not scored: a group too small, genes not over-expressed, or zero probability)."""
    labels = ["interaction_name_2", "pathway_name", "ligand", "receptor"]

    def spread(values: str, missing: float) -> pd.DataFrame:
        wide = table.pivot_table(index=PAIR_KEY, columns="condition", values=values)
        return wide.reindex(columns=list(CONDITIONS)).fillna(missing).add_prefix(f"{values}_")

    names = table.drop_duplicates(PAIR_KEY).set_index(PAIR_KEY)[labels]
    return names.join(spread("prob", 0.0)).join(spread("pval", 1.0)).reset_index()


def upregulated_pairs(
    table: pd.DataFrame,
    up: str = "MN",
    fold: float = 1.25,
    sources: Sequence[str] | None = None,
    targets: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Fig 6C / 6E: pairs up in ``up``. Rule: significant in ``up`` (p < threshold, prob > 0) and
    prob in ``up`` >= ``fold`` x prob in every other condition, that prob taken whether or not it
    was significant there (zero where not scored). ``sources`` / ``targets`` restrict senders and
    receivers (6E: neutrophils -> macrophages)."""
    wide = wide_probabilities(table)
    significant = table[table["significant"] & (table["condition"] == up)][PAIR_KEY]
    wide = wide.merge(significant, on=PAIR_KEY)
    if sources is not None:
        wide = wide[wide["source"].isin(sources)]
    if targets is not None:
        wide = wide[wide["target"].isin(targets)]
    others = [c for c in CONDITIONS if c != up]
    rises = np.ones(len(wide), dtype=bool)
    for other in others:
        rises &= wide[f"prob_{up}"].to_numpy() >= fold * wide[f"prob_{other}"].to_numpy()
    return wide[rises].sort_values(f"prob_{up}", ascending=False).reset_index(drop=True)


def bubble_data(table: pd.DataFrame, selected: pd.DataFrame) -> pd.DataFrame:
    """Long table for a bubble plot: the selected pairs in every condition (prob 0, p 1 where a
    condition did not score them), as CellChat's netVisual_bubble shows a comparison."""
    wide = wide_probabilities(table).merge(selected[PAIR_KEY], on=PAIR_KEY)
    parts = [
        wide[PAIR_KEY + ["interaction_name_2"]].assign(
            condition=condition, prob=wide[f"prob_{condition}"], pval=wide[f"pval_{condition}"]
        )
        for condition in CONDITIONS
    ]
    columns = ["condition", *PAIR_KEY, "interaction_name_2", "prob", "pval"]
    return pd.concat(parts, ignore_index=True)[columns]


def read_communication(paths: Sequence[str | Path]) -> pd.DataFrame:
    """The per-condition tables of one grouping, stacked. Types are set here because a table
    with no rows (no group large enough in a condition) reads back with no types."""
    tables = [pd.read_csv(path, sep="\t") for path in paths]
    table = pd.concat([t for t in tables if len(t)] or tables[:1], ignore_index=True)
    text = ["condition", "source", "target", "ligand", "receptor", "interaction_name"]
    return table.astype({**dict.fromkeys(text, str), "prob": float, "pval": float}).assign(
        significant=table["significant"].astype(str).eq("True")
    )[TABLE_COLUMNS]


def compare_conditions(
    lineage: pd.DataFrame,
    subtype: pd.DataFrame,
    adata: ad.AnnData,
    merge: Mapping[str, Sequence[str]],
    up_fold: float,
) -> dict[str, pd.DataFrame]:
    """Every table behind Fig 6A-G (``lineage`` grouping) and Fig S4 (``subtype`` grouping).

    ``adata.obs`` holds each cell's group under ``group_lineage`` and ``group_subtype``;
    ``merge`` is the lineage grouping (its ``Neutrophil`` and ``Macrophage`` entries list the
    subtypes S4 shows). "Up in MN" is :func:`upregulated_pairs` with ``up_fold``.
    """
    neutrophils, macrophages = list(merge[NEUTROPHIL]), list(merge[MACROPHAGE])

    def up(table: pd.DataFrame, sources=None, targets=None) -> pd.DataFrame:
        return upregulated_pairs(table, "MN", up_fold, sources=sources, targets=targets)

    def expression(genes_by_group: Mapping[str, Sequence[str]], grouping: str) -> pd.DataFrame:
        return expression_by_condition(adata, genes_by_group, f"group_{grouping}")

    groupings = (("lineage", lineage), ("subtype", subtype))
    totals = [interaction_totals(table).assign(grouping=name) for name, table in groupings]
    up_mn = [up(table).assign(grouping=name) for name, table in groupings]
    return {
        "totals": pd.concat(totals, ignore_index=True),
        "group_counts": group_counts(lineage, FIG6B_GROUPS),
        "subtype_counts": group_counts(subtype, [*neutrophils, *macrophages, EXHAUSTED_T]),
        "up_in_MN": pd.concat(up_mn, ignore_index=True),
        "fig6C_bubbles": bubble_data(lineage, up(lineage, FIG6C_SOURCES, [EXHAUSTED_T])),
        "fig6D_expression": expression(
            {
                "Cd274": [NEUTROPHIL, "Hepatocyte", MACROPHAGE],
                "Cd6": [EXHAUSTED_T],
                "Pdcd1": [EXHAUSTED_T],
            },
            "lineage",
        ),
        "fig6E_bubbles": bubble_data(lineage, up(lineage, [NEUTROPHIL], [MACROPHAGE])),
        "fig6F_expression": expression({"App": [NEUTROPHIL]}, "lineage"),
        "fig6G_expression": expression({"Cd74": [MACROPHAGE]}, "lineage"),
        "figS4A_bubbles": bubble_data(
            subtype, up(subtype, [*neutrophils, *macrophages], [EXHAUSTED_T])
        ),
        "figS4_neutrophil_expression": expression(
            {"Cd274": neutrophils, "App": neutrophils}, "subtype"
        ),
        "figS4D_bubbles": bubble_data(subtype, up(subtype, neutrophils, macrophages)),
        "figS4_macrophage_expression": expression(
            {"Cd74": macrophages, "Cd274": macrophages}, "subtype"
        ),
    }


def expression_by_condition(
    adata: ad.AnnData, genes_by_group: Mapping[str, Sequence[str]], groupby: str
) -> pd.DataFrame:
    """Fig 6D/F/G, S4: per gene, group and condition the mean of X (log1p normalised) and the
    fraction of cells with a count above zero; ``genes_by_group`` maps a gene to its groups.
    Rows follow the order asked for (the panel's order). A group the labels lack (a small
    subtype the subclustering did not find) is left out with a warning, not an error."""
    groups_of_cells = adata.obs[groupby].astype(str).to_numpy()
    conditions = adata.obs["condition"].astype(str).to_numpy()
    rows = []
    for gene, groups in genes_by_group.items():
        if gene not in adata.var_names:
            raise InputError(f"gene {gene} is not in the data")
        if absent := [g for g in groups if g not in set(groups_of_cells)]:
            log.warning("no cells labelled %s in obs[%r]; left out for %s", absent, groupby, gene)
        column = adata.var_names.get_loc(gene)
        frame = pd.DataFrame(
            {
                "group": groups_of_cells,
                "condition": conditions,
                "expr": gene_vector(adata.X, column),
                "detected": gene_vector(adata.layers["counts"], column) > 0,
            }
        )
        stats = (
            frame[frame["group"].isin(groups)]
            .groupby(["group", "condition"])
            .agg(
                mean_expression=("expr", "mean"),
                fraction_expressing=("detected", "mean"),
                n_cells=("expr", "size"),
            )
            .reset_index()
        )
        stats["group"] = pd.Categorical(stats["group"], categories=list(groups), ordered=True)
        stats["condition"] = pd.Categorical(stats["condition"], categories=CONDITIONS)
        rows.append(stats.sort_values(["group", "condition"]).assign(gene=gene))
    columns = ["gene", "group", "condition", "mean_expression", "fraction_expressing", "n_cells"]
    table = pd.concat([r.astype({"group": str, "condition": str}) for r in rows])
    return table[columns].reset_index(drop=True)


def gene_vector(matrix, index: int) -> np.ndarray:
    """One gene's values as a dense vector, whatever the storage."""
    values = matrix[:, index]
    return np.asarray(values.toarray() if sp.issparse(values) else values).ravel()
