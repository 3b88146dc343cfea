"""Chart geometry from task metric rows: drawn when well-formed, a visible note when not."""

from __future__ import annotations

import base64
import math

from assay.tasks.longctx.heatmap import build_heatmap
from assay.web import rendering
from assay.web.charts import charts_for


def _row(name: str, extra: dict, value: float | None = None) -> dict:
    return {"task": "niah", "name": name, "value": value, "extra": extra, "run_id": "r1"}


def _sample_rows() -> list[dict]:
    """Stored-sample-shaped rows on a 3-length × 2-depth grid (one cell empty), for the real heatmap producer."""
    rows = []
    for index, (length, depth) in enumerate((n, d) for n in (1024, 2048, 4096) for d in (0.0, 50.0)):
        if (length, depth) == (2048, 0.0):
            continue
        rows.append({"metadata": {"in_heatmap": True, "target_length": length, "depth_percent": depth},
                     "scores": {"score": float(index % 2)}, "cluster": None})
    return rows


def test_well_formed_rows_become_charts_and_bad_ones_notes() -> None:
    heatmap = build_heatmap(_sample_rows())
    assert heatmap is not None
    transposed = {**heatmap.to_extra(), "matrix": [list(col) for col in zip(*heatmap.matrix, strict=True)]}
    rows = [
        _row("length_curve", {"lengths": [1024, 2048, 4096, 8192], "mean": [1.0, 0.9, 0.5, None],
                              "ci_low": [0.9, 0.8, 0.3, None], "ci_high": [1.0, 1.0, 0.7, None]}),
        _row("heatmap", heatmap.to_extra()),
        _row("ece", {"bins": [{"low": 0.0, "high": 0.5, "count": 3, "confidence": 0.3, "accuracy": 0.2},
                              {"low": 0.5, "high": 1.0, "count": 0}]}, value=0.1),
        # The consumers' old idea of the shape (depths × lengths) is refused with a reason, never drawn transposed.
        _row("heatmap:decoys", transposed),
        _row("exact_match", {}),
    ]
    charts = charts_for(rows)
    assert len(charts.curves) == 1 and len(charts.heatmaps) == 1 and len(charts.calibration) == 1
    assert len(charts.notes) == 1
    assert charts.notes[0].startswith("niah / heatmap:decoys: not drawn")
    assert "3 lengths × 2 depths (rows = lengths, columns = depths)" in charts.notes[0]
    curve = charts.curves[0].series[0]
    assert len(curve.points) == 3 and len(curve.band) == 6
    assert all(math.isfinite(v) for p in curve.points + curve.band for v in p)
    # log-spaced lengths are evenly spaced on the axis
    xs = [p[0] for p in curve.points]
    assert math.isclose(xs[1] - xs[0], xs[2] - xs[1])
    heat = charts.heatmaps[0]
    assert heat.alt == "heatmap of score: rows = context length (1k, 2k, 4k tokens), columns = needle depth (0%, 50%)"
    svg = base64.b64decode(heat.data_uri.removeprefix("data:image/svg+xml;base64,")).decode()
    assert "<!-- no scores -->" in svg and "<script" not in svg
    assert len(charts.calibration[0].bars) == 1


def test_chart_labels_are_escaped_in_svg() -> None:
    heatmap = build_heatmap(_sample_rows())
    assert heatmap is not None
    rows = [_row("heatmap", heatmap.to_extra())]
    rows[0]["task"] = "<img src=x onerror=alert(1)>"
    template = rendering._env.from_string('{% from "_charts.html" import task_charts %}{{ task_charts(c) }}')
    out = template.render(c=charts_for(rows))
    assert '<img src="data:image/svg+xml;base64,' in out and "<img src=x" not in out
    assert "&lt;img src=x onerror=alert(1)&gt;" in out
