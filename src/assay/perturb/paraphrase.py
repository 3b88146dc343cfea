"""`paraphrase`: a generator model (`--generator SPEC`) rewrites each question in other words.

The rewrites are made by a pre-pass: `ParaphraseTask` is an ordinary generation task over the
originals' question texts, run by the ordinary runner (greedy, so its requests are cached like any
other and a rerun sends nothing), stored as its own run; the perturbed task then reads the stored
outputs (`paraphrase_table`). An empty rewrite is not a paraphrase: that item gets no paraphrased
copy, and the count is reported (`n_paraphrase_missing` in the robustness row).
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from typing import Any

from assay.metric_specs import MetricSpec, score
from assay.perturb.base import Perturbation, PerturbationError, question_text, with_question
from assay.tasks.base import Task, TaskBase, TaskContext
from assay.types import GenerateRequest, Request, Response, Sample, Scored

TEMPLATE = ("Rewrite the question below in different words. Keep every number, name and fact, do not answer "
            "it, and write only the rewritten question.\n\nQuestion: {question}\nRewritten question:")
MAX_TOKENS = 256


def clean_rewrite(text: str) -> str:
    return text.strip().strip('"').strip()


class ParaphraseTask(TaskBase):
    """The pre-pass: one greedy generation per original sample, its id the original's."""

    family = "perturb"

    def __init__(self, inner: Task) -> None:
        self.inner = inner
        self.name = f"paraphrase_of:{inner.name}"

    def spec(self) -> dict[str, Any]:
        return {"name": self.name, "inner": self.inner.spec(), "template": TEMPLATE, "max_tokens": MAX_TOKENS}

    def metrics(self) -> Sequence[MetricSpec]:
        return [score("nonempty", primary=True, description="the generator wrote a non-empty rewrite")]

    def size(self, ctx: TaskContext) -> int | None:
        return self.inner.size(ctx)

    def samples(self, ctx: TaskContext) -> Iterator[Sample]:
        for sample in self.inner.samples(ctx):
            yield Sample(id=sample.id, input=question_text(sample))

    def requests(self, sample: Sample) -> Sequence[Request]:
        return [GenerateRequest(prompt=TEMPLATE.format(question=sample.input), until=("\n\n",),
                                max_tokens=MAX_TOKENS)]

    def score(self, sample: Sample, responses: Sequence[Response]) -> Scored:
        text = clean_rewrite(responses[0].text or "")
        return Scored(extracted=text, scores={"nonempty": float(bool(text))})


def paraphrase_perturbation(table: dict[str, str]) -> Perturbation:
    """The perturbation that swaps in the stored rewrite of each sample ({original id: rewrite})."""
    def apply(sample: Sample, rng: random.Random) -> Sample:
        rewrite = table.get(sample.id, "")
        if not rewrite:
            raise PerturbationError(f"sample {sample.id}: the generator wrote no paraphrase")
        return with_question(sample, rewrite)
    return Perturbation("paraphrase", "the question rewritten by a generator model", apply)
