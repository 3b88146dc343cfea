"""The one generate-until task type: a prompt per sample, an extractor, per-sample metrics.

GSM8K, BBH, MuSR-by-generation and YAML `generate_until` tasks are all instances built by
`generative_task(...)`; they differ only in data, prompt and extraction.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from assay.metric_specs import MetricSpec, score
from assay.scoring.metrics import contains, exact_match, token_f1
from assay.tasks.base import TaskContext
from assay.tasks.benchmarks.common import CachedSamples, SampleLoader
from assay.types import GenerateRequest, Request, Response, Sample, Scored

# (model output, sample) -> the answer, or None when there is none. Most extractors ignore the
# sample; some need its choices (MuSR's numbered options).
AnswerExtractor = Callable[[str, Sample], str | None]


def text_only(extract: Callable[[str], str | None]) -> AnswerExtractor:
    return lambda text, _sample: extract(text)

_METRIC_DESCRIPTIONS = {
    "exact_match": "the extracted answer equals the reference after normalisation",
    "contains": "the reference occurs in the extracted answer",
    "f1": "token F1 of the extracted answer against the reference",
}
_METRIC_FUNCTIONS: dict[str, Callable[[str | None, str, Sequence[str]], float]] = {
    "exact_match": exact_match,
    "contains": contains,
    "f1": lambda prediction, reference, _steps: token_f1(prediction, reference),
}


@dataclass
class GenerativeTask:
    """Samples carry the full prompt in `input` and the reference answer in `target`."""

    name: str
    family: str
    load: CachedSamples
    extract: AnswerExtractor
    until: tuple[str, ...] = ("\n\n",)
    max_tokens: int = 256
    metric_names: tuple[str, ...] = ("exact_match",)
    normalizers: tuple[str, ...] = ("strip",)
    # Data hashes, template text, extraction settings: whatever decides comparability.
    spec_fields: dict[str, Any] = field(default_factory=dict)

    def spec(self) -> dict[str, Any]:
        return {"name": self.name, "type": "generate_until", "until": list(self.until), "max_tokens": self.max_tokens,
                "metrics": list(self.metric_names), "normalizers": list(self.normalizers), **self.spec_fields}

    def run_options(self) -> frozenset[str]:
        # Greedy generation: --repeats samples it. No --prompt-formats: those are multiple-choice formats.
        return frozenset({"repeats"})

    def size(self, ctx: TaskContext) -> int:
        return len(self.load(ctx))

    def samples(self, ctx: TaskContext) -> Iterator[Sample]:
        return iter(self.load(ctx))

    def metrics(self) -> Sequence[MetricSpec]:
        # The first metric named is the task's primary one.
        return [score(name, primary=index == 0, description=_METRIC_DESCRIPTIONS[name])
                for index, name in enumerate(self.metric_names)]

    def aggregate(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return []

    def requests(self, sample: Sample) -> Sequence[Request]:
        return [GenerateRequest(prompt=str(sample.input), until=self.until, max_tokens=self.max_tokens,
                                temperature=0.0)]

    def score(self, sample: Sample, responses: Sequence[Response]) -> Scored:
        text = responses[0].text or ""
        extracted = self.extract(text, sample)
        reference = str(sample.target)
        if extracted is None:
            tail = text.strip()[-80:]
            return Scored(extracted=None, scores={m: 0.0 for m in self.metric_names},
                          error=f"unparsable: no answer found in output ending {tail!r}")
        scores = {m: _METRIC_FUNCTIONS[m](extracted, reference, self.normalizers) for m in self.metric_names}
        return Scored(extracted=extracted, scores=scores)


def generative_task(name: str, *, family: str, load: SampleLoader, extract: AnswerExtractor,
                    until: Sequence[str] = ("\n\n",), max_tokens: int = 256,
                    metrics: Sequence[str] = ("exact_match",), normalizers: Sequence[str] = ("strip",),
                    spec: dict[str, Any] | None = None) -> GenerativeTask:
    unknown = [m for m in metrics if m not in _METRIC_FUNCTIONS]
    if unknown:
        raise ValueError(f"unknown generate_until metric(s) {unknown}; known: {sorted(_METRIC_FUNCTIONS)}")
    return GenerativeTask(name=name, family=family, load=CachedSamples(load), extract=extract, until=tuple(until),
                          max_tokens=max_tokens, metric_names=tuple(metrics), normalizers=tuple(normalizers),
                          spec_fields=dict(spec or {}))
