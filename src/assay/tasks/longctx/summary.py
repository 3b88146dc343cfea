"""Corpus-level long-context summaries from stored sample rows: the length×depth heatmap, the
length curve with confidence intervals, RULER's effective context length and weighted averages,
per-variant breakdowns, twin (hallucination / false refusal) and counterfactual rates.

Scale convention: every metric value is in 0..1, except `effective_length` (tokens) and the
threshold, which is on RULER's published 0..100 scale (85.6 = Llama-2-7B-chat at 4K). Per-length
means are multiplied by 100 before they are compared with it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import numpy as np

from assay.stats.summary import summarize
from assay.tasks.longctx.heatmap import build_heatmap, heatmap_samples


def effective_length(lengths: Sequence[int], scores_0_100: Sequence[float], threshold: float = 85.6) -> int:
    """RULER's effective context length: the longest tested length L such that every tested length
    <= L scores at least the threshold (0 if the shortest already falls below). RULER's table marks
    a score equal to the threshold as passing (e.g. 85.6 at 128K is underlined), hence >=."""
    effective = 0
    for length, score in sorted(zip(lengths, scores_0_100, strict=True)):
        if score < threshold:
            break
        effective = length
    return effective


def weighted_average(scores: Sequence[float], increasing: bool) -> float:
    """RULER's wAvg: weights 1..n over the lengths in increasing order (inc) or n..1 (dec)."""
    n = len(scores)
    weights = np.arange(1, n + 1, dtype=float)
    if not increasing:
        weights = weights[::-1]
    return float(np.dot(weights, np.asarray(scores, dtype=float)) / weights.sum())


def _usable(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in rows if r.get("error_kind") != "request_failed"]


def _clip(bound: float | None) -> float | None:
    """Scores live in 0..1; a t interval on few clustered samples can overshoot, so it is clipped."""
    return None if bound is None else min(1.0, max(0.0, bound))


def _mean(values: list[float]) -> float | None:
    return float(np.mean(values)) if values else None


def _heatmap_rows(rows: list[dict[str, Any]], threshold: float) -> list[dict[str, Any]]:
    heatmap = build_heatmap(rows)
    if heatmap is None:
        return []
    by_length: dict[int, list[tuple[float, str | None]]] = defaultdict(list)
    for length, _, score, cluster in heatmap_samples(rows):
        by_length[length].append((score, cluster))
    heatmap_row = {"name": "heatmap", "value": None, "extra": heatmap.to_extra()}
    if not by_length:  # every request on the grid failed: the (empty) heatmap shows it; no curve to draw
        return [heatmap_row]
    lengths = sorted(by_length)
    curve = [summarize([v for v, _ in by_length[length]], [c for _, c in by_length[length]]) for length in lengths]
    means = [s.value if s.value is not None else 0.0 for s in curve]
    scores_100 = [100.0 * m for m in means]
    effective = effective_length(lengths, scores_100, threshold)
    passing = "none of the tested lengths" if effective == 0 else f"{effective} tokens"
    per_length = ", ".join(f"{length}:{s:.1f}" for length, s in zip(lengths, scores_100, strict=True))
    note = (f"effective context length: {passing} (RULER rule: every tested length up to it scores >= {threshold:g} "
            f"on the 0..100 scale; per-length scores {per_length})")
    return [
        heatmap_row,
        {"name": "length_curve", "value": None,
         "extra": {"metric": "score", "scale": "0..1", "lengths": lengths, "mean": means,
                   "ci_low": [_clip(s.ci_low) for s in curve], "ci_high": [_clip(s.ci_high) for s in curve],
                   "n": [s.n for s in curve], "method": [s.method for s in curve]}},
        {"name": "effective_length", "value": float(effective),
         "extra": {"threshold": threshold, "threshold_scale": "0..100", "lengths": lengths, "scores_0_100": scores_100,
                   "note": note}},
        {"name": "avg", "value": float(np.mean(means)), "extra": {"scale": "0..1", "over": "per-length means"}},
        {"name": "wavg_inc", "value": weighted_average(means, increasing=True),
         "extra": {"scale": "0..1", "weights": "1..n over increasing lengths (long contexts weigh more)"}},
        {"name": "wavg_dec", "value": weighted_average(means, increasing=False),
         "extra": {"scale": "0..1", "weights": "n..1 over increasing lengths (short contexts weigh more)"}},
    ]


def _variant_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    by_variant: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        if (row["scores"] or {}).get("score") is not None:
            by_variant[(row["metadata"] or {}).get("variant", "?")].append(row)
    if len(by_variant) < 2:
        return []
    out = []
    for variant in sorted(by_variant):
        group = by_variant[variant]
        per_length: dict[str, list[float]] = defaultdict(list)
        for row in group:
            per_length[str(row["metadata"].get("target_length"))].append(float(row["scores"]["score"]))
        summary = summarize([float(r["scores"]["score"]) for r in group], [r.get("cluster") for r in group])
        out.append({"name": f"variant/{variant}", **summary.to_dict(),
                    "extra": {"by_length": {k: _mean(v) for k, v in per_length.items()}}})
    return out


def _label_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    answerable = [r for r in rows if r["metadata"].get("scorer") == "twin_answerable"]
    unanswerable = [r for r in rows if r["metadata"].get("scorer") == "twin_unanswerable"]
    if not answerable and not unanswerable:
        return []

    def labels(group: list[dict[str, Any]]) -> dict[str, int]:
        counts: dict[str, int] = defaultdict(int)
        for row in group:
            counts[str((row["metadata"] or {}).get("label") or row.get("error_kind") or "?")] += 1
        return dict(counts)

    # The rates themselves are the per-sample means `hallucination` and `false_refusal` (with CIs); this row
    # only adds the label counts behind them.
    counts = {"unanswerable": labels(unanswerable), "answerable": labels(answerable)}
    return [{"name": "labels", "value": None, "n": len(answerable) + len(unanswerable),
             "extra": {**counts, "n_unanswerable": len(unanswerable), "n_answerable": len(answerable)}}]


def _counterfactual_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    doc = [r["scores"] for r in rows if r["metadata"].get("scorer") == "counterfactual_doc"]
    closed = [r["scores"] for r in rows if r["metadata"].get("scorer") == "counterfactual_closed"]
    if not doc and not closed:
        return []
    rates = {"doc_answer_rate": _mean([s["doc_answer"] for s in doc]),
             "prior_answer_in_doc_rate": _mean([s["prior_answer_in_doc"] for s in doc]),
             "closed_book_prior_rate": _mean([s["closed_book_prior"] for s in closed]),
             "closed_book_doc_answer_rate": _mean([s["closed_book_doc_answer"] for s in closed])}
    fmt = {k: "—" if v is None else f"{v:.2f}" for k, v in rates.items()}
    note = (f"counterfactual: answers from the document {fmt['doc_answer_rate']} vs prior knowledge "
            f"{fmt['prior_answer_in_doc_rate']} with the document; closed-book prior {fmt['closed_book_prior_rate']}")
    # The rates are means of per-sample scores, already listed with CIs: this row carries the comparison note.
    return [{"name": "counterfactual", "value": None,
             "extra": {**rates, "n_doc": len(doc), "n_closed_book": len(closed), "note": note}}]


def _needle_depth_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    found_by_depth: dict[float, list[float]] = defaultdict(list)
    for row in rows:
        meta = row["metadata"] or {}
        depths, found = meta.get("reference_depths"), meta.get("found")
        if not depths or found is None or len(depths) != len(found):
            continue
        for depth, hit in zip(depths, found, strict=True):
            found_by_depth[round(float(depth), 1)].append(1.0 if hit else 0.0)
    if not found_by_depth:
        return []
    depths = sorted(found_by_depth)
    return [{"name": "needle_recall_by_depth", "value": None,
             "extra": {"depths": depths, "recall": [_mean(found_by_depth[d]) for d in depths],
                       "counts": [len(found_by_depth[d]) for d in depths]}}]


def longctx_aggregate(rows: Sequence[dict[str, Any]], threshold: float = 85.6) -> list[dict[str, Any]]:
    usable = _usable(rows)
    for row in usable:
        row["metadata"] = row.get("metadata") or {}
    # The heatmap sees failed samples too: their cells stay on the grid, empty, instead of vanishing.
    out = _heatmap_rows(list(rows), threshold) + _variant_rows(usable) + _label_rows(usable)
    return out + _counterfactual_rows(usable) + _needle_depth_rows(usable)
