"""The reproduction scorecard: each quantitative claim of the paper checked against stage outputs.

The claims live in a data file (``resources/claims.yaml``), not in code: each names its paper
panel, its text, a *check kind* (a function of :data:`CHECKS`), the stage output it reads (a name
of the workflow's ``FIGURE_INPUTS`` or a path under ``results/``) and the check's parameters.
:func:`evaluate_claims` runs every check and writes one row per claim with the statistic computed,
its value, the rule it was held to and a verdict:

- ``reproduced``: the statistic meets the rule;
- ``not reproduced``: it does not (including a label, gene or term the pipeline never produced);
- ``not testable on these inputs``: the run does not produce the claim's input (a stage that is
  off, or data this configuration lacks), or the table lacks a column the check needs; the reason
  says which.

The check kinds are generic on purpose (column names are parameters with the project's defaults),
so a claim on a table whose columns change is fixed in the data file, not here.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from livermet import CONDITIONS
from livermet.errors import InputError

REPRODUCED = "reproduced"
NOT_REPRODUCED = "not reproduced"
NOT_TESTABLE = "not testable on these inputs"
COLUMNS = (
    "claim_id",
    "panel",
    "claim",
    "check",
    "input",
    "statistic",
    "value",
    "rule",
    "verdict",
    "reason",
)
PANEL_PATTERN = re.compile(r"^fig(S?\d+)[A-Z]*$")


@dataclass(frozen=True)
class Claim:
    """One claim of the paper and how to check it (a row of the claims file)."""

    id: str
    panel: str
    claim: str
    check: str
    input: str
    params: dict = field(default_factory=dict)
    planted: bool = True
    """Whether the demo study plants what the claim says (tests expect "reproduced" there)."""


@dataclass(frozen=True)
class Outcome:
    """What a check computed: the statistic, its value, the rule applied and whether it held."""

    statistic: str
    value: str
    rule: str
    reproduced: bool


class NotTestable(Exception):
    """The input exists but cannot answer the claim (e.g. a column the check needs is absent)."""


# --- helpers shared by the checks ----------------------------------------------------------------
def _fmt(number: float) -> str:
    return "nan" if pd.isna(number) else f"{number:.3g}"


def _as_list(value) -> list:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def _need_columns(table: pd.DataFrame, *columns: str) -> None:
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise NotTestable(f"the table has no column {', '.join(map(repr, missing))}")


def _select(table: pd.DataFrame, where: Mapping | None) -> pd.DataFrame:
    """Rows whose ``column`` equals the value (or one of the values) given for it in ``where``;
    values are compared as text, so numeric cluster ids and labels both work."""
    where = where or {}
    _need_columns(table, *where)
    keep = np.ones(len(table), dtype=bool)
    for column, values in where.items():
        keep &= table[column].astype(str).isin([str(v) for v in _as_list(values)]).to_numpy()
    return table[keep]


def _describe_where(where: Mapping | None) -> str:
    if not where:
        return ""
    parts = [f"{col} = {'/'.join(map(str, _as_list(v)))}" for col, v in where.items()]
    return f" where {', '.join(parts)}"


def _group_stat(
    table: pd.DataFrame, by: str, value: str, stat: str, where: Mapping | None
) -> pd.Series:
    """``stat`` (mean, median or sum) of ``value`` per level of ``by`` over the selected rows."""
    if stat not in {"mean", "median", "sum"}:
        raise InputError(f"statistic {stat!r} unknown (mean, median or sum)")
    _need_columns(table, by, value)
    rows = _select(table, where)
    values = pd.to_numeric(rows[value], errors="coerce")
    return values.groupby(rows[by].astype(str)).agg(stat)


# --- check kinds ---------------------------------------------------------------------------------
def trend(
    table: pd.DataFrame,
    direction: str = "up",
    order: Sequence[str] = CONDITIONS,
    by: str = "condition",
    value: str = "proportion",
    where: Mapping | None = None,
    stat: str = "mean",
    min_fold: float | None = None,
    min_change: float | None = None,
) -> Outcome:
    """The ``stat`` of ``value`` per level of ``by`` moves strictly in ``direction`` (up or down)
    along ``order`` (e.g. a share rising control < PMN < MN, or N3 before N1 in pseudotime), and
    optionally the last level differs from the first by ``min_fold`` (ratio) / ``min_change``."""
    if direction not in {"up", "down"}:
        raise InputError(f"trend direction {direction!r} unknown (up or down)")
    levels = [str(level) for level in order]
    stats = _group_stat(table, by, value, stat, where)
    statistic = f"{stat} {value} by {by}{_describe_where(where)}"
    sign = "<" if direction == "up" else ">"
    rule = f" {sign} ".join(levels)
    first, last = levels[0], levels[-1]
    if min_fold is not None:
        high, low = (last, first) if direction == "up" else (first, last)
        rule += f"; {high}/{low} >= {_fmt(min_fold)}"
    if min_change is not None:
        rule += f"; |{last} - {first}| >= {_fmt(min_change)}"
    missing = [level for level in levels if level not in stats.index or pd.isna(stats[level])]
    if missing:
        return Outcome(statistic, f"no rows for {', '.join(missing)}", rule, False)
    series = stats[levels].astype(float)
    value_text = "; ".join(f"{level} {_fmt(series[level])}" for level in levels)
    steps = np.diff(series.to_numpy())
    held = bool(np.all(steps > 0) if direction == "up" else np.all(steps < 0))
    if min_fold is not None:
        high, low = (last, first) if direction == "up" else (first, last)
        held &= _ratio(series[high], series[low]) >= min_fold
    if min_change is not None:
        held &= abs(series[last] - series[first]) >= min_change
    return Outcome(statistic, value_text, rule, held)


def _ratio(numerator: float, denominator: float) -> float:
    if denominator == 0:
        return np.inf if numerator > 0 else 1.0
    return numerator / denominator


def flat(
    table: pd.DataFrame,
    max_fold: float,
    order: Sequence[str] = CONDITIONS,
    by: str = "condition",
    value: str = "proportion",
    where: Mapping | None = None,
    stat: str = "mean",
) -> Outcome:
    """No change: the largest ``stat`` over the levels of ``order`` is at most ``max_fold`` times
    the smallest (e.g. the hepatocyte share is the same in every condition)."""
    levels = [str(level) for level in order]
    stats = _group_stat(table, by, value, stat, where)
    statistic = f"{stat} {value} by {by}{_describe_where(where)}"
    rule = f"max/min over {', '.join(levels)} <= {_fmt(max_fold)}"
    missing = [level for level in levels if level not in stats.index]
    if missing:
        return Outcome(statistic, f"no rows for {', '.join(missing)}", rule, False)
    series = stats[levels].astype(float)
    fold = _ratio(series.max(), series.min())
    value_text = "; ".join(f"{level} {_fmt(series[level])}" for level in levels)
    return Outcome(statistic, f"{value_text} (fold {_fmt(fold)})", rule, bool(fold <= max_fold))


def present_only_in(
    table: pd.DataFrame,
    present: Sequence[str],
    by: str = "condition",
    value: str = "proportion",
    where: Mapping | None = None,
    stat: str = "mean",
    max_absent: float = 0.0,
) -> Outcome:
    """``stat`` of ``value`` is above zero in the ``present`` levels and at most ``max_absent`` in
    every other level (e.g. tumour cells in MN livers only)."""
    stats = _group_stat(table, by, value, stat, where).astype(float)
    present = [str(level) for level in _as_list(present)]
    statistic = f"{stat} {value} by {by}{_describe_where(where)}"
    rule = f"> 0 in {', '.join(present)}; <= {_fmt(max_absent)} elsewhere"
    if stats.empty:
        return Outcome(statistic, "no rows", rule, False)
    value_text = "; ".join(f"{level} {_fmt(stats[level])}" for level in stats.index)
    in_present = stats.reindex(present)
    others = stats.drop(present, errors="ignore")
    held = bool((in_present > 0).all() and (others <= max_absent).all())
    return Outcome(statistic, value_text, rule, held)


def largest_change(
    table: pd.DataFrame,
    expected: str,
    label: str,
    start: str = "control",
    end: str = "MN",
    by: str = "condition",
    value: str = "proportion",
    where: Mapping | None = None,
    measure: str = "difference",
) -> Outcome:
    """Among the labels of column ``label``, ``expected`` has the largest rise of the mean of
    ``value`` from ``start`` to ``end`` (``measure``: difference or fold)."""
    if measure not in {"difference", "fold"}:
        raise InputError(f"largest_change measure {measure!r} unknown (difference or fold)")
    _need_columns(table, label, by, value)
    rows = _select(table, where)
    means = (
        pd.to_numeric(rows[value], errors="coerce")
        .groupby([rows[label].astype(str), rows[by].astype(str)])
        .mean()
        .unstack()
    )
    statistic = f"{measure} of mean {value} {start} -> {end} per {label}{_describe_where(where)}"
    rule = f"largest for {expected}"
    if start not in means.columns or end not in means.columns:
        return Outcome(statistic, f"no rows for {start} or {end}", rule, False)
    if measure == "difference":
        change = means[end] - means[start]
    else:
        change = pd.Series(
            [_ratio(e, s) for e, s in zip(means[end], means[start], strict=True)],
            index=means.index,
        )
    change = change.dropna().sort_values(ascending=False)
    value_text = "; ".join(f"{name} {_fmt(delta)}" for name, delta in change.head(3).items())
    held = bool(len(change) > 0 and change.index[0] == str(expected))
    return Outcome(statistic, value_text, rule, held)


def highest(
    table: pd.DataFrame,
    expected: str | Sequence[str],
    by: str,
    value: str,
    where: Mapping | None = None,
    stat: str = "mean",
) -> Outcome:
    """The level of ``by`` with the highest ``stat`` of ``value`` is ``expected`` (or one of
    them): e.g. N1 has the highest MDSC score among neutrophil subtypes."""
    stats = _group_stat(table, by, value, stat, where).dropna().sort_values(ascending=False)
    expected = [str(e) for e in _as_list(expected)]
    statistic = f"{stat} {value} by {by}{_describe_where(where)}"
    rule = f"highest in {' or '.join(expected)}"
    if stats.empty:
        return Outcome(statistic, "no rows", rule, False)
    value_text = "; ".join(f"{name} {_fmt(v)}" for name, v in stats.head(3).items())
    return Outcome(statistic, value_text, rule, bool(stats.index[0] in expected))


def labels_present(
    table: pd.DataFrame,
    labels: Sequence[str],
    column: str,
    count: str | None = "n_cells",
    min_count: float = 1,
    where: Mapping | None = None,
) -> Outcome:
    """Every label in ``labels`` occurs in ``column`` with a total ``count`` (or number of rows,
    without ``count``) of at least ``min_count``: e.g. the eight major types are all found."""
    _need_columns(table, column, *([count] if count else []))
    rows = _select(table, where)
    if count:
        totals = pd.to_numeric(rows[count], errors="coerce").groupby(rows[column].astype(str)).sum()
    else:
        totals = rows[column].astype(str).value_counts()
    found = [label for label in labels if totals.get(str(label), 0) >= min_count]
    missing = [label for label in labels if label not in found]
    statistic = f"labels of {column} with {count or 'rows'} >= {_fmt(min_count)}"
    value_text = f"{len(found)} of {len(labels)} found"
    if missing:
        value_text += f"; missing {', '.join(map(str, missing))}"
    return Outcome(statistic, value_text, f"all {len(labels)} present", not missing)


def de_genes(
    table: pd.DataFrame,
    genes: Sequence[str],
    direction: str = "up",
    top: int | None = None,
    where: Mapping | None = None,
    p: str = "pval",
    alpha: float = 0.05,
    lfc: str = "log2fc",
    min_lfc: float = 0.0,
    gene: str = "gene",
) -> Outcome:
    """Genes of a DE table: ``up`` / ``down``: every gene is significant (``p`` < ``alpha``,
    ``lfc`` beyond ``min_lfc``) in that direction and, with ``top``, among the first ``top`` such
    genes in FindMarkers order (p-value, then the larger fold change), as the paper's volcano
    labels them; ``not_up``: no gene is significantly up (e.g. no further rise MN vs PMN)."""
    if direction not in {"up", "down", "not_up"}:
        raise InputError(f"de_genes direction {direction!r} unknown (up, down or not_up)")
    _need_columns(table, gene, p, lfc)
    rows = _select(table, where).drop_duplicates(gene)
    pvals = pd.to_numeric(rows[p], errors="coerce")
    folds = pd.to_numeric(rows[lfc], errors="coerce")
    sign = -1 if direction == "down" else 1
    significant = rows[(pvals < alpha) & (sign * folds > min_lfc)].assign(_p=pvals, _fold=folds)
    ranked = significant.sort_values(["_p", "_fold", gene], ascending=[True, sign < 0, True])
    rank = {name: i + 1 for i, name in enumerate(ranked[gene].astype(str))}
    word = "down" if direction == "down" else "up"
    criterion = f"{p} < {_fmt(alpha)}, {lfc} {'<' if sign < 0 else '>'} {_fmt(sign * min_lfc)}"
    statistic = f"rank among significant {word} genes ({criterion}){_describe_where(where)}"
    value_text = "; ".join(f"{g} {'#' + str(rank[g]) if g in rank else '-'}" for g in genes)
    if direction == "not_up":
        held = not any(g in rank for g in genes)
        return Outcome(statistic, value_text, f"none of {len(genes)} genes up", held)
    held = all(g in rank and (top is None or rank[g] <= top) for g in genes)
    where_text = f"in the top {top} {word}" if top is not None else f"significant {word}"
    return Outcome(statistic, value_text, f"all {len(genes)} genes {where_text}", held)


def nes_sign(
    table: pd.DataFrame,
    terms: Mapping[str, str],
    term: str = "term",
    nes: str = "nes",
    fdr: str = "fdr",
    max_fdr: float | None = None,
    where: Mapping | None = None,
) -> Outcome:
    """Each gene set of ``terms`` ({set: up or down}) has a normalised enrichment score of that
    sign in a GSEA table (and, with ``max_fdr``, an FDR at most that)."""
    _need_columns(table, term, nes, *([fdr] if max_fdr is not None else []))
    rows = _select(table, where).drop_duplicates(term).set_index(term)
    parts, held = [], True
    for name, direction in terms.items():
        if direction not in {"up", "down"}:
            raise InputError(f"nes_sign direction {direction!r} for {name} unknown (up or down)")
        if name not in rows.index:
            parts.append(f"{name} not tested")
            held = False
            continue
        score = float(rows.at[name, nes])
        held &= score > 0 if direction == "up" else score < 0
        text = f"{name} NES {_fmt(score)}"
        if fdr in rows.columns:
            text += f" (FDR {_fmt(float(rows.at[name, fdr]))})"
        if max_fdr is not None:
            held &= float(rows.at[name, fdr]) <= max_fdr
        parts.append(text)
    rule = "; ".join(f"{name} NES {'> 0' if d == 'up' else '< 0'}" for name, d in terms.items())
    if max_fdr is not None:
        rule += f"; FDR <= {_fmt(max_fdr)}"
    return Outcome(f"GSEA NES{_describe_where(where)}", "; ".join(parts), rule, bool(held))


def cluster_marker(
    table: pd.DataFrame,
    groups: str | Sequence[str],
    genes: Sequence[str],
    top: int = 10,
    group: str = "group",
    gene: str = "gene",
    rank: str = "scores",
) -> Outcome:
    """In a marker table, each of ``groups`` (e.g. the subtype named N1) has every gene of
    ``genes`` among its ``top`` markers ranked by ``rank`` (descending)."""
    _need_columns(table, group, gene, rank)
    parts, held = [], True
    for name in _as_list(groups):
        rows = table[table[group].astype(str) == str(name)]
        ordered = rows.assign(_r=pd.to_numeric(rows[rank], errors="coerce")).sort_values(
            "_r", ascending=False, kind="stable"
        )
        positions = {g: i + 1 for i, g in enumerate(ordered[gene].astype(str))}
        for g in genes:
            held &= positions.get(g, np.inf) <= top
        if rows.empty:
            parts.append(f"{name}: no markers")
            continue
        found = [f"{g} #{positions[g]}" if g in positions else f"{g} -" for g in genes]
        parts.append(f"{name}: {', '.join(found)}")
    statistic = f"rank of the genes among the markers of the group (by {rank})"
    rule = f"every gene in the top {top} of {', '.join(map(str, _as_list(groups)))}"
    return Outcome(statistic, "; ".join(parts), rule, bool(held))


def hazard(
    table: pd.DataFrame,
    where: Mapping,
    expect: str = "worse",
    hr: str = "hr",
    p: str = "logrank_p",
    alpha: float = 0.05,
) -> Outcome:
    """A survival row (high vs low group): ``worse``: hazard ratio > 1 and ``p`` < ``alpha``;
    ``better``: HR < 1 and p < alpha; ``none``: p >= alpha (no association)."""
    if expect not in {"worse", "better", "none"}:
        raise InputError(f"hazard expect {expect!r} unknown (worse, better or none)")
    _need_columns(table, hr, p)
    rows = _select(table, where)
    statistic = f"Cox HR high vs low and {p}{_describe_where(where)}"
    rule = {
        "worse": f"HR > 1 and {p} < {_fmt(alpha)}",
        "better": f"HR < 1 and {p} < {_fmt(alpha)}",
        "none": f"{p} >= {_fmt(alpha)}",
    }[expect]
    if len(rows) != 1:
        return Outcome(statistic, f"{len(rows)} rows match (need 1)", rule, False)
    ratio, pvalue = float(rows[hr].iloc[0]), float(rows[p].iloc[0])
    held = {
        "worse": ratio > 1 and pvalue < alpha,
        "better": ratio < 1 and pvalue < alpha,
        "none": pvalue >= alpha,
    }[expect]
    return Outcome(statistic, f"HR {_fmt(ratio)}, p {_fmt(pvalue)}", rule, bool(held))


def rows(
    table: pd.DataFrame,
    require: Sequence[str] = (),
    where: Mapping | None = None,
    min_rows: int = 1,
    how: str = "all",
) -> Outcome:
    """The generic check: the rows selected by ``where`` (at least ``min_rows``) satisfy every
    expression of ``require`` (pandas ``DataFrame.eval`` over the columns, e.g.
    ``"pval_MN < 0.05"`` or ``"prob_MN > prob_control"``), in ``all`` rows or ``any`` row."""
    if how not in {"all", "any"}:
        raise InputError(f"rows how {how!r} unknown (all or any)")
    selected = _select(table, where)
    require = _as_list(require)
    used = [c for c in selected.columns if any(_mentions(e, c) for e in require)]
    statistic = f"{', '.join(used) or 'rows'}{_describe_where(where)}"
    rule = f">= {min_rows} rows" + (f", {how} with {' and '.join(require)}" if require else "")
    if len(selected) < min_rows:
        return Outcome(statistic, f"{len(selected)} rows match", rule, False)
    try:
        passed = np.ones(len(selected), dtype=bool)
        for expression in require:
            passed &= selected.eval(expression).to_numpy(dtype=bool)
    except (pd.errors.UndefinedVariableError, KeyError) as err:
        raise NotTestable(f"cannot evaluate {require}: {err}") from err
    held = bool(passed.all() if how == "all" else passed.any())
    keys = [c for c in (where or {}) if len(_as_list(where[c])) > 1]
    if not require:
        return Outcome(statistic, f"{len(selected)} rows", rule, held)
    shown = selected[keys + used].head(6)
    value_text = " | ".join(
        ", ".join(f"{c} {_fmt(v) if isinstance(v, int | float) else v}" for c, v in row.items())
        for _, row in shown.iterrows()
    )
    return Outcome(statistic, f"{passed.sum()} of {len(selected)} pass: {value_text}", rule, held)


def _mentions(expression: str, column: str) -> bool:
    return re.search(rf"\b{re.escape(column)}\b", expression) is not None


CHECKS: dict[str, Callable[..., Outcome]] = {
    check.__name__: check
    for check in (
        trend,
        flat,
        present_only_in,
        largest_change,
        highest,
        labels_present,
        de_genes,
        nes_sign,
        cluster_marker,
        hazard,
        rows,
    )
}
"""Check kinds by name; each takes the input table and the claim's parameters."""


# --- claims file ---------------------------------------------------------------------------------
def load_claims(path: str | Path) -> list[Claim]:
    """Read and validate the claims file: unique ids, a paper panel name, a known check kind whose
    parameters all exist (so a typo fails here, not as a wrong verdict)."""
    data = yaml.safe_load(Path(path).read_text())
    entries = data.get("claims") if isinstance(data, dict) else None
    if not isinstance(entries, list) or not entries:
        raise InputError(f"{path}: expected a non-empty list under 'claims'")
    claims, seen = [], set()
    for number, entry in enumerate(entries, start=1):
        claim = _parse_claim(entry, f"{path}: claim {number}")
        if claim.id in seen:
            raise InputError(f"{path}: claim id {claim.id!r} appears twice")
        seen.add(claim.id)
        claims.append(claim)
    return claims


def _parse_claim(entry, where: str) -> Claim:
    if not isinstance(entry, dict):
        raise InputError(f"{where}: expected a mapping")
    required = {"id", "panel", "claim", "check", "input"}
    if missing := required - set(entry):
        raise InputError(f"{where}: missing {', '.join(sorted(missing))}")
    if unknown := set(entry) - required - {"params", "planted"}:
        raise InputError(f"{where} ({entry['id']}): unknown field(s) {', '.join(sorted(unknown))}")
    claim = Claim(
        id=str(entry["id"]),
        panel=str(entry["panel"]),
        claim=str(entry["claim"]),
        check=str(entry["check"]),
        input=str(entry["input"]),
        params=dict(entry.get("params") or {}),
        planted=bool(entry.get("planted", True)),
    )
    if not PANEL_PATTERN.match(claim.panel):
        raise InputError(f"{where} ({claim.id}): panel {claim.panel!r} is not like fig1G or figS2K")
    if claim.check not in CHECKS:
        raise InputError(
            f"{where} ({claim.id}): check {claim.check!r} unknown; known: {', '.join(CHECKS)}"
        )
    try:
        inspect.signature(CHECKS[claim.check]).bind(pd.DataFrame(), **claim.params)
    except TypeError as err:
        raise InputError(f"{where} ({claim.id}): parameters of {claim.check}: {err}") from err
    return claim


def input_path(name: str, named: Mapping[str, str]) -> str | None:
    """The file of a claim input: a stage-output name (``FIGURE_INPUTS``) or a path as given."""
    if name in named:
        return str(named[name])
    return name if "/" in name else None


def claim_input_paths(
    claims: str | Path | Iterable[Claim],
    named: Mapping[str, str],
    produces: Callable[[str], bool],
) -> dict[str, str]:
    """Input name -> file for the claims whose input this run produces: a stage-output name of
    ``named`` (the workflow's ``FIGURE_INPUTS``) or a path for which ``produces`` is true (the
    workflow has a rule that makes it). The scorecard rule takes exactly these as inputs."""
    if isinstance(claims, str | Path):
        claims = load_claims(claims)
    paths = {}
    for claim in claims:
        path = input_path(claim.input, named)
        if path is not None and (claim.input in named or produces(path)):
            paths[claim.input] = path
    return paths


# --- evaluation ----------------------------------------------------------------------------------
def evaluate_claim(claim: Claim, table: pd.DataFrame | None, reason: str = "") -> dict:
    """One scorecard row; ``table`` None means the input is not produced (``reason`` says why)."""
    row = {
        "claim_id": claim.id,
        "panel": claim.panel,
        "claim": claim.claim,
        "check": claim.check,
        "input": claim.input,
        "statistic": "",
        "value": "",
        "rule": "",
        "verdict": NOT_TESTABLE,
        "reason": reason,
    }
    if table is None:
        return row
    try:
        outcome = CHECKS[claim.check](table, **claim.params)
    except NotTestable as err:
        return row | {"reason": str(err)}
    return row | {
        "statistic": outcome.statistic,
        "value": outcome.value,
        "rule": outcome.rule,
        "verdict": REPRODUCED if outcome.reproduced else NOT_REPRODUCED,
    }


def evaluate_claims(claims: Sequence[Claim], paths: Mapping[str, str]) -> pd.DataFrame:
    """The scorecard: one row per claim (:data:`COLUMNS`), in the order of the claims file.

    ``paths`` maps claim inputs to the files this run produced; any other input makes its claims
    "not testable on these inputs". Each table is read once.
    """
    tables: dict[str, pd.DataFrame | None] = {}
    records = []
    for claim in claims:
        path = paths.get(claim.input)
        if path is None:
            records.append(evaluate_claim(claim, None, f"this run does not produce {claim.input}"))
            continue
        if claim.input not in tables:
            tables[claim.input] = _read_input(path)
        table = tables[claim.input]
        reason = "" if table is not None else f"{path} is not a tab-separated table"
        record = evaluate_claim(claim, table, reason)
        if record["verdict"] == NOT_TESTABLE and table is not None:
            record["reason"] = f"{path}: {record['reason']}"
        records.append(record)
    return pd.DataFrame(records, columns=list(COLUMNS))


def _read_input(path: str) -> pd.DataFrame | None:
    from livermet.io import read_table

    if not re.search(r"\.(tsv|txt)(\.gz)?$", path):
        return None
    return read_table(path)
