"""What `assay run` prints after a run with long-context tasks: the heatmap PNG path and the
effective context length, per long-context task. The CLI calls `run_report_lines(store, run_id)`."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from assay.tasks.longctx.heatmap import Heatmap
from assay.tasks.longctx.plots import save_heatmap_png


def heatmap_path(run_id: str, task: str, out_dir: str | Path = "assay_out") -> Path:
    safe_task = re.sub(r"[^A-Za-z0-9_.-]+", "_", task)
    return Path(out_dir) / f"{run_id}_{safe_task}_heatmap.png"


def run_report_lines(store: Any, run_id: str, out_dir: str | Path = "assay_out", include_effective: bool = True) -> list[str]:
    """Render each long-context task's heatmap to ./assay_out/<run>_<task>_heatmap.png and return
    lines to print: the path, the effective length (unless the caller already prints the metric
    notes, as `assay run` does) and the length×depth table."""
    by_task: dict[str, dict[str, dict[str, Any]]] = {}
    for metric in store.get_metrics(run_id):
        by_task.setdefault(metric["task"], {})[metric["name"]] = metric
    lines: list[str] = []
    for task, metrics in sorted(by_task.items()):
        heatmap = metrics.get("heatmap")
        if heatmap is None:
            continue
        try:
            grid = Heatmap.from_extra(heatmap["extra"])
        except ValueError as exc:
            lines.append(f"{task}: heatmap not drawn (stored heatmap is malformed: {exc})")
            continue
        path = save_heatmap_png(grid, heatmap_path(run_id, task, out_dir), title=f"{task} — run {run_id}")
        lines.append(f"{task}: heatmap {path.resolve()}")
        effective = metrics.get("effective_length")
        if effective is not None and include_effective:
            lines.append(f"{task}: {effective['extra']['note']}")
        lines.extend(f"{task}: {line}" for line in grid.table())
    return lines
