"""A multiple-choice task scored by log-likelihood (acc, acc_norm, calibration): assay run --task THIS:science."""
import assay


@assay.task
def science():
    """Eight science questions; the data file lies in examples/tasks/."""
    return assay.choice(dataset="../tasks/science_mc.jsonl", prompt="{{ question }}", choices="choices",
                        target="answer")
