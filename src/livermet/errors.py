"""Errors that end a rule with one line a user can act on.

Snakemake prints the whole traceback of a failing script; an ``InputError`` carries a message that
names the file, sample or setting and what is wrong, so the last line of the log says it all.
"""


class InputError(ValueError):
    """Bad input (file, sample sheet, setting) found before any output is written."""
