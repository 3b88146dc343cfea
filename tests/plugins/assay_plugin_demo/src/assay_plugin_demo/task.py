"""`demo_task`: capitals of countries, generated answer, exact match (entry point group `assay.tasks`)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from assay.metric_specs import MetricSpec, score
from assay.tasks.base import TaskBase, TaskContext
from assay.types import GenerateRequest, Request, Response, Sample, Scored

CAPITALS = {"France": "Paris", "Japan": "Tokyo", "Kenya": "Nairobi", "Peru": "Lima", "Canada": "Ottawa"}


class CapitalsTask(TaskBase):
    name = "demo_task"
    family = "plugin"

    def spec(self) -> dict[str, Any]:
        return {"name": self.name, "capitals": CAPITALS, "template": "What is the capital of {country}?"}

    def size(self, ctx: TaskContext) -> int:
        return len(CAPITALS)

    def metrics(self) -> Sequence[MetricSpec]:
        return [score("exact_match", primary=True, description="the answer is the capital")]

    def samples(self, ctx: TaskContext) -> Iterator[Sample]:
        for index, (country, capital) in enumerate(CAPITALS.items()):
            yield Sample(id=f"capital-{index}", input=f"What is the capital of {country}?", target=capital)

    def requests(self, sample: Sample) -> Sequence[Request]:
        return [GenerateRequest(prompt=f"Question: {sample.input}\nAnswer:", until=("\n",), max_tokens=8)]

    def score(self, sample: Sample, responses: Sequence[Response]) -> Scored:
        answer = (responses[0].text or "").strip()
        return Scored(extracted=answer, scores={"exact_match": float(answer == sample.target)})


def capitals_task(variant: str | None) -> CapitalsTask:
    """capitals of five countries, generated answer, exact match (an example plugin task)"""
    return CapitalsTask()
