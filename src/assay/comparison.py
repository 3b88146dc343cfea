"""Paired comparison of two stored runs, sample by sample: the one engine behind `assay compare`, the
web compare page and its API.

Samples are aligned by (task, sample_id). For every shared task and score name: the mean difference
(B - A) with its interval, the paired test and p-value (assay.stats.paired), the Holm-adjusted p-value
over every comparison, and the minimum detectable effect at 80% power. Each row carries the metric's
declaration (direction, primary) from the stored metric rows, primary metrics first. Two runs are
comparable only when each shared task has the same spec hash in both manifests and the runs share
samples; otherwise `compare_runs` raises (unless allow_mismatch turns the refusal into warnings).
Samples whose request failed in either run are excluded and counted.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from assay.errors import AssayError
from assay.store import Store

_COLUMNS = ("sample_id", "scores", "cluster", "error_kind")
# The keys of a row that could not be tested (fewer than two pairs, a failed test).
_UNTESTED_KEYS = ("task", "metric", "n", "error", "primary", "higher_is_better")


@dataclass(frozen=True)
class ComparedMetric:
    """One score of one task compared, B − A: the paired test's figures, or `error` saying why there are none."""

    task: str
    metric: str
    # Samples scored in both runs.
    n: int
    primary: bool
    higher_is_better: bool | None
    error: str | None = None
    mean_a: float | None = None
    mean_b: float | None = None
    diff: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    test: str | None = None
    p_value: float | None = None
    # Holm-adjusted over every tested row of the comparison.
    p_holm: float | None = None
    # Minimum detectable effect at 80% power for this n and the observed paired variance.
    mde_80: float | None = None
    stderr: float | None = None
    n_clusters: int | None = None
    # Per-sample correlation of A and B: the --paired-corr of `assay power` for the next comparison.
    score_corr: float | None = None

    def to_dict(self) -> dict[str, Any]:
        values = asdict(self)
        return {k: values[k] for k in _UNTESTED_KEYS} if self.error is not None else values


@dataclass(frozen=True)
class TaskOverlap:
    """How the two runs' samples of one task line up."""

    task: str
    samples_a: int
    samples_b: int
    shared: int
    excluded_request_failed: int


@dataclass(frozen=True)
class Comparison:
    """The paired comparison of run B against run A (what `assay compare` prints)."""

    run_a: str
    run_b: str
    model_a: str
    model_b: str
    # Primary metrics first, per task.
    comparisons: list[ComparedMetric]
    tasks: list[TaskOverlap]
    # Why the runs would not be comparable (only with allow_mismatch; else compare refuses).
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @classmethod
    def from_dict(cls, result: Mapping[str, Any]) -> Comparison:
        """From `compare_runs`'s plain data."""
        return cls(run_a=result["run_a"], run_b=result["run_b"], model_a=result["model_a"], model_b=result["model_b"],
                   comparisons=[ComparedMetric(**row) for row in result["comparisons"]],
                   tasks=[TaskOverlap(**counts) for counts in result["tasks"]], warnings=list(result["warnings"]),
                   notes=list(result["notes"]))

    def to_dict(self) -> dict[str, Any]:
        """The plain data (`assay compare --json`)."""
        return {"run_a": self.run_a, "run_b": self.run_b, "model_a": self.model_a, "model_b": self.model_b,
                "comparisons": [row.to_dict() for row in self.comparisons],
                "tasks": [asdict(counts) for counts in self.tasks], "warnings": list(self.warnings),
                "notes": list(self.notes)}


def _spec_hash(run: Mapping[str, Any], task: str) -> str | None:
    tasks = (run.get("manifest") or {}).get("tasks") or {}
    entry = tasks.get(task) or {}
    return entry.get("spec_hash")


def _numeric(value: Any) -> float | None:
    if isinstance(value, (int, float)) and math.isfinite(float(value)):
        return float(value)
    return None


def _compare_task(store: Store, id_a: str, id_b: str, task: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    rows_a = {r["sample_id"]: r for r in store.iter_samples(id_a, task, columns=_COLUMNS)}
    rows_b = {r["sample_id"]: r for r in store.iter_samples(id_b, task, columns=_COLUMNS)}
    shared = sorted(set(rows_a) & set(rows_b))
    failed = {s for s in shared if "request_failed" in (rows_a[s]["error_kind"], rows_b[s]["error_kind"])}
    usable = [s for s in shared if s not in failed]
    counts = {"task": task, "samples_a": len(rows_a), "samples_b": len(rows_b), "shared": len(shared),
              "excluded_request_failed": len(failed)}
    names = sorted({name for s in usable for name in (rows_a[s]["scores"] or {})}
                   & {name for s in usable for name in (rows_b[s]["scores"] or {})})
    out = []
    for name in names:
        pairs = []
        for sample_id in usable:
            value_a = _numeric((rows_a[sample_id]["scores"] or {}).get(name))
            value_b = _numeric((rows_b[sample_id]["scores"] or {}).get(name))
            if value_a is not None and value_b is not None:
                pairs.append((value_a, value_b, rows_a[sample_id]["cluster"]))
        out.append(_compare_score(task, name, pairs))
    return out, counts


def _compare_score(task: str, name: str, pairs: list[tuple[float, float, str | None]]) -> dict[str, Any]:
    from assay.stats.paired import compare_paired

    entry: dict[str, Any] = {"task": task, "metric": name, "n": len(pairs)}
    if len(pairs) < 2:
        return {**entry, "error": f"only {len(pairs)} sample(s) scored in both runs; a paired test needs 2"}
    clusters = [c for _, _, c in pairs]
    try:
        result = compare_paired([a for a, _, _ in pairs], [b for _, b, _ in pairs],
                                clusters if any(c is not None for c in clusters) else None)
    except ValueError as exc:
        return {**entry, "error": str(exc)}
    return {**entry, **result.to_dict(), "score_corr": _correlation(pairs), "error": None}


def _correlation(pairs: list[tuple[float, float, str | None]]) -> float | None:
    """Correlation of the two runs' per-sample scores: the --paired-corr to plan the next comparison with."""
    import numpy as np

    a = np.array([p[0] for p in pairs])
    b = np.array([p[1] for p in pairs])
    if a.std() == 0 or b.std() == 0:
        return None
    return float(np.corrcoef(a, b)[0, 1])


def _refuse(id_a: str, id_b: str, problems: list[str]) -> None:
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    raise AssayError(f"runs {id_a} and {id_b} are not comparable: {problems[0]}{more}; "
                     "pass --allow-mismatch to compare anyway")


def compare_runs(store: Store, run_a: str, run_b: str, allow_mismatch: bool = False) -> dict[str, Any]:
    """The comparison as plain data; raises AssayError when the runs are not comparable (unless
    allow_mismatch, in which case the problems are returned as warnings)."""
    from assay.stats.paired import holm

    meta_a, meta_b = store.get_run(run_a), store.get_run(run_b)
    id_a, id_b = meta_a["id"], meta_b["id"]
    tasks_a, tasks_b = set(store.sample_tasks(id_a)), set(store.sample_tasks(id_b))
    shared_tasks = sorted(tasks_a & tasks_b)
    problems: list[str] = []
    notes = [f"task {t} is only in run {id_a if t in tasks_a else id_b}; not compared"
             for t in sorted(tasks_a ^ tasks_b)]
    if not shared_tasks:
        problems.append(f"runs {id_a} and {id_b} share no task")
    for task in shared_tasks:
        hash_a, hash_b = _spec_hash(meta_a, task), _spec_hash(meta_b, task)
        if hash_a is None or hash_b is None or hash_a != hash_b:
            problems.append(f"task {task} differs between the runs (spec hash {str(hash_a)[:12]} vs {str(hash_b)[:12]})")
    if problems and not allow_mismatch:  # refuse before reading any sample
        _refuse(id_a, id_b, problems)
    comparisons: list[dict[str, Any]] = []
    task_counts = []
    for task in shared_tasks:
        rows, counts = _compare_task(store, id_a, id_b, task)
        task_counts.append(counts)
        if counts["shared"] == 0:
            problems.append(f"task {task}: the runs share no sample id")
        comparisons.extend(rows)
    if shared_tasks and sum(c["shared"] for c in task_counts) == 0:
        problems.append("the runs have no sample in common")
    if problems and not allow_mismatch:
        _refuse(id_a, id_b, problems)
    declared = {(m["task"], m["name"]): m for m in store.get_metrics(id_a)}
    for entry in comparisons:
        metric = declared.get((entry["task"], entry["metric"]), {})
        entry["primary"] = bool(metric.get("primary"))
        entry["higher_is_better"] = metric.get("higher_is_better")
    comparisons.sort(key=lambda c: (c["task"], not c["primary"], c["metric"]))
    tested = [c for c in comparisons if c.get("error") is None]
    for entry, adjusted in zip(tested, holm([c["p_value"] for c in tested]), strict=True):
        entry["p_holm"] = adjusted
    return {"run_a": id_a, "run_b": id_b, "model_a": meta_a["model_spec"], "model_b": meta_b["model_spec"],
            "comparisons": comparisons, "tasks": task_counts, "warnings": problems, "notes": notes}


