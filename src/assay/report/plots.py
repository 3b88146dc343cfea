"""The report's figures: matplotlib (object API, no pyplot global state) rendered to SVG and embedded
as base64 `data:` images, so the HTML loads nothing from anywhere and an SVG can never run script
inside the page (an <img> SVG is inert).
"""

from __future__ import annotations

import base64
import functools
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import ParamSpec, TypeVar

import matplotlib
import matplotlib.ticker
from matplotlib.figure import Figure

from assay.report.extras import EceExtra, FormatSensitivityExtra, LengthCurveExtra

# Text as paths: no font is referenced by the SVG. Fixed hash salt + no date: same data, same bytes.
# No mathtext: a task or format name with "$" is a name, not a formula (and must not fail to parse).
_SVG_RC = {"svg.fonttype": "path", "svg.hashsalt": "assay-report", "font.size": 9, "text.parse_math": False}
_MAX_FOREST_ROWS = 80
P = ParamSpec("P")
R = TypeVar("R")


@dataclass(frozen=True)
class FigureImage:
    title: str
    alt: str
    data_uri: str


@dataclass(frozen=True)
class ForestPoint:
    row: str
    run_index: int
    value: float
    ci_low: float | None
    ci_high: float | None


def run_color(index: int) -> str:
    return matplotlib.colormaps["tab10"](index % 10)


def _with_plot_style(function: Callable[P, R]) -> Callable[P, R]:
    """Run a figure builder under the report's rc settings (text objects read them when created)."""

    @functools.wraps(function)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with matplotlib.rc_context(_SVG_RC):
            return function(*args, **kwargs)

    return wrapper


def _image(figure: Figure, title: str, alt: str) -> FigureImage:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="svg", metadata={"Date": None})
    encoded = base64.b64encode(buffer.getvalue()).decode("ascii")
    return FigureImage(title, alt, f"data:image/svg+xml;base64,{encoded}")


def _new_figure(width: float, height: float) -> Figure:
    return Figure(figsize=(width, height), layout="constrained")


def interval_errors(value: float, low: float | None, high: float | None) -> list[list[float]] | None:
    """matplotlib's `xerr` for an interval around `value`, never negative: a stored interval that does not
    contain its estimate (databases written before intervals were clipped) is drawn widened to reach it
    (the builder notes it) instead of failing the whole report."""
    if low is None or high is None:
        return None
    return [[max(0.0, value - low)], [max(0.0, high - value)]]


def _on_unit_scale(points: Sequence[ForestPoint]) -> bool:
    values = [v for p in points for v in (p.value, p.ci_low, p.ci_high) if v is not None]
    return all(-1e-9 <= v <= 1 + 1e-9 for v in values)


@_with_plot_style
def forest_plots(points: Sequence[ForestPoint], run_labels: Sequence[str]) -> list[FigureImage]:
    """Metric means with 95% CIs, one row per task·metric, one colour per run. Scores on [0, 1]
    and scores on other scales get separate figures so neither squashes the other."""
    rows_by_scale: dict[str, list[str]] = {"unit": [], "other": []}
    by_row: dict[str, list[ForestPoint]] = {}
    for point in points:
        by_row.setdefault(point.row, []).append(point)
    for row, row_points in by_row.items():
        rows_by_scale["unit" if _on_unit_scale(row_points) else "other"].append(row)
    images = []
    for scale, rows in rows_by_scale.items():
        if not rows:
            continue
        shown = rows[:_MAX_FOREST_ROWS]
        figure = _new_figure(7.5, 0.9 + 0.32 * len(shown) * max(1, min(len(run_labels), 3)) ** 0.5)
        axes = figure.add_subplot()
        n_runs = len(run_labels)
        offsets = [(i - (n_runs - 1) / 2) * (0.6 / max(n_runs, 1)) for i in range(n_runs)]
        used_runs = set()
        for position, row in enumerate(shown):
            for point in by_row[row]:
                y = position + offsets[point.run_index]
                axes.errorbar(point.value, y, xerr=interval_errors(point.value, point.ci_low, point.ci_high), fmt="o",
                              markersize=4, capsize=2.5, color=run_color(point.run_index),
                              label=run_labels[point.run_index] if point.run_index not in used_runs else None)
                used_runs.add(point.run_index)
        axes.set_yticks(range(len(shown)), shown)
        axes.set_ylim(len(shown) - 0.5, -0.5)  # first row on top, room for the per-run offsets
        axes.grid(axis="x", alpha=0.3)
        axes.set_xlabel("mean with 95% CI")
        if scale == "unit":
            axes.set_xlim(-0.02, 1.02)
        if n_runs > 1:
            figure.legend(loc="outside lower center", ncols=2, fontsize=8, frameon=False)
        title = "Scores on [0, 1]" if scale == "unit" else "Scores on other scales"
        if len(rows) > len(shown):
            title += f" (first {len(shown)} of {len(rows)} metrics)"
        images.append(_image(figure, title, f"forest plot: {title}, {len(shown)} metrics × {n_runs} runs"))
    return images


def _length_label(length: float) -> str:
    return f"{length / 1024:g}k" if length >= 1024 and length % 256 == 0 else f"{length:g}"


@dataclass(frozen=True)
class CurveSeries:
    run_index: int
    label: str
    curve: LengthCurveExtra
    effective_length: float | None = None
    threshold: float | None = None


@_with_plot_style
def length_curve_figure(title: str, series: Sequence[CurveSeries]) -> FigureImage:
    """Mean score against context length with its 95% band, one line per run; the effective length
    (longest length whose score stays above the threshold) as a dashed vertical line."""
    figure = _new_figure(7.0, 3.6)
    axes = figure.add_subplot()
    all_lengths = [length for s in series for length in s.curve.lengths if length > 0]
    if all_lengths and max(all_lengths) / min(all_lengths) >= 8:
        axes.set_xscale("log", base=2)
    top = 0.0
    for s in series:
        color = run_color(s.run_index)
        points = [(x, m) for x, m in zip(s.curve.lengths, s.curve.mean, strict=True) if m is not None]
        if not points:
            continue
        xs, means = zip(*points, strict=True)
        top = max(top, *means)
        axes.plot(xs, means, marker="o", markersize=3.5, color=color, label=s.label)
        if s.curve.ci_low is not None and s.curve.ci_high is not None:
            band = [(x, lo, hi) for x, lo, hi in zip(s.curve.lengths, s.curve.ci_low, s.curve.ci_high, strict=True)
                    if lo is not None and hi is not None]
            if band:
                bx, blo, bhi = zip(*band, strict=True)
                axes.fill_between(bx, blo, bhi, color=color, alpha=0.18, linewidth=0)
        if s.effective_length is not None and s.effective_length > 0:
            axes.axvline(s.effective_length, color=color, linestyle="--", linewidth=1,
                         label=f"effective length {s.effective_length:g}")
        elif s.effective_length is not None:
            # 0 = the shortest tested length already falls below the threshold: nothing to mark on the axis.
            axes.plot([], [], color=color, linestyle="--", linewidth=1, label="effective length: none of the tested lengths")
    thresholds = {s.threshold for s in series if s.threshold is not None}
    for threshold in thresholds:
        # Thresholds are stated in percent (RULER's 85.6); draw them on the curve's own scale.
        level = threshold / 100 if threshold > 1 and top <= 1 else threshold
        axes.axhline(level, color="grey", linestyle=":", linewidth=1, label=f"threshold {threshold:g}")
    ticks = sorted(set(all_lengths))
    if 0 < len(ticks) <= 16:
        # Named ticks (512, 1k, 2k, ...): the default log formatter would need mathtext, which is off.
        axes.set_xticks(ticks, [_length_label(v) for v in ticks])
        axes.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())
    axes.set_xlabel("context length (tokens)")
    axes.set_ylabel("mean score (95% CI)")
    axes.grid(alpha=0.3)
    if top <= 1:
        axes.set_ylim(-0.02, 1.02)
    axes.legend(fontsize=7, loc="best")
    return _image(figure, title, f"score against context length for {len(series)} run(s)")


@_with_plot_style
def reliability_figure(title: str, series: Sequence[tuple[int, str, EceExtra]]) -> FigureImage:
    """Accuracy against stated confidence per bin (marker area ∝ samples in the bin); the diagonal
    is perfect calibration."""
    figure = _new_figure(4.8, 4.4)
    axes = figure.add_subplot()
    axes.plot([0, 1], [0, 1], color="grey", linestyle=":", linewidth=1, label="perfect calibration")
    for run_index, label, extra in series:
        bins = [b for b in extra.bins if b.count > 0 and b.confidence is not None and b.accuracy is not None]
        if not bins:
            continue
        total = sum(b.count for b in bins)
        axes.plot([b.confidence for b in bins], [b.accuracy for b in bins], color=run_color(run_index), linewidth=1,
                  label=label)
        axes.scatter([b.confidence for b in bins], [b.accuracy for b in bins], color=run_color(run_index),
                     s=[12 + 160 * b.count / total for b in bins], zorder=3)
    axes.set_xlim(0, 1)
    axes.set_ylim(0, 1)
    axes.set_aspect("equal")
    axes.set_xlabel("confidence")
    axes.set_ylabel("accuracy")
    axes.grid(alpha=0.3)
    axes.legend(fontsize=7, loc="upper left")
    return _image(figure, title, f"reliability diagram for {len(series)} run(s)")


@_with_plot_style
def format_spread_figure(title: str, series: Sequence[tuple[int, str, FormatSensitivityExtra]]) -> FigureImage:
    """Mean score under each prompt format with its 95% CI, one colour per run."""
    formats: list[str] = []
    for _, _, extra in series:
        formats.extend(f for f in extra.per_format if f not in formats)
    figure = _new_figure(7.0, 1.0 + 0.3 * len(formats) * max(1, len(series)) ** 0.5)
    axes = figure.add_subplot()
    offsets = [(i - (len(series) - 1) / 2) * (0.6 / max(len(series), 1)) for i in range(len(series))]
    unit = True
    for offset, (run_index, label, extra) in zip(offsets, series, strict=True):
        first = True
        for position, name in enumerate(formats):
            score = extra.per_format.get(name)
            if score is None or score.mean is None:
                continue
            unit = unit and all(0 <= v <= 1 for v in (score.mean, score.ci_low, score.ci_high) if v is not None)
            axes.errorbar(score.mean, position + offset, xerr=interval_errors(score.mean, score.ci_low, score.ci_high),
                          fmt="o", markersize=4, capsize=2.5, color=run_color(run_index), label=label if first else None)
            first = False
    axes.set_yticks(range(len(formats)), formats)
    axes.set_ylim(len(formats) - 0.5, -0.5)
    axes.set_xlabel("mean score under the format (95% CI)")
    axes.grid(axis="x", alpha=0.3)
    if unit:
        axes.set_xlim(-0.02, 1.02)
    figure.legend(loc="outside lower center", ncols=2, fontsize=8, frameon=False)
    return _image(figure, title, f"per-format means for {len(formats)} prompt formats")
