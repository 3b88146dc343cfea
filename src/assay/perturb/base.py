"""What a perturbation is: a seeded function from one sample to a changed copy of it.

Text perturbations change the question's text only: `metadata["question"]` when the task keeps it and
it occurs in the input (GSM8K's input also holds eight solved exemplars, which stay as they are),
else the whole input. A perturbation that cannot apply to a sample raises `PerturbationError`.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Callable
from dataclasses import dataclass

from assay.errors import AssayError
from assay.types import Sample


class PerturbationError(AssayError):
    """A perturbation asked of a sample it cannot change (no choices to shuffle, a non-text input)."""


@dataclass(frozen=True)
class Perturbation:
    name: str
    description: str
    # (sample, rng) -> the perturbed sample
    apply: Callable[[Sample, random.Random], Sample]
    # Needs the sample's choices (and an integer target).
    needs_choices: bool = False


def rng_for(seed: int, perturbation: str, sample_id: str) -> random.Random:
    """The one source of randomness of a perturbed sample: same seed, name and id, same result."""
    return random.Random(f"perturb:{seed}:{perturbation}:{sample_id}")


def question_text(sample: Sample) -> str:
    if not isinstance(sample.input, str):
        raise PerturbationError(f"sample {sample.id}: its input is not text ({type(sample.input).__name__})")
    question = sample.metadata.get("question")
    if isinstance(question, str) and question and question in sample.input:
        return question
    return sample.input


def with_question(sample: Sample, new_question: str) -> Sample:
    """The sample with its question text (see `question_text`) replaced; the last occurrence is the
    question (a few-shot prefix comes first)."""
    old = question_text(sample)
    text = str(sample.input)
    at = text.rfind(old)
    new_input = text[:at] + new_question + text[at + len(old):]
    metadata = {**sample.metadata}
    if "question" in metadata and metadata["question"] == old:
        metadata["question"] = new_question
    return dataclasses.replace(sample, input=new_input, metadata=metadata)


def text_perturbation(name: str, description: str,
                      change: Callable[[str, random.Random], str]) -> Perturbation:
    def apply(sample: Sample, rng: random.Random) -> Sample:
        return with_question(sample, change(question_text(sample), rng))
    return Perturbation(name, description, apply)
