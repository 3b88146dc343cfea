"""The leaderboard: models × tasks from the latest complete run per (model, task), aggregated across
tasks by `assay.stats.ranking.leaderboard` (mean with CI, Borda score, rank intervals)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine

from assay.web.queries import primary_metric_rows


def task_families() -> dict[str, str]:
    """Task base name → family, from the task registry."""
    from assay.tasks import task_entries

    return {entry.name: entry.family for entry in task_entries()}


def family_of(task: str, families: dict[str, str]) -> str:
    # Variants share their base task's family (`bbh_cot:boolean_expressions` → bbh_cot's family);
    # tasks not in the registry (YAML files, uploads from elsewhere) are "other".
    return families.get(task.partition(":")[0], "other")


def backend_of(model: str) -> str:
    return model.partition(":")[0]


@dataclass
class Leaderboard:
    tasks: list[str]
    # One entry per model: the ranking fields plus "cells": task → primary-metric row.
    models: list[dict[str, Any]]
    families: list[str]
    backends: list[str]
    family: str | None
    backend: str | None
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"tasks": self.tasks, "models": self.models, "families": self.families, "backends": self.backends,
                "family": self.family, "backend": self.backend, "notes": self.notes}


def _left_out(reason: str, rows: list[dict[str, Any]]) -> str:
    named = ", ".join(f"{r['model']} / {r['task']}" + (f" ({r['detail']})" if r.get("detail") else "")
                      for r in rows[:10])
    return f"left out ({reason}): {named}" + (" …" if len(rows) > 10 else "")


def _oriented(row: dict[str, Any]) -> dict[str, Any]:
    """A lower-is-better 0..1 primary metric ranked as 1 - value (its CI flipped), so every cell reads
    'higher is better' and a mean over tasks means something."""
    if row["higher_is_better"]:
        return row
    def flip(value: float | None) -> float | None:
        return None if value is None else 1.0 - value

    return {**row, "metric": f"1 − {row['metric']}", "value": flip(row["value"]), "ci_low": flip(row["ci_high"]),
            "ci_high": flip(row["ci_low"])}


def rankable_rows(rows: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[str]]:
    """The primary-metric rows a leaderboard can rank, oriented higher-is-better, and a note for each
    kind left out, naming the real reason: no primary value (stored before metrics were declared, or no
    sample scored on it), a descriptive primary (no direction), a primary off the 0..1 scale (a perplexity
    or a 1..10 rubric score cannot be averaged with accuracies), a non-finite value."""
    groups: dict[str, list[dict[str, Any]]] = {}
    kept = []
    for row in rows:
        metric = row["metric"]
        if metric is None:
            reason, detail = row.get("unranked") or "no primary metric row", row.get("unranked_detail", "")
        elif row["higher_is_better"] is None:
            reason, detail = "the primary metric is descriptive: it has no better direction", metric
        elif row["scale"] != "0..1":
            reason, detail = "the primary metric is not on the 0..1 scale of the other tasks", f"{metric}: {row['scale']}"
        elif row["value"] is None or not all(row[k] is None or math.isfinite(row[k]) for k in ("value", "ci_low", "ci_high")):
            reason, detail = "no value or a non-finite value or CI", metric
        else:
            kept.append(_oriented(row))
            continue
        groups.setdefault(reason, []).append({**row, "detail": detail})
    return kept, [_left_out(reason, group) for reason, group in groups.items()]


def build_leaderboard(engine: Engine, family: str | None = None, backend: str | None = None) -> Leaderboard:
    from assay.stats.ranking import leaderboard

    families = task_families()
    rows, notes = rankable_rows(primary_metric_rows(engine))
    all_families = sorted({family_of(r["task"], families) for r in rows})
    all_backends = sorted({backend_of(r["model"]) for r in rows})
    if family:
        rows = [r for r in rows if family_of(r["task"], families) == family]
    if backend:
        rows = [r for r in rows if backend_of(r["model"]) == backend]
    tasks = sorted({r["task"] for r in rows})
    cells: dict[str, dict[str, dict[str, Any]]] = {}
    for r in rows:
        cells.setdefault(r["model"], {})[r["task"]] = {
            "value": r["value"], "ci_low": r["ci_low"], "ci_high": r["ci_high"], "n": r["n"],
            "metric": r["metric"], "run_id": r["run_id"], "family": family_of(r["task"], families)}
    ranked = leaderboard([{"model": r["model"], "task": r["task"], "value": r["value"], "ci_low": r["ci_low"],
                           "ci_high": r["ci_high"], "n": r["n"]} for r in rows]) if rows else []
    models = [{**entry, "backend": backend_of(entry["model"]), "cells": cells.get(entry["model"], {})}
              for entry in ranked]
    missing = [m["model"] for m in models if len(m["cells"]) < len(tasks)]
    if missing:
        notes.append(f"{len(missing)} model(s) lack results on some tasks; their aggregate covers only the tasks "
                     "they have (n_tasks).")
    return Leaderboard(tasks, models, all_families, all_backends, family or None, backend or None, notes)
