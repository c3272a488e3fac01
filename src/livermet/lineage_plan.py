"""Which within-lineage DE tables and enrichments the workflow makes (config ``lineage_de`` and
``enrichment``), checked when the workflow is parsed.

Light on purpose (no scanpy, no gseapy): ``workflow/rules/lineage_de.smk`` imports it to list its
targets, so a misspelt lineage or subtype (checked against the lineage's marker file), a subtype
compared with itself or an enrichment of a table that is not configured stops the run at once with
a message naming the setting.

Table paths (stems under ``results/lineage_de/``, also under ``results/enrichment/<collection>/``):

* ``<lineage>/<group>_vs_<reference>``: two subtypes of a lineage (Fig 4F, 4J, S2A-F);
* ``<lineage>/<subtype>/<contrast>``: two conditions within one subtype (Fig 5D).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import yaml

from livermet.errors import InputError


@dataclass(frozen=True)
class SubtypeComparison:
    """DE of subtype ``group`` against subtype ``reference`` within ``lineage``'s subset."""

    lineage: str
    group: str
    reference: str

    @property
    def stem(self) -> str:
        return f"{self.lineage}/{self.group}_vs_{self.reference}"


@dataclass(frozen=True)
class ConditionComparison:
    """DE between the conditions of ``contrast`` (``<group>_vs_<ref>``) within one subtype."""

    lineage: str
    subtype: str
    contrast: str

    @property
    def stem(self) -> str:
        return f"{self.lineage}/{self.subtype}/{self.contrast}"


def _check_lineage(lineage: str, lineages: Iterable[str], where: str) -> None:
    known = list(lineages)
    if lineage not in known:
        raise InputError(
            f"config {where}: lineage {lineage!r} is not a subset of subsets.lineages "
            f"({', '.join(known)})"
        )


def subtype_names(markers: str | os.PathLike) -> list[str]:
    """The subtypes a lineage's marker file names (the labels its subclustering can give)."""
    try:
        with open(markers) as handle:
            return list(yaml.safe_load(handle) or {})
    except FileNotFoundError:
        raise InputError(f"{markers}: marker file not found (config subsets.lineages)") from None


def _check_subtypes(
    names: Iterable[str], lineage: str, known: Mapping[str, Iterable[str]] | None, where: str
) -> None:
    """Each subtype is one the lineage's marker file names (when ``known`` is given)."""
    if known is None:
        return
    allowed = list(known[lineage])
    for name in names:
        if name not in allowed:
            raise InputError(
                f"config {where}: {lineage} has no subtype {name!r} in its marker file "
                f"({', '.join(allowed)})"
            )


def subtype_comparisons(
    section: Mapping, lineages: Iterable[str], known: Mapping[str, Iterable[str]] | None = None
) -> list[SubtypeComparison]:
    """``lineage_de.subtype_comparisons`` as comparisons, in config order without repeats.

    ``known``: lineage -> the subtypes its marker file names (:func:`subtype_names`).
    """
    comparisons = []
    for i, entry in enumerate(section.get("subtype_comparisons") or []):
        where = f"lineage_de.subtype_comparisons[{i}]"
        _check_lineage(entry["lineage"], lineages, where)
        if entry["group"] == entry["reference"]:
            raise InputError(f"config {where}: subtype {entry['group']!r} is compared with itself")
        _check_subtypes([entry["group"], entry["reference"]], entry["lineage"], known, where)
        comparison = SubtypeComparison(entry["lineage"], entry["group"], entry["reference"])
        if comparison not in comparisons:
            comparisons.append(comparison)
    return comparisons


def condition_comparisons(
    section: Mapping, lineages: Iterable[str], known: Mapping[str, Iterable[str]] | None = None
) -> list[ConditionComparison]:
    """``lineage_de.condition_comparisons`` expanded to one comparison per subtype and contrast."""
    comparisons = []
    for i, entry in enumerate(section.get("condition_comparisons") or []):
        where = f"lineage_de.condition_comparisons[{i}]"
        _check_lineage(entry["lineage"], lineages, where)
        _check_subtypes(entry["subtypes"], entry["lineage"], known, where)
        for subtype in entry["subtypes"]:
            for contrast in entry["contrasts"]:
                comparison = ConditionComparison(entry["lineage"], subtype, contrast)
                if comparison not in comparisons:
                    comparisons.append(comparison)
    return comparisons


def enrichment_stems(enrichment: Mapping, de_stems: Iterable[str]) -> list[str]:
    """``enrichment.comparisons``: each must name a DE table that ``lineage_de`` configures."""
    known = list(de_stems)
    for stem in enrichment.get("comparisons") or []:
        if stem not in known:
            raise InputError(
                f"config enrichment.comparisons: {stem!r} is not a DE table of lineage_de "
                f"(configured: {', '.join(known) or 'none'})"
            )
    return list(dict.fromkeys(enrichment.get("comparisons") or []))


def panel_collections(enrichment: Mapping) -> dict[str, str]:
    """``enrichment.panels`` (bubble-plot panel -> collection), each a configured collection."""
    collections = enrichment["collections"]
    panels = dict(enrichment.get("panels") or {})
    for panel, collection in panels.items():
        if collection not in collections:
            raise InputError(
                f"config enrichment.panels.{panel}: collection {collection!r} is not in "
                f"enrichment.collections ({', '.join(collections)})"
            )
    return panels
