"""`--repeats N`: each sample N times with sampled decoding.

Repeats of one sample share a cluster (the sample's own cluster, else its id), so the per-sample
variance across repeats enters the clustered interval instead of inflating n.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence
from typing import Any

from assay.metric_specs import MetricSpec
from assay.tasks.base import Task, TaskContext
from assay.types import GenerateRequest, Request, Response, Sample, Scored, sha256_hex

DEFAULT_TEMPERATURE = 0.7


class RepeatedTask:
    def __init__(self, inner: Task, repeats: int, temperature: float = DEFAULT_TEMPERATURE) -> None:
        self.inner = inner
        self.repeats = repeats
        self.temperature = temperature
        self.name = inner.name
        self.family = inner.family
        self._seed = 0

    def spec(self) -> dict[str, Any]:
        return {**self.inner.spec(), "repeats": self.repeats, "repeat_temperature": self.temperature}

    def run_options(self) -> frozenset[str]:
        return self.inner.run_options()

    def size(self, ctx: TaskContext) -> int | None:
        inner_size = self.inner.size(ctx)
        return None if inner_size is None else inner_size * self.repeats

    def metrics(self) -> Sequence[MetricSpec]:
        return self.inner.metrics()

    def samples(self, ctx: TaskContext) -> Iterator[Sample]:
        self._seed = ctx.seed
        for sample in self.inner.samples(ctx):
            for repeat in range(self.repeats):
                yield dataclasses.replace(
                    sample, id=f"{sample.id}#r{repeat}", cluster=sample.cluster or sample.id,
                    metadata={**sample.metadata, "repeat": repeat, "base_id": sample.id},
                )

    def _base(self, sample: Sample) -> Sample:
        return dataclasses.replace(sample, id=sample.metadata["base_id"])

    def requests(self, sample: Sample) -> Sequence[Request]:
        repeat = sample.metadata["repeat"]
        out: list[Request] = []
        for request in self.inner.requests(self._base(sample)):
            if isinstance(request, GenerateRequest):
                seed = int(sha256_hex(f"{self._seed}:{sample.id}:{repeat}")[:8], 16)
                temperature = request.temperature or self.temperature
                request = dataclasses.replace(request, temperature=temperature, seed=seed)
            out.append(request)
        return out

    def score(self, sample: Sample, responses: Sequence[Response]) -> Scored:
        return self.inner.score(self._base(sample), responses)

    def aggregate(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return self.inner.aggregate(rows)
