"""The one multiple-choice task type: score each choice by log-likelihood (acc, acc_norm), or
read a generated letter, under a prompt format; optionally under K formats at once.

Samples carry the question stem in `input`, the choice texts in `choices` and the 0-based
answer in `target`. Scored.metadata always has "choice_logprobs" (log-likelihood formats) and
"target_index", which calibration reads. MuSR, YAML `multiple_choice` tasks and any Python task
built with `multiple_choice_task(...)` share this code.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from assay.metric_specs import MetricSpec, aggregate, score
from assay.scoring.metrics import argmax, mc_scores
from assay.tasks.base import TaskContext
from assay.tasks.benchmarks.common import CachedSamples, SampleLoader
from assay.tasks.benchmarks.format_sensitivity import format_sensitivity
from assay.tasks.benchmarks.prompt_formats import (
    FORMATS_BY_NAME,
    SENSITIVITY_FORMATS,
    PromptFormat,
    sensitivity_formats,
)
from assay.types import Request, Response, Sample, Scored

CALIBRATION_BINS = 10


@dataclass
class MultipleChoiceTask:
    name: str
    family: str
    load: CachedSamples
    native_format: PromptFormat = SENSITIVITY_FORMATS[0]
    # Text before everything (an instruction), and between solved exemplars.
    preamble: str = ""
    fewshot_separator: str = "\n\n"
    spec_fields: dict[str, Any] = field(default_factory=dict)

    def spec(self) -> dict[str, Any]:
        return {"name": self.name, "type": "multiple_choice", "format": self.native_format.name,
                "acc_norm": "logprob / continuation UTF-8 bytes", **self.spec_fields}

    def _format_count(self, ctx: TaskContext) -> int | None:
        count = ctx.options.get("prompt_formats")
        return None if count is None else len(sensitivity_formats(count))

    def run_options(self) -> frozenset[str]:
        # Repeats only vary a generated answer; log-likelihood formats would send the same requests N times.
        return frozenset({"prompt_formats", "repeats"} if self.native_format.answer == "generate" else {"prompt_formats"})

    def size(self, ctx: TaskContext) -> int:
        return len(self.load(ctx)) * (self._format_count(ctx) or 1)

    def samples(self, ctx: TaskContext) -> Iterator[Sample]:
        base_samples = self.load(ctx)
        count = self._format_count(ctx)
        if count is None:
            for sample in base_samples:
                yield replace(sample, metadata={**sample.metadata, "prompt_format": self.native_format.name})
            return
        formats = sensitivity_formats(count)
        for sample in base_samples:
            # The cluster keeps every format of one item together (and items of one document, if
            # the sample already had a cluster), so CIs are not overconfident.
            cluster = sample.cluster or sample.id
            for prompt_format in formats:
                yield replace(sample, id=f"{sample.id}@{prompt_format.name}", cluster=cluster,
                              metadata={**sample.metadata, "prompt_format": prompt_format.name, "base_id": sample.id})

    def format_of(self, sample: Sample) -> PromptFormat:
        name = sample.metadata.get("prompt_format", self.native_format.name)
        return self.native_format if name == self.native_format.name else FORMATS_BY_NAME[name]

    def requests(self, sample: Sample) -> Sequence[Request]:
        prompt_format = self.format_of(sample)
        # Few-shot exemplars travel with the sample (metadata "fewshot") so this stays a pure
        # function of the sample, and are rendered in the sample's own format.
        exemplars = sample.metadata.get("fewshot") or []
        prefix = self.preamble + prompt_format.fewshot_prefix(exemplars, self.fewshot_separator)
        return prompt_format.requests(str(sample.input), list(sample.choices or ()), prefix=prefix)

    def score(self, sample: Sample, responses: Sequence[Response]) -> Scored:
        prompt_format = self.format_of(sample)
        choices = list(sample.choices or ())
        target = int(sample.target)
        base = {"target_index": target, "prompt_format": prompt_format.name}
        if prompt_format.answer == "generate":
            text = responses[0].text or ""
            picked = prompt_format.read_generated(text, len(choices))
            if picked is None:
                return Scored(None, {"acc": 0.0}, error=f"unparsable: no choice named in {text.strip()[:80]!r}",
                              metadata={**base, "predicted_index": None})
            return Scored(chr(ord("A") + picked), {"acc": float(picked == target)},
                          metadata={**base, "predicted_index": picked})
        logprobs = [r.logprob for r in responses]
        if any(lp is None for lp in logprobs):
            return Scored(None, {"acc": 0.0, "acc_norm": 0.0}, error="unparsable: the backend returned no log-probability",
                          metadata={**base, "predicted_index": None})
        values = [float(lp) for lp in logprobs if lp is not None]
        picked = argmax(values)
        return Scored(chr(ord("A") + picked), mc_scores(values, prompt_format.continuations(choices), target),
                      metadata={**base, "choice_logprobs": values, "predicted_index": picked})

    def aggregate(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return mc_aggregate(rows, self.native_format)

    def metrics(self) -> Sequence[MetricSpec]:
        return MC_METRICS


MC_METRICS = (
    score("acc", primary=True, description="the most likely (or the generated) choice is the answer"),
    score("acc_norm", description="the most likely choice after dividing log-probabilities by length in bytes"),
    aggregate("ece", False, "expected calibration error of the choice distribution"),
    aggregate("brier", False, "Brier score of the choice distribution"),
    aggregate("format_sensitivity", False, "spread of accuracy across prompt formats (max - min)"),
)


def mc_aggregate(rows: Sequence[dict[str, Any]], native_format: PromptFormat) -> list[dict[str, Any]]:
    """Calibration of the choice distribution (ECE, Brier) and, for multi-format runs, format sensitivity."""
    out: list[dict[str, Any]] = []
    scored = [r for r in rows if r.get("error_kind") != "request_failed"
              and "choice_logprobs" in (r.get("metadata") or {})]
    if scored:
        from assay.stats.calibration import calibration_summary

        summary = calibration_summary([r["metadata"]["choice_logprobs"] for r in scored],
                                      [int(r["metadata"]["target_index"]) for r in scored], n_bins=CALIBRATION_BINS)
        out.append({"name": "ece", "value": summary["ece"], "n": summary["n"], "extra": {"bins": summary["bins"]}})
        out.append({"name": "brier", "value": summary["brier"], "n": summary["n"]})
    order = [native_format.name] + [f.name for f in SENSITIVITY_FORMATS]
    sensitivity = format_sensitivity(rows, order)
    if sensitivity is not None:
        out.append(sensitivity)
    return out


def multiple_choice_task(name: str, *, family: str, load: SampleLoader, native_format: PromptFormat | str = "qa_dot_text",
                         preamble: str = "", fewshot_separator: str = "\n\n",
                         spec: dict[str, Any] | None = None) -> MultipleChoiceTask:
    """`native_format` is used when no --prompt-formats is given: a PromptFormat or a name from
    SENSITIVITY_FORMATS."""
    if isinstance(native_format, str):
        if native_format not in FORMATS_BY_NAME:
            raise ValueError(f"unknown prompt format {native_format!r}; known: {', '.join(FORMATS_BY_NAME)}")
        native_format = FORMATS_BY_NAME[native_format]
    return MultipleChoiceTask(name=name, family=family, load=CachedSamples(load), native_format=native_format,
                              preamble=preamble, fewshot_separator=fewshot_separator, spec_fields=dict(spec or {}))
