"""Snakemake adapter of rules ``download`` and ``download_study_file``: fetch one verified file."""

import logging
import sys

from livermet.download import DownloadSettings, download_file
from livermet.errors import InputError
from livermet.geo import FILELIST, read_filelist
from livermet.io import setup_logging

log = logging.getLogger("livermet.download")


def expected_sizes(source: dict, filelist: str | None, name: str) -> dict[str, int]:
    """Sizes the file must have, by where they come from: the config, GEO's filelist.txt."""
    sizes = {}
    if source["size"] is not None:
        sizes["config"] = source["size"]
    if source["check_filelist"]:
        listed = read_filelist(filelist)
        if name in listed:
            sizes[FILELIST] = listed[name]
        else:
            log.warning("%s is not listed in %s; checking the server's length only", name, filelist)
    return sizes


def main(smk) -> None:
    setup_logging(smk.log[0])
    source = smk.params.source
    output = smk.output[0]
    filelist = smk.input.get("filelist") or None
    try:
        download_file(
            source["url"],
            output,
            smk.params.manifest,
            DownloadSettings.from_config(smk.config.get("download")),
            sizes=expected_sizes(source, filelist, output.rsplit("/", 1)[-1]),
            sha256=source["sha256"],
        )
    except InputError as err:
        log.error("%s", err)
        sys.exit(str(err))


main(snakemake)  # noqa: F821 (injected by Snakemake)
