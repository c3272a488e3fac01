# Human data sets and the input functions of the human rules (human.smk, demo_human.smk); no
# rules here.
#   HUMAN_DATASETS                 name -> human.datasets entry (configured, plus the demo's)
#   HUMAN_CORRELATION_DATASETS     the names marked `correlations` (Fig 5F-I, S3)
#   HUMAN_DEMO_OUTPUTS             the demo's human files (livermet.demo_human.demo_outputs)
#   HUMAN_SETTINGS                 config["human"] without the data sets (the rules' params)
#   human_dataset_spec(wildcards)  an entry with local paths (downloads resolved)
#   human_dataset_inputs(wildcards)  the files it reads
import livermet.demo_human
import livermet.human_plan

HUMAN_DEMO_FOLDER = "results/demo/human"
HUMAN_DEMO = config["demo"].get("human") if DEMO else None
HUMAN_DEMO_OUTPUTS = (
    livermet.demo_human.demo_outputs(HUMAN_DEMO_FOLDER, HUMAN_DEMO["donors"])
    if HUMAN_DEMO
    else {}
)
HUMAN_DATASETS = {
    **config["human"]["datasets"],
    **(
        livermet.demo_human.demo_datasets(HUMAN_DEMO_FOLDER, HUMAN_DEMO["donors"])
        if HUMAN_DEMO
        else {}
    ),
}
HUMAN_CORRELATION_DATASETS = [
    name for name, spec in HUMAN_DATASETS.items() if spec.get("correlations")
]
HUMAN_DATASET_PATTERN = "|".join(map(re.escape, HUMAN_DATASETS)) or "(?!)"
# The stage's settings without the data sets (so that adding one does not rerun the others).
HUMAN_SETTINGS = {
    key: value for key, value in config["human"].items() if key != "datasets"
}


def human_dataset_spec(wildcards):
    """The data set's entry with every file as a local path (a download's path for
    `dataset` + `role`; a placeholder fails naming the field only when the data set is needed).
    """
    name = wildcards.human_dataset
    return livermet.human_plan.resolve_dataset(name, HUMAN_DATASETS[name], dataset_file)


def human_dataset_inputs(wildcards):
    """Count files and cell metadata of a human data set."""
    return livermet.human_plan.dataset_inputs(human_dataset_spec(wildcards))
