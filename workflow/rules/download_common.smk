# Input functions of the download rules (download.smk); other stages use them too:
#   local_input_path(row)            samples-sheet row -> local path of its input (downloads URLs)
#   dataset_file(dataset, role)      path of a dataset's file, e.g. dataset_file("GSE159216", "platform")
#   dataset_setting(dataset, *keys)  a dataset setting, failing with the field's name when unset
import dataclasses

import livermet.download as livermet_download
import livermet.errors

DOWNLOAD_SETTINGS = livermet_download.DownloadSettings.from_config(
    config.get("download")
)


def local_input_path(row):
    """Local path of a samples-sheet row's input: its `path`, or where a URL is downloaded to."""
    return livermet_download.study_local_path(str(row["sample"]), str(row["path"]))


def dataset_file(dataset, role):
    """Path of the file `role` of `dataset` (config datasets.<dataset>.files.<role>)."""
    return livermet_download.raw_path(config.get("datasets"), dataset, role)


def dataset_setting(dataset, *keys):
    """config datasets.<dataset>.<keys...>; an unset placeholder fails naming the field."""
    return livermet_download.require(config.get("datasets"), dataset, *keys)


def _download_source(wildcards):
    return livermet_download.resolve_source(
        config.get("datasets"), wildcards.dataset, wildcards.filename, DOWNLOAD_SETTINGS
    )


def _download_filelist(wildcards):
    """GEO's filelist.txt of the series, for files whose size is checked against it."""
    if _download_source(wildcards).check_filelist:
        return f"resources/raw/{wildcards.dataset}/filelist.txt"
    return []


def _study_source(wildcards):
    sheet = config.get("samples")
    if not sheet:
        raise livermet.errors.InputError(
            "a samples-sheet URL is to be downloaded but config 'samples' is not set"
        )
    source = livermet_download.study_source(sheet, wildcards.sample, wildcards.basename)
    return dataclasses.asdict(source)


def all_dataset_files(wildcards):
    """Every file of config["datasets"] that can be fetched as configured.

    Files whose name or URL is still a placeholder are left out with a warning naming the field,
    so the rest can be fetched (and planned) while those wait for the user.
    """
    datasets = config.get("datasets") or {}
    files = []
    for dataset, entry in datasets.items():
        for spec in (entry.get("files") or {}).values():
            try:
                path = f"resources/raw/{dataset}/{livermet_download.require(datasets, dataset, 'files', _role(entry, spec), 'name')}"
                livermet_download.resolve_source(
                    datasets, dataset, path.rsplit("/", 1)[1], DOWNLOAD_SETTINGS
                )
            except livermet.errors.InputError as err:
                logger.warning(f"not downloadable yet: {err}")
                continue
            files.append(path)
    return files


def _role(entry, spec):
    return next(role for role, other in entry["files"].items() if other is spec)
