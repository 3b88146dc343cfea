"""The shell shared by the safety suites: a long-context grid task (same length × depth variant grammar,
exact-length prompts, haystacks and sample metadata as the needle tasks) with its own scorer, metric
declarations and a length × depth heatmap of its primary rate."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any

from assay.metric_specs import MetricSpec
from assay.tasks.longctx.heatmap import Heatmap
from assay.tasks.longctx.params import GridParams, parse_variant
from assay.tasks.longctx.task import CellBuilder, LongContextTask
from assay.tasks.registry import register_task
from assay.types import Response, Sample, Scored

Grader = Callable[[Sample, str], Scored]


class SafetyGridTask(LongContextTask):
    """A long-context grid whose samples are scored by `grader` and summarised by a heatmap of `heatmap_metric`."""

    family = "safety"

    def __init__(self, name: str, variant: str | None, params: GridParams, builder: CellBuilder, description: str,
                 grader: Grader, declared: Sequence[MetricSpec], heatmap_metric: str, version: int) -> None:
        super().__init__(name, variant, params, lambda s, length, d, i: builder(s, length, d, i, params.extra),
                         description)
        self.grader = grader
        self.declared = tuple(declared)
        self.heatmap_metric = heatmap_metric
        self.version = version

    def spec(self) -> dict[str, Any]:
        return {**super().spec(), "family": self.family, "safety_version": self.version}

    def score(self, sample: Sample, responses: Sequence[Response]) -> Scored:
        return self.grader(sample, responses[0].text or "")

    def metrics(self) -> Sequence[MetricSpec]:
        return self.declared

    def aggregate(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The heatmap of the primary rate per (length, depth) cell; empty cells (all requests failed) stay."""
        cells: dict[tuple[int, float | None], list[float]] = defaultdict(list)
        for row in rows:
            meta = row.get("metadata") or {}
            if meta.get("target_length") is None:
                continue
            depth = meta.get("depth_percent")
            values = cells[(int(meta["target_length"]), None if depth is None else float(depth))]
            value = (row.get("scores") or {}).get(self.heatmap_metric)
            if row.get("error_kind") != "request_failed" and value is not None:
                values.append(float(value))
        if not cells:
            return []
        heatmap = Heatmap.from_cells(cells, self.heatmap_metric)
        return [{"name": "heatmap", "value": None, "extra": heatmap.to_extra()}]


def register_safety(name: str, description: str, defaults: GridParams, build: CellBuilder, grader: Grader,
                    declared: Sequence[MetricSpec], heatmap_metric: str, version: int) -> None:
    def make(variant: str | None) -> SafetyGridTask:
        params = parse_variant(name, variant, defaults, {})
        return SafetyGridTask(name, variant, params, build, description, grader, declared, heatmap_metric, version)
    register_task(name, family="safety", description=description)(make)
