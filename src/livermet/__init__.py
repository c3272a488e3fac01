"""livermet: reanalysis of Jiang et al. 2025 (Prok2+ neutrophils in CRC liver metastasis).

One module per pipeline stage; the Snakemake scripts under ``workflow/scripts`` are thin adapters
that call into this package.
"""

__version__ = "0.1.0"

# Study stages in their biological order; obs["condition"] is an ordered categorical of these.
CONDITIONS = ("control", "PMN", "MN")

# The `contrast` of a composition test over all conditions at once (the others are pairs); here,
# not in livermet.composition, so that figure jobs read it without importing the limma stack.
OVERALL = "overall"
