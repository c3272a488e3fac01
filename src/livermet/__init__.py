"""livermet: reanalysis of Jiang et al. 2025 (Prok2+ neutrophils in CRC liver metastasis).

One module per pipeline stage; the Snakemake scripts under ``workflow/scripts`` are thin adapters
that call into this package.
"""

__version__ = "0.1.0"

# Study stages in their biological order; obs["condition"] is an ordered categorical of these.
CONDITIONS = ("control", "PMN", "MN")
