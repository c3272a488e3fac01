"""Helpers that bring up a one-node SLURM cluster for tests/test_slurm.py."""
