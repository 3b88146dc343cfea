"""Separability (arena-hard's "confidence"): the share of model pairs whose confidence intervals do not
overlap. Two intervals overlap when each starts no later than the other ends (touching counts)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from assay.errors import AssayError


def overlapping_pairs(intervals: Mapping[str, tuple[float, float]]) -> tuple[int, int]:
    """-> (pairs that overlap, all pairs)."""
    lows = np.array([v[0] for v in intervals.values()], dtype=float)
    highs = np.array([v[1] for v in intervals.values()], dtype=float)
    overlap = (lows[:, None] <= highs[None, :]) & (lows[None, :] <= highs[:, None])
    n = lows.size
    return int(np.triu(overlap, k=1).sum()), n * (n - 1) // 2


def separability(intervals: Mapping[str, tuple[float, float]]) -> dict[str, Any]:
    overlapping, pairs = overlapping_pairs(intervals)
    return {"pairs": pairs, "overlapping": overlapping,
            "separability": None if pairs == 0 else (pairs - overlapping) / pairs}


def read_bootstrap_stats(path: Path) -> dict[str, tuple[float, float]]:
    """arena-hard's bootstrap_stats_*.jsonl: one JSON object per model with `model`, `lower`, `upper`."""
    intervals: dict[str, tuple[float, float]] = {}
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise AssayError(f"{path}: cannot read ({exc.strerror})") from None
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            intervals[str(row["model"])] = (float(row["lower"]), float(row["upper"]))
        except (ValueError, KeyError, TypeError) as exc:
            raise AssayError(f"{path}:{number}: expected a JSON object with model, lower and upper ({exc})") from None
    return intervals
