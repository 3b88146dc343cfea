"""The one loglikelihood_rolling task type: log P(document) for perplexity-style metrics.

Per sample we store the log-probability and bits per byte; the corpus metrics are ratios of sums
(as lm-evaluation-harness computes them for wikitext), returned by `aggregate`:
  word_perplexity = exp(−Σ logprob / Σ words), byte_perplexity = exp(−Σ logprob / Σ bytes),
  bits_per_byte = −Σ logprob / (Σ bytes · ln 2).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from assay.metric_specs import MetricSpec, aggregate, score
from assay.scoring.metrics import rolling_scores
from assay.tasks.base import TaskContext
from assay.tasks.benchmarks.common import CachedSamples, SampleLoader
from assay.types import LoglikelihoodRollingRequest, Request, Response, Sample, Scored


@dataclass
class RollingTask:
    """Samples carry the document text in `input`."""

    name: str
    family: str
    load: CachedSamples
    metric_names: tuple[str, ...] = ("word_perplexity", "byte_perplexity", "bits_per_byte")
    spec_fields: dict[str, Any] = field(default_factory=dict)

    def spec(self) -> dict[str, Any]:
        return {"name": self.name, "type": "loglikelihood_rolling", "metrics": list(self.metric_names), **self.spec_fields}

    def run_options(self) -> frozenset[str]:
        # A log-likelihood is deterministic (repeats would ask the same request N times) and has no prompt format.
        return frozenset()

    def size(self, ctx: TaskContext) -> int:
        return len(self.load(ctx))

    def samples(self, ctx: TaskContext) -> Iterator[Sample]:
        return iter(self.load(ctx))

    def requests(self, sample: Sample) -> Sequence[Request]:
        return [LoglikelihoodRollingRequest(text=str(sample.input))]

    def score(self, sample: Sample, responses: Sequence[Response]) -> Scored:
        text = str(sample.input)
        logprob = responses[0].logprob
        counts = {"n_words": len(text.split()), "n_bytes": len(text.encode("utf-8"))}
        if logprob is None:
            return Scored(None, {}, error="unparsable: the backend returned no log-probability", metadata=counts)
        return Scored(None, rolling_scores(float(logprob), text), metadata={**counts, "logprob": float(logprob)})

    def metrics(self) -> Sequence[MetricSpec]:
        # Per document: the mean bits per byte (with a CI) is the primary figure; the corpus ratios of sums
        # are lm-eval's numbers.
        return [score("bits_per_byte", False, "bits per UTF-8 byte of each document", primary=True, scale="bits"),
                score("logprob", True, "log-probability of each document", scale="nats"),
                aggregate("corpus_word_perplexity", False, "exp(-sum logprob / sum words)", scale="perplexity"),
                aggregate("corpus_byte_perplexity", False, "exp(-sum logprob / sum bytes)", scale="perplexity"),
                aggregate("corpus_bits_per_byte", False, "-sum logprob / (sum bytes * ln 2)", scale="bits")]

    def aggregate(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        usable = [r["metadata"] for r in rows if r.get("error_kind") is None and "logprob" in (r.get("metadata") or {})]
        if not usable:
            return []
        total_logprob = sum(m["logprob"] for m in usable)
        words = max(sum(m["n_words"] for m in usable), 1)
        n_bytes = max(sum(m["n_bytes"] for m in usable), 1)
        values = {"word_perplexity": math.exp(-total_logprob / words),
                  "byte_perplexity": math.exp(-total_logprob / n_bytes),
                  "bits_per_byte": -total_logprob / (n_bytes * math.log(2))}
        return [{"name": f"corpus_{name}", "value": values[name], "n": len(usable),
                 "extra": {}} for name in self.metric_names]


def rolling_task(name: str, *, family: str, load: SampleLoader,
                 metrics: Sequence[str] = ("word_perplexity", "byte_perplexity", "bits_per_byte"),
                 spec: dict[str, Any] | None = None) -> RollingTask:
    return RollingTask(name=name, family=family, load=CachedSamples(load), metric_names=tuple(metrics),
                       spec_fields=dict(spec or {}))
