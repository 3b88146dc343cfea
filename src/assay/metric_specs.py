"""Declared metrics: each metric is declared once, by the task that produces it, and everything
downstream (leaderboard, ranks, compare, report, `assay show --json`) reads the declaration instead
of guessing a metric's direction or importance from its name (lighteval's SampleLevelMetric idea).

A declaration whose name ends in "/*" covers a family of rows (`variant/*` covers `variant/single`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

# "undeclared" marks a row its task did not declare (a bug in the task, which tests catch): stored and
# shown, never ranked.
Aggregation = Literal["mean", "count", "task", "undeclared"]


@dataclass(frozen=True)
class MetricSpec:
    """The declaration of one metric a task produces: its name, direction, scale, aggregation and whether it is
    the task's primary figure. Build one with `score(...)` (a per-sample score) or `aggregate(...)`."""

    name: str
    # True: more is better; False: less is better; None: descriptive (a count, a curve), never ranked.
    higher_is_better: bool | None
    # "0..1", "tokens", "count", "nats", "perplexity", ... (what a value of 1 means).
    scale: str = "0..1"
    # mean: mean ± CI of a per-sample score; count: a count of samples; task: a task-level aggregate.
    aggregation: Aggregation = "mean"
    # The one figure a leaderboard shows for the task.
    primary: bool = False
    description: str = ""

    def fields(self) -> dict[str, Any]:
        """The declaration as stored beside every metric row."""
        return {"higher_is_better": self.higher_is_better, "primary": self.primary, "scale": self.scale,
                "aggregation": self.aggregation}


def score(name: str, higher_is_better: bool = True, description: str = "", primary: bool = False,
          scale: str = "0..1") -> MetricSpec:
    """A per-sample score, aggregated as mean ± CI."""
    return MetricSpec(name, higher_is_better, scale, "mean", primary, description)


def aggregate(name: str, higher_is_better: bool | None, description: str = "", scale: str = "0..1") -> MetricSpec:
    """A task-level figure computed from all samples (a calibration error, a curve, a perplexity)."""
    return MetricSpec(name, higher_is_better, scale, "task", False, description)


# What every task gets from the runner's bookkeeping: counts, and the report of a failed task aggregate.
COUNTS = (
    MetricSpec("aggregate_error", None, "note", "task", description="the task's own aggregate raised: its message"),
    MetricSpec("n_samples", None, "count", "count", description="samples stored"),
    MetricSpec("n_request_errors", None, "count", "count",
               description="samples whose request failed after retries (excluded from the scores)"),
    MetricSpec("n_unparsable", None, "count", "count",
               description="outputs that could not be parsed (scored incorrect)"),
)


class MetricDeclarations:
    """The declarations of one task, looked up by metric name."""

    def __init__(self, task: str, specs: Iterable[MetricSpec]) -> None:
        self.task = task
        self.exact: dict[str, MetricSpec] = {}
        self.families: dict[str, MetricSpec] = {}
        for spec in (*COUNTS, *specs):
            target = self.families if spec.name.endswith("/*") else self.exact
            key = spec.name.removesuffix("*")
            if key in target and target[key] != spec:
                raise ValueError(f"task {task}: metric {spec.name!r} is declared twice, differently")
            target[key] = spec
        primaries = [s.name for s in self.exact.values() if s.primary]
        if len(primaries) != 1:
            raise ValueError(f"task {task}: expected exactly one primary metric, got {primaries or 'none'}")
        self.primary = primaries[0]

    def get(self, name: str) -> MetricSpec | None:
        if name in self.exact:
            return self.exact[name]
        for prefix, spec in self.families.items():
            if name.startswith(prefix):
                return spec
        return None

    def declare(self, rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        """Each metric row with its declaration's fields. A row the task did not declare keeps its value,
        gets no direction and says so (a finished run never fails over a declaration)."""
        out = []
        for row in rows:
            spec = self.get(row["name"])
            if spec is None:
                note = f"{self.task}: metric {row['name']!r} is not declared by the task: shown, never ranked"
                out.append({**row, "higher_is_better": None, "primary": False, "scale": None,
                            "aggregation": "undeclared", "extra": {**(row.get("extra") or {}), "note": note}})
            else:
                out.append({**row, **spec.fields()})
        return out


def primary_of(rows: Iterable[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    """The primary metric row among one task's stored metric rows (None for rows stored before metrics
    were declared: callers say so rather than pick one by name)."""
    return next((row for row in rows if row.get("primary")), None)
