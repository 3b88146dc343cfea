"""Real runs for the report tests: the real Runner and Store with the scripted model, tiny tasks defined
here and a real, non-square long-context task (its heatmap, length curve and effective length come from
the real producer), plus calibration and prompt-format rows in the shapes those tasks emit."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from assay.metric_specs import MetricSpec, aggregate, score
from assay.models.scripted import ScriptedModel
from assay.runner import Runner, RunOptions
from assay.store import Store
from assay.tasks.base import TaskBase, TaskContext
from assay.tasks.registry import get_task
from assay.types import GenerateRequest, LoglikelihoodRequest, Request, Response, Sample, Scored

XSS = "<script>alert(1)</script>"
# Tries to close the JSON data block early and open a script of its own.
BREAKOUT = "</script><script>alert(2)</script><img src=x onerror=alert(3)>"
LONG_PROMPT_WORDS = 2000
BULK_SIZE = 70
# 3 lengths × 2 depths, one sample per cell: a transposed heatmap cannot pass for the right one.
LONGCTX_TASK = "niah_single:lengths=256+512+1024/depths=0+50/n=1"
LONGCTX_SIZE = 6


def longctx_task() -> Any:
    return get_task(LONGCTX_TASK)


class EchoQA(TaskBase):
    """Generate task: the echo model repeats the prompt, so model output carries the prompt's text
    (including the hostile strings). Odd items target a word the prompt lacks (wrong); items whose
    prompt says NOPARSE are unparsable."""

    name = "report_qa"
    family = "test"

    def metrics(self) -> list[MetricSpec]:
        return [score("exact_match", primary=True)]

    def spec(self) -> dict[str, Any]:
        return {"name": self.name, "version": 1}

    def samples(self, ctx: TaskContext) -> Iterator[Sample]:
        for index in range(12):
            text = f"item {index} says word{index}"
            if index == 0:
                text += f" {XSS}"
            if index == 1:
                text += f" {BREAKOUT} &amp; &lt;"
            if index == 2:
                text += " NOPARSE"
            if index == 3:
                text += " " + " ".join(f"filler{k}" for k in range(LONG_PROMPT_WORDS)) + " needle-at-the-end"
            target = f"word{index}" if index % 2 == 0 else f"word{index + 100}"
            yield Sample(id=f"qa-{index}", input=text, target=target, cluster=f"doc{index // 3}")

    def requests(self, sample: Sample) -> Sequence[Request]:
        return [GenerateRequest(prompt=f"Q: {sample.input}\nA:", max_tokens=16)]

    def score(self, sample: Sample, responses: Sequence[Response]) -> Scored:
        text = responses[0].text or ""
        if "NOPARSE" in text:
            return Scored(extracted=None, scores={"exact_match": 0.0}, error="unparsable: no answer")
        found = next((w for w in text.split() if w.startswith("word")), None)
        return Scored(extracted=found, scores={"exact_match": float(found == sample.target)})


class ScaledChoice(TaskBase):
    """Log-likelihood task with a non-[0,1] score (a log-prob), so both forest-plot scales appear."""

    name = "report_mc"
    family = "test"

    def metrics(self) -> list[MetricSpec]:
        return [score("acc", primary=True), score("target_logprob", scale="nats")]

    def spec(self) -> dict[str, Any]:
        return {"name": self.name, "version": 1}

    def samples(self, ctx: TaskContext) -> Iterator[Sample]:
        for index in range(8):
            yield Sample(id=f"mc-{index}", input=f"pick {index}", choices=["a", "b", "c"], target=index % 3)

    def requests(self, sample: Sample) -> Sequence[Request]:
        return [LoglikelihoodRequest(context=sample.input, continuation=f" {c}") for c in sample.choices or ()]

    def score(self, sample: Sample, responses: Sequence[Response]) -> Scored:
        logprobs = [r.logprob or 0.0 for r in responses]
        best = max(range(len(logprobs)), key=logprobs.__getitem__)
        return Scored(extracted=(sample.choices or [])[best],
                      scores={"acc": float(best == sample.target), "target_logprob": logprobs[int(sample.target)]})


class Bulk(TaskBase):
    """Enough samples for more than one page of the sample table."""

    name = "report_bulk"
    family = "test"

    def metrics(self) -> list[MetricSpec]:
        return [score("exact_match", primary=True)]

    def spec(self) -> dict[str, Any]:
        return {"name": self.name, "version": 1}

    def samples(self, ctx: TaskContext) -> Iterator[Sample]:
        for index in range(BULK_SIZE):
            yield Sample(id=f"bulk-{index}", input=f"bulk question {index}", target=f"{index}")

    def requests(self, sample: Sample) -> Sequence[Request]:
        return [GenerateRequest(prompt=sample.input, max_tokens=8)]

    def score(self, sample: Sample, responses: Sequence[Response]) -> Scored:
        last = (responses[0].text or "").split()[-1:]
        return Scored(extracted=last[0] if last else None, scores={"exact_match": float(last == [sample.target])})


def task_metric(task: str, name: str, value: float | None, extra: dict[str, Any], n: int = 40,
                higher_is_better: bool | None = None) -> dict[str, Any]:
    return {"task": task, "name": name, "value": value, "ci_low": None, "ci_high": None, "stderr": None, "n": n,
            "method": "task", "extra": extra, **aggregate(name, higher_is_better).fields()}


def calibration_rows(task: str) -> list[dict[str, Any]]:
    bins = [{"low": i / 5, "high": (i + 1) / 5, "count": 3 + i, "confidence": i / 5 + 0.1,
             "accuracy": min(1.0, i / 5 + 0.05)} for i in range(5)]
    bins[0] = {"low": 0.0, "high": 0.2, "count": 0, "confidence": None, "accuracy": None}
    per_format = {"letters": {"mean": 0.62, "ci_low": 0.5, "ci_high": 0.73, "n": 40},
                  "numbers": {"mean": 0.48, "ci_low": 0.36, "ci_high": 0.6, "n": 40},
                  "<b>html-like</b>": {"mean": 0.55, "ci_low": 0.43, "ci_high": 0.67, "n": 40}}
    return [
        task_metric(task, "ece", 0.071, {"bins": bins}, higher_is_better=False),
        task_metric(task, "brier", 0.203, {}, higher_is_better=False),
        task_metric(task, "format_sensitivity", 0.14, {"per_format": per_format, "spread": 0.14, "std": 0.057,
                                                       "variance_share": 0.21, "consistency": 0.66}),
    ]


def add_metric_rows(store: Store, run_id: str, rows: list[dict[str, Any]]) -> None:
    store.replace_metrics(run_id, store.get_metrics(run_id) + rows)


def run_tasks(store: Store, model: ScriptedModel, tasks: Sequence[Any], seed: int = 7) -> str:
    return Runner(model, store).run(list(tasks), RunOptions(seed=seed, show_progress=False)).run_id


@dataclass
class ReportRuns:
    db_path: Path
    store: Store
    # echo model, calibration and prompt-format aggregates added
    full: str
    # every 3rd request fails (some heatmap cells have no samples); a second model to compare
    failing: str


@pytest.fixture(scope="module")
def report_runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ReportRuns]:
    """Built once per module; tests may add runs of their own but never change these two."""
    db_path = tmp_path_factory.mktemp("report") / "report.db"
    store = Store(f"sqlite:///{db_path}")
    full = run_tasks(store, ScriptedModel("echo", None), [EchoQA(), ScaledChoice(), Bulk(), longctx_task()])
    failing = run_tasks(store, ScriptedModel("fail", "3"), [EchoQA(), ScaledChoice(), Bulk(), longctx_task()])
    add_metric_rows(store, full, calibration_rows("report_mc"))
    yield ReportRuns(db_path, store, full, failing)
    store.close()
