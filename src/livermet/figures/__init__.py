"""Figure panels of the paper: one function per panel, each returning a matplotlib Figure.

:data:`livermet.panels.PANELS` says which function draws a panel and from which stage outputs;
:func:`draw_panel` loads those outputs and calls it.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

from matplotlib.figure import Figure  # noqa: E402

from livermet.panels import PANELS  # noqa: E402


def load_input(path: str | Path):
    """Stage outputs by extension: AnnData, a YAML resource, or a tab-separated table. AnnData is
    read without its layers (the counts), which no panel draws: half of the file (the demo atlas
    of Fig 1F: 0.10 -> 0.05 s cached, 0.34 -> 0.09 s at first read)."""
    path = Path(path)
    if path.suffix == ".h5ad":
        from livermet.io import read_h5ad_without_layers

        return read_h5ad_without_layers(path)
    if path.suffix in {".yaml", ".yml"}:
        import yaml

        return yaml.safe_load(path.read_text())
    from livermet.io import read_table

    return read_table(path)


def draw_panel(panel: str, inputs: dict[str, str | Path]) -> Figure:
    """Load the named inputs of ``panel`` and draw it."""
    spec = PANELS[panel]
    module_name, function_name = spec.draw.split(":")
    draw = getattr(importlib.import_module(f"livermet.figures.{module_name}"), function_name)
    return draw(**{name: load_input(inputs[name]) for name in spec.inputs})
