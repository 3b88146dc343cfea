"""`option_shuffle`: the answer choices in a new order (never the original one when there are two or
more distinct choices), the target index moved with its choice."""

from __future__ import annotations

import dataclasses
import random

from assay.perturb.base import Perturbation, PerturbationError
from assay.types import Sample


def shuffle_options(sample: Sample, rng: random.Random) -> Sample:
    choices = list(sample.choices or ())
    if len(choices) < 2:
        raise PerturbationError(f"sample {sample.id}: option_shuffle needs two or more choices")
    if not isinstance(sample.target, int):
        raise PerturbationError(f"sample {sample.id}: option_shuffle needs the target as a choice index, "
                                f"got {sample.target!r}")
    order = list(range(len(choices)))
    if len(set(choices)) > 1:
        while [choices[i] for i in order] == choices:
            rng.shuffle(order)
    shuffled = [choices[i] for i in order]
    return dataclasses.replace(sample, choices=shuffled, target=order.index(sample.target),
                               metadata={**sample.metadata, "choice_order": order})


PERTURBATION = Perturbation("option_shuffle", "the answer choices in another order", shuffle_options,
                            needs_choices=True)
