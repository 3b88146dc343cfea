"""Task-level rows for a paired condition (a perturbation, a stated opinion) against the clean
samples: the paired difference with its CI and p-value (`assay.stats.paired.compare_paired`:
McNemar for 0/1 scores, a cluster bootstrap when originals share clusters), and how often the
score changes, with Wilson intervals (`assay.stats.summary.summarize`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from assay.stats.errors import StatsInputError
from assay.stats.paired import compare_paired
from assay.stats.summary import summarize


def rate_row(name: str, flags: Sequence[float], clusters: Sequence[str | None], extra: dict[str, Any]) -> dict[str, Any]:
    summary = summarize(list(flags), list(clusters)) if flags else None
    if summary is None or summary.value is None:
        note = f"{name}: no items to rate (none started in that state)"
        return {"name": name, "value": None, "n": 0, "method": "task", "extra": {**extra, "note": note}}
    return {"name": name, "value": summary.value, "ci_low": summary.ci_low, "ci_high": summary.ci_high,
            "stderr": summary.stderr, "n": summary.n, "method": summary.method, "extra": extra}


def paired_rows(label: str, clean: Sequence[float], changed: Sequence[float], clusters: Sequence[str | None],
                extra: dict[str, Any], diff_name: str = "perturb_diff", flip_name: str = "flip_rate") -> list[dict[str, Any]]:
    """`{diff_name}/{label}` (changed − clean, CI, p) and `{flip_name}/{label}` (share of pairs whose
    score differs), plus, for 0/1 scores, `flip_to_wrong/{label}` (right → wrong, among the clean
    rights) and `flip_to_right/{label}` (wrong → right, among the clean wrongs)."""
    pairs = list(zip(clean, changed, strict=True))
    to_wrong = sum(1 for a, b in pairs if a == 1 and b == 0)
    to_right = sum(1 for a, b in pairs if a == 0 and b == 1)
    binary = all(v in (0.0, 1.0) for pair in pairs for v in pair)
    rows: list[dict[str, Any]] = []
    info = {**extra, "n_pairs": len(pairs), "flips_to_wrong": to_wrong, "flips_to_right": to_right}
    try:
        result = compare_paired(clean, changed, clusters if any(c is not None for c in clusters) else None)
    except StatsInputError as exc:
        rows.append({"name": f"{diff_name}/{label}", "value": None, "n": len(pairs), "method": "task",
                     "extra": {**info, "note": f"{diff_name}/{label}: {exc}"}})
    else:
        rows.append({"name": f"{diff_name}/{label}", "value": result.diff, "ci_low": result.ci_low,
                     "ci_high": result.ci_high, "stderr": result.stderr, "n": result.n, "method": result.test,
                     "extra": {**info, "clean": result.mean_a, "changed": result.mean_b, "p_value": result.p_value,
                               "test": result.test, "mde_80": result.mde_80}})
    rows.append(rate_row(f"{flip_name}/{label}", [float(a != b) for a, b in pairs], clusters, info))
    if binary:
        right = [(b, c) for (a, b), c in zip(pairs, clusters, strict=True) if a == 1]
        wrong = [(b, c) for (a, b), c in zip(pairs, clusters, strict=True) if a == 0]
        rows.append(rate_row(f"flip_to_wrong/{label}", [float(b == 0) for b, _ in right], [c for _, c in right], {}))
        rows.append(rate_row(f"flip_to_right/{label}", [float(b == 1) for b, _ in wrong], [c for _, c in wrong], {}))
    return rows
