"""Two tiny offline tasks that need no data files: two-number arithmetic, generated from the seed.

`arith` exercises the generate path (numeric extraction), `arith_mc` the log-likelihood path
(acc and acc_norm). They are the smoke tests of the pipeline, not benchmarks.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator, Sequence
from typing import Any

from assay.metric_specs import MetricSpec, score
from assay.tasks.base import TaskContext
from assay.tasks.registry import register_task
from assay.types import GenerateRequest, LoglikelihoodRequest, Request, Response, Sample, Scored

DEFAULT_SIZE = 200
_NUMBER = re.compile(r"-?\d+")


def _problems(seed: int, size: int) -> Iterator[tuple[int, int, int]]:
    rng = random.Random(f"arith:{seed}")
    for index in range(size):
        yield index, rng.randint(1, 99), rng.randint(1, 99)


class ArithmeticTask:
    name = "arith"
    family = "builtin"

    def __init__(self, size: int = DEFAULT_SIZE) -> None:
        self.size_ = size

    def spec(self) -> dict[str, Any]:
        return {"name": self.name, "size": self.size_, "template": "What is {a} + {b}? Answer with a number.",
                "max_tokens": 8}

    def run_options(self) -> frozenset[str]:
        return frozenset({"repeats"})

    def size(self, ctx: TaskContext) -> int:
        return self.size_

    def metrics(self) -> Sequence[MetricSpec]:
        return [score("exact_match", primary=True, description="the first number in the output is the sum")]

    def aggregate(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return []

    def samples(self, ctx: TaskContext) -> Iterator[Sample]:
        for index, a, b in _problems(ctx.seed, self.size_):
            yield Sample(id=f"arith-{index}", input=f"What is {a} + {b}? Answer with a number.", target=str(a + b))

    def requests(self, sample: Sample) -> Sequence[Request]:
        return [GenerateRequest(prompt=f"Question: {sample.input}\nAnswer:", until=("\n",), max_tokens=8)]

    def score(self, sample: Sample, responses: Sequence[Response]) -> Scored:
        numbers = _NUMBER.findall(responses[0].text or "")
        if not numbers:
            return Scored(extracted=None, scores={"exact_match": 0.0}, error="unparsable: no number in the output")
        return Scored(extracted=numbers[0], scores={"exact_match": float(numbers[0] == sample.target)})


class ArithmeticChoiceTask(ArithmeticTask):
    name = "arith_mc"

    def samples(self, ctx: TaskContext) -> Iterator[Sample]:
        for index, a, b in _problems(ctx.seed, self.size_):
            right = a + b
            choices = [str(right), str(right + 1), str(right - 10), str(a * b)]
            order = random.Random(f"arith_mc:{ctx.seed}:{index}").sample(range(4), 4)
            shuffled = [choices[i] for i in order]
            yield Sample(id=f"arith_mc-{index}", input=f"What is {a} + {b}?", choices=shuffled,
                         target=shuffled.index(str(right)))

    def requests(self, sample: Sample) -> Sequence[Request]:
        context = f"Question: {sample.input}\nAnswer:"
        return [LoglikelihoodRequest(context=context, continuation=f" {choice}") for choice in sample.choices or ()]

    def run_options(self) -> frozenset[str]:
        # Log-likelihood choices: repeats would send the same requests again.
        return frozenset()

    def metrics(self) -> Sequence[MetricSpec]:
        return [score("acc", primary=True, description="the most likely choice is the sum"),
                score("acc_norm", description="the same, log-probabilities divided by the choice's length in bytes")]

    def score(self, sample: Sample, responses: Sequence[Response]) -> Scored:
        logprobs = [r.logprob if r.logprob is not None else float("-inf") for r in responses]
        choices = list(sample.choices or ())
        normalised = [lp / max(len(c.encode()), 1) for lp, c in zip(logprobs, choices, strict=True)]
        best = max(range(len(logprobs)), key=logprobs.__getitem__)
        best_norm = max(range(len(normalised)), key=normalised.__getitem__)
        return Scored(extracted=choices[best],
                      scores={"acc": float(best == sample.target), "acc_norm": float(best_norm == sample.target)},
                      metadata={"choice_logprobs": logprobs, "target_index": sample.target})


@register_task("arith", family="builtin", description="two-number addition, generated (smoke test, generate path)")
def _arith(variant: str | None) -> ArithmeticTask:
    return ArithmeticTask()


@register_task("arith_mc", family="builtin", description="two-number addition as multiple choice (log-likelihood path)")
def _arith_mc(variant: str | None) -> ArithmeticChoiceTask:
    return ArithmeticChoiceTask()
