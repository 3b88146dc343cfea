"""Geometry of the inline SVG charts (length curves, calibration diagrams), and the needle heatmaps.

This module only computes numbers and labels; the templates draw them, so every string that came
from stored data passes through Jinja's autoescaping and no markup is built by hand here.
Extras are validated with the report's shapes (`assay.report.extras`), the heatmap with its
producer's class (`assay.tasks.longctx.heatmap.Heatmap`); a malformed row becomes a visible note,
never a crash or a wrong picture. Heatmaps are drawn by the one heatmap renderer
(`assay.tasks.longctx.plots`) as a data-URI SVG image, the same picture as the report's and the PNG.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from assay.display import length_label
from assay.report.extras import CalibrationBin, EceExtra, LengthCurveExtra, metric_kind, parse_extra
from assay.tasks.longctx.heatmap import Heatmap
from assay.tasks.longctx.plots import heatmap_svg_data_uri

WIDTH, HEIGHT = 420, 260
MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, MARGIN_BOTTOM = 48, 12, 14, 36
# Colour-blind-safe series colours (Okabe–Ito).
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000")


@dataclass
class Series:
    label: str
    color: str
    points: list[tuple[float, float]]
    # Polygon of the CI band (upper edge left→right, lower edge right→left), empty without CIs.
    band: list[tuple[float, float]] = field(default_factory=list)


@dataclass
class Tick:
    position: float
    label: str


@dataclass
class LineChart:
    title: str
    width: int
    height: int
    plot: tuple[float, float, float, float]  # x0, y0, x1, y1 of the plotting area
    series: list[Series]
    x_ticks: list[Tick]
    y_ticks: list[Tick]
    x_label: str
    y_label: str


@dataclass
class HeatmapImage:
    title: str
    alt: str
    data_uri: str


@dataclass
class CalibrationBar:
    x: float
    y: float
    w: float
    h: float
    label: str


@dataclass
class CalibrationChart:
    title: str
    width: int
    height: int
    plot: tuple[float, float, float, float]
    bars: list[CalibrationBar]
    ticks: list[Tick]
    ece: float | None


def _fmt_length(value: float) -> str:
    # Lengths are set in binary thousands (1k = 1024 tokens): 1k/2k/4k, never 1.024k.
    return length_label(value)


def _scale(low: float, high: float, out_low: float, out_high: float, log: bool = False) -> Callable[[float], float]:
    """Linear (or log) map of [low, high] onto [out_low, out_high]; a single value maps to the middle."""
    if log:
        low, high = math.log(low), math.log(high)
    span = high - low

    def apply(value: float) -> float:
        if span == 0:
            return (out_low + out_high) / 2
        v = math.log(value) if log else value
        return out_low + (v - low) / span * (out_high - out_low)
    return apply


def length_chart(title: str, curves: list[tuple[str, LengthCurveExtra]]) -> LineChart | None:
    """Score against context length, one series per (label, curve), with CI bands."""
    curves = [(label, c) for label, c in curves if any(m is not None for m in c.mean)]
    if not curves:
        return None
    lengths = sorted({x for _, c in curves for x in c.lengths})
    values = [v for _, c in curves for v in (*c.mean, *(c.ci_low or ()), *(c.ci_high or ())) if v is not None]
    y_low, y_high = min(0.0, min(values)), max(1.0, max(values))
    # Lengths usually double from point to point: a log axis spaces them evenly.
    log_x = lengths[0] > 0 and lengths[-1] / lengths[0] >= 8
    x0, y0, x1, y1 = MARGIN_LEFT, MARGIN_TOP, WIDTH - MARGIN_RIGHT, HEIGHT - MARGIN_BOTTOM
    sx = _scale(lengths[0], lengths[-1], x0, x1, log=log_x)
    sy = _scale(y_low, y_high, y1, y0)
    series = []
    for number, (label, curve) in enumerate(curves):
        points = [(sx(x), sy(m)) for x, m in zip(curve.lengths, curve.mean, strict=True) if m is not None]
        band: list[tuple[float, float]] = []
        if curve.ci_low is not None and curve.ci_high is not None:
            upper = [(sx(x), sy(h)) for x, lo, h in zip(curve.lengths, curve.ci_low, curve.ci_high, strict=True)
                     if lo is not None and h is not None]
            lower = [(sx(x), sy(lo)) for x, lo, h in zip(curve.lengths, curve.ci_low, curve.ci_high, strict=True)
                     if lo is not None and h is not None]
            band = upper + lower[::-1]
        series.append(Series(label, PALETTE[number % len(PALETTE)], points, band))
    x_ticks = [Tick(sx(x), _fmt_length(x)) for x in lengths]
    y_ticks = [Tick(sy(y_low + (y_high - y_low) * k / 4), f"{y_low + (y_high - y_low) * k / 4:.2g}") for k in range(5)]
    return LineChart(title, WIDTH, HEIGHT, (x0, y0, x1, y1), series, x_ticks, y_ticks, "context length (tokens)", "score")


def calibration_chart(title: str, bins: list[CalibrationBin], ece: float | None) -> CalibrationChart:
    """Reliability diagram: accuracy per confidence bin against the diagonal."""
    x0, y0, x1, y1 = MARGIN_LEFT, MARGIN_TOP, WIDTH - MARGIN_RIGHT, HEIGHT - MARGIN_BOTTOM
    sx = _scale(0.0, 1.0, x0, x1)
    sy = _scale(0.0, 1.0, y1, y0)
    bars = []
    for b in bins:
        if b.count <= 0 or b.accuracy is None:
            continue
        confidence = "?" if b.confidence is None else f"{b.confidence:.3f}"
        bars.append(CalibrationBar(sx(b.low), sy(b.accuracy), sx(b.high) - sx(b.low), sy(0.0) - sy(b.accuracy),
                                   f"[{b.low:.2f}, {b.high:.2f}): n={b.count}, confidence {confidence}, "
                                   f"accuracy {b.accuracy:.3f}"))
    ticks = [Tick(k / 4, f"{k / 4:.2g}") for k in range(5)]
    ticks = [Tick(sx(t.position), t.label) for t in ticks]
    return CalibrationChart(title, WIDTH, HEIGHT, (x0, y0, x1, y1), bars, ticks, ece)


@dataclass
class TaskCharts:
    """Charts of one task drawn from its metric rows, plus notes on rows that could not be drawn."""

    curves: list[LineChart] = field(default_factory=list)
    heatmaps: list[HeatmapImage] = field(default_factory=list)
    calibration: list[CalibrationChart] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def empty(self) -> bool:
        return not (self.curves or self.heatmaps or self.calibration or self.notes)


def charts_for(metric_rows: list[dict[str, Any]], label_of: Any = None) -> TaskCharts:
    """Charts from the metric rows of one task. Rows from several runs (a task page: one run per
    model) overlay their length curves in one chart; heatmaps and calibration get one chart each.
    `label_of(row)` names a row's series (default: the metric name)."""
    out = TaskCharts()

    def title(row: dict[str, Any]) -> str:
        return f"{row['task']} · {row['name']}" + (f" · {label_of(row)}" if label_of else "")
    curves: dict[str, list[tuple[str, LengthCurveExtra]]] = {}
    for row in metric_rows:
        kind = metric_kind(row["name"])
        if kind not in ("heatmap", "length_curve", "ece"):
            continue
        try:
            extra = parse_extra(kind, row.get("extra"))
        except ValueError as exc:
            out.notes.append(f"{row['task']} / {row['name']}: not drawn ({exc})")
            continue
        if isinstance(extra, LengthCurveExtra):
            curves.setdefault(row["name"], []).append((str(label_of(row)) if label_of else row["name"], extra))
        elif isinstance(extra, Heatmap):
            out.heatmaps.append(HeatmapImage(title(row), extra.describe(), heatmap_svg_data_uri(extra, title(row))))
        elif isinstance(extra, EceExtra):
            value = row.get("value")
            out.calibration.append(calibration_chart(title(row), extra.bins,
                                                     value if isinstance(value, (int, float)) else None))
    for name, group in curves.items():
        chart = length_chart(f"{metric_rows[0]['task']} · {name}", group)
        if chart is not None:
            out.curves.append(chart)
    return out
