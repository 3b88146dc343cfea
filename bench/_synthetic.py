"""A synthetic generate task for harness benchmarks: N short prompts, exact-match scoring against "0"
(what `scripted:zero` answers), so every sample goes through the whole score path."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from assay.metric_specs import MetricSpec, score
from assay.tasks.base import TaskBase, TaskContext
from assay.types import GenerateRequest, Request, Response, Sample, Scored


class SyntheticGenerateTask(TaskBase):
    family = "bench"

    def __init__(self, size: int, name: str = "synthetic_generate") -> None:
        self.size_ = size
        self.name = name

    def spec(self) -> dict[str, Any]:
        return {"name": self.name, "size": self.size_}

    def size(self, ctx: TaskContext) -> int:
        return self.size_

    def samples(self, ctx: TaskContext) -> Iterator[Sample]:
        for index in range(self.size_):
            yield Sample(id=f"syn-{index}", input=f"What is {index} times zero?", target="0")

    def requests(self, sample: Sample) -> Sequence[Request]:
        return [GenerateRequest(prompt=f"Question: {sample.input}\nAnswer:", until=("\n",), max_tokens=4)]

    def metrics(self) -> list[MetricSpec]:
        return [score("exact_match", primary=True)]

    def score(self, sample: Sample, responses: Sequence[Response]) -> Scored:
        text = (responses[0].text or "").strip()
        return Scored(extracted=text, scores={"exact_match": float(text == sample.target)})
