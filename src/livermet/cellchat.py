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

Known deviations from CellChat R: liana takes a complex's expression as the minimum of its
subunits (CellChat: geometric mean), so complex pairs (71 of 662) score a little lower; p-values
count permutations with a score >= the observed one (CellChat: >), and groups under the
minimum size are dropped before the permutations rather than after.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd
import scanpy as sc
import scipy.sparse as sp

from livermet import CONDITIONS
from livermet.errors import InputError

CONTACT = "Cell-Cell Contact"
PAIR_KEY = ["source", "target", "interaction_name"]
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


def communication_groups(
    obs: pd.DataFrame,
    major: str = "cell_type",
    minor: str = "subtype",
    refine: Sequence[str] | None = None,
) -> pd.Series:
    """Subtype where a cell has one (and, with ``refine``, its major type is listed), else its
    major type: Fig 6 mixes both levels (exhausted CD8 T cells beside hepatocytes, macrophages
    and neutrophils), Fig S4 splits neutrophils and macrophages too."""
    labels = obs[major].astype(str)
    if minor not in obs:
        return labels
    use_minor = obs[minor].notna()
    if refine is not None:
        use_minor &= labels.isin(refine)
    return labels.where(~use_minor, obs[minor].astype(str))


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


def expression_by_condition(
    adata: ad.AnnData, genes_by_group: Mapping[str, Sequence[str]], groupby: str
) -> pd.DataFrame:
    """Fig 6D/F/G: per gene, group and condition the mean of X (log1p normalised) and the
    fraction of cells with a count above zero; ``genes_by_group`` maps a gene to its groups."""
    known = set(adata.obs[groupby].astype(str))
    rows = []
    for gene, groups in genes_by_group.items():
        if gene not in adata.var_names:
            raise InputError(f"gene {gene} is not in the data")
        if unknown := set(groups) - known:
            raise InputError(f"groups {sorted(unknown)} (for {gene}) are not in obs[{groupby!r}]")
        expr = gene_vector(adata.X, adata.var_names.get_loc(gene))
        detected = gene_vector(adata.layers["counts"], adata.var_names.get_loc(gene)) > 0
        frame = pd.DataFrame(
            {
                "group": adata.obs[groupby].astype(str).to_numpy(),
                "condition": adata.obs["condition"].astype(str).to_numpy(),
                "expr": expr,
                "detected": detected,
            }
        )
        frame = frame[frame["group"].isin(groups)]
        stats = frame.groupby(["group", "condition"]).agg(
            mean_expression=("expr", "mean"),
            fraction_expressing=("detected", "mean"),
            n_cells=("expr", "size"),
        )
        rows.append(stats.reset_index().assign(gene=gene))
    table = pd.concat(rows, ignore_index=True)
    table["condition"] = pd.Categorical(table["condition"], categories=CONDITIONS, ordered=True)
    columns = ["gene", "group", "condition", "mean_expression", "fraction_expressing", "n_cells"]
    # genes in the order asked for (the panel's row order), then groups, then stages
    order = {gene: i for i, gene in enumerate(genes_by_group)}
    table = table.sort_values(
        ["gene", "group", "condition"], key=lambda c: c.map(order) if c.name == "gene" else c
    )
    return table[columns].reset_index(drop=True)


def gene_vector(matrix, index: int) -> np.ndarray:
    """One gene's values as a dense vector, whatever the storage."""
    values = matrix[:, index]
    return np.asarray(values.toarray() if sp.issparse(values) else values).ravel()
