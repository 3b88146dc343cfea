"""The web's comparison of two runs: `assay.comparison.compare_runs`, the engine `assay compare` uses
(spec-hash check, paired tests, Holm correction, declared directions), with its refusal turned into
a message the page shows instead of an error page."""

from __future__ import annotations

import math
from typing import Any

from assay.comparison import compare_runs
from assay.errors import AssayError
from assay.store import Store


def _plain(value: Any) -> Any:
    """JSON-safe: numpy scalars as Python numbers, NaN/inf as null."""
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def web_comparison(store: Store, run_a: str, run_b: str) -> dict[str, Any]:
    """The comparison as plain data, or {"refused": reason} when the runs are not comparable."""
    try:
        result = compare_runs(store, run_a, run_b)
    except AssayError as exc:
        return {"run_a": run_a, "run_b": run_b, "refused": str(exc), "comparisons": [], "tasks": [], "notes": [],
                "warnings": []}
    result["comparisons"] = [{k: _plain(v) for k, v in c.items()} for c in result["comparisons"]]
    return {**result, "refused": None}
