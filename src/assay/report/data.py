"""What the report shows, read from the store only (never the model): runs, metric rows, capped samples.

Everything here is plain data ready for the template; all text from model outputs stays text
(the template autoescapes, the sample table inserts with textContent).
"""

from __future__ import annotations

import itertools
import json
import math
from dataclasses import dataclass, field
from typing import Any

from assay.display import answer_form, format_metric_value
from assay.store import Store

DEFAULT_MAX_SAMPLES_PER_TASK = 2000
# Long-context prompts run to tens of kilobytes; the report keeps the head and the tail of each.
PROMPT_HEAD_CHARS = 1500
PROMPT_TAIL_CHARS = 700
OUTPUT_MAX_CHARS = 2000
_SAMPLE_COLUMNS = ("task", "sample_id", "idx", "prompt", "target", "responses", "extracted", "scores",
                   "error", "error_kind", "metadata")


@dataclass
class RunInfo:
    id: str
    label: str
    model_spec: str
    tasks: list[str]
    status: str
    seed: int
    created_at: str
    finished_at: str
    n_samples: int
    manifest_json: str


@dataclass
class MetricLine:
    run: str
    task: str
    name: str
    value: str
    ci: str
    n: int
    method: str
    errors: int
    unparsable: int
    # From the task's declaration: "↑" higher is better, "↓" lower is better, "" descriptive; the primary figure.
    direction: str = ""
    primary: bool = False


_ARROWS = {True: "↑", False: "↓", None: ""}


@dataclass
class ReportData:
    runs: list[RunInfo]
    # run id -> raw metric rows from the store
    metrics: dict[str, list[dict[str, Any]]]
    metric_lines: list[MetricLine]
    samples: list[dict[str, Any]]
    notes: list[str] = field(default_factory=list)
    max_samples_per_task: int = DEFAULT_MAX_SAMPLES_PER_TASK


def format_number(value: float | None, digits: int = 4) -> str:
    if value is None or not math.isfinite(value):
        return "—"
    if float(value).is_integer() and abs(value) >= 1000:
        return str(int(value))
    return f"{value:.{digits}g}" if abs(value) >= 1000 else f"{value:.{digits}f}"


def _when(value: Any) -> str:
    return "" if value is None else str(value)[:19].replace("T", " ")


def load_run(store: Store, run_id: str) -> RunInfo:
    run = store.get_run(run_id)
    return RunInfo(
        id=run["id"], label=f"{run['id']} · {run['model_spec']}", model_spec=run["model_spec"],
        tasks=list(run["tasks"] or []), status=run["status"], seed=run["seed"],
        created_at=_when(run["created_at"]), finished_at=_when(run["finished_at"]),
        n_samples=store.count_samples(run["id"]),
        manifest_json=json.dumps(run["manifest"], indent=2, sort_keys=True, ensure_ascii=False, default=str),
    )


def is_score_metric(row: dict[str, Any]) -> bool:
    """A per-sample score summarised with a CI (not a count, not a task-level aggregate)."""
    return row["method"] not in ("count", "task")


def metric_lines(run_id: str, rows: list[dict[str, Any]]) -> list[MetricLine]:
    counts: dict[tuple[str, str], float] = {(r["task"], r["name"]): r["value"] or 0.0
                                            for r in rows if r["method"] == "count"}
    lines = []
    tasks = sorted({r["task"] for r in rows})
    for task in tasks:
        errors = int(counts.get((task, "n_request_errors"), 0))
        unparsable = int(counts.get((task, "n_unparsable"), 0))
        # Task-level aggregates with a scalar value (effective length, ECE, spread, ...) get a line too.
        shown = [r for r in rows if r["task"] == task and (is_score_metric(r) or (
            r["method"] == "task" and isinstance(r.get("value"), (int, float))))]
        shown.sort(key=lambda r: not r.get("primary"))  # the task's primary figure first
        if not shown and (task, "n_samples") in counts:
            # Samples but no scores (every request failed): still a line, so the failure is visible.
            n_samples = int(counts.get((task, "n_samples"), 0))
            lines.append(MetricLine(run_id, task, "(no scores)", "—", "", n_samples, "count", errors, unparsable))
        for r in shown:
            ci = (f"[{format_number(r['ci_low'])}, {format_number(r['ci_high'])}]"
                  if r.get("ci_low") is not None and r.get("ci_high") is not None else "")
            lines.append(MetricLine(run_id, task, r["name"], format_metric_value(r), ci, int(r["n"]), r["method"],
                                    errors, unparsable, _ARROWS[r.get("higher_is_better")], bool(r.get("primary"))))
    return lines


def _text_of(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def _cap(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit] + f"\n… [{len(text) - limit} more characters not embedded]"


def clip_prompt(prompt: str) -> str:
    if len(prompt) <= PROMPT_HEAD_CHARS + PROMPT_TAIL_CHARS:
        return prompt
    omitted = len(prompt) - PROMPT_HEAD_CHARS - PROMPT_TAIL_CHARS
    return (prompt[:PROMPT_HEAD_CHARS] + f"\n… [{omitted} characters omitted from the report] …\n"
            + prompt[-PROMPT_TAIL_CHARS:])


def output_of(responses: list[dict[str, Any]]) -> str:
    """Generated text, or the log-likelihoods for log-likelihood requests; failures say so."""
    parts = []
    for response in responses or []:
        if response.get("error"):
            parts.append(f"[request failed: {response['error']}]")
        elif response.get("text") is not None:
            parts.append(response["text"])
        elif response.get("logprob") is not None:
            parts.append(f"logprob {format_number(response['logprob'])}")
    return _cap("\n—\n".join(parts), OUTPUT_MAX_CHARS)


def _scores_text(scores: dict[str, Any] | None) -> str:
    return ", ".join(f"{name}={format_number(v) if isinstance(v, (int, float)) else v}"
                     for name, v in sorted((scores or {}).items()))


def _error_text(kind: str | None, error: str) -> str:
    if not kind or error.startswith(kind):
        return error
    return f"{kind}: {error}" if error else kind


def sample_rows(store: Store, run_id: str, max_per_task: int) -> tuple[list[dict[str, Any]], list[str]]:
    """The first `max_per_task` samples of each task (in task order), and notes on what was capped."""
    rows: list[dict[str, Any]] = []
    notes: list[str] = []
    for task in store.sample_tasks(run_id):
        total = store.count_samples(run_id, task)
        stream = store.iter_samples(run_id, task, columns=_SAMPLE_COLUMNS)
        try:
            capped = list(itertools.islice(stream, max_per_task))
        finally:
            stream.close()  # stop the streaming query now, not when the generator is collected
        for sample in capped:
            error = sample["error"] or ""
            # Target and extracted answer in one form: a choice's text with its index, whichever was stored.
            choices = (sample.get("metadata") or {}).get("choices")
            rows.append({
                "run": run_id, "task": task, "id": sample["sample_id"],
                "prompt": clip_prompt(sample["prompt"] or ""),
                "output": output_of(sample["responses"]),
                "extracted": _cap(answer_form(sample["extracted"], choices) if sample["extracted"] is not None else "",
                                  OUTPUT_MAX_CHARS),
                "target": _cap(answer_form(sample["target"], choices) if sample["target"] is not None else "",
                               OUTPUT_MAX_CHARS),
                "scores": _scores_text(sample["scores"]),
                "error": _error_text(sample["error_kind"], error),
            })
        if total > max_per_task:
            notes.append(f"run {run_id}, task {task}: the sample table holds the first {max_per_task} of "
                         f"{total} samples (metrics and plots use all of them).")
    return rows, notes


def load_report_data(store: Store, run_ids: list[str], max_samples_per_task: int) -> ReportData:
    runs: list[RunInfo] = []
    for run_id in run_ids:
        info = load_run(store, run_id)
        if info.id not in {r.id for r in runs}:
            runs.append(info)
    metrics = {run.id: store.get_metrics(run.id) for run in runs}
    lines = [line for run in runs for line in metric_lines(run.id, metrics[run.id])]
    samples: list[dict[str, Any]] = []
    notes: list[str] = []
    for run in runs:
        if not metrics[run.id] and run.n_samples:
            notes.append(f"run {run.id}: no metrics stored (the run did not finish?); only samples are shown.")
        run_samples, run_notes = sample_rows(store, run.id, max_samples_per_task)
        samples.extend(run_samples)
        notes.extend(run_notes)
    return ReportData(runs, metrics, lines, samples, notes, max_samples_per_task)
