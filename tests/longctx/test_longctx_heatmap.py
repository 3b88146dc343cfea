"""The heatmap is one typed object owned by its producer: built from a real run's stored rows, stored as
its dump, read back and drawn by the one renderer with rows = lengths and columns = depths (percent,
"spread" for self-placed needles). Shapes the producer never makes are refused with a reason."""

from __future__ import annotations

import base64
import re
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest
from test_longctx_summary import ShortSightedModel

from assay.models.scripted import ScriptedModel
from assay.runner import Runner, RunOptions
from assay.tasks.base import TaskContext
from assay.tasks.longctx.heatmap import Heatmap, build_heatmap
from assay.tasks.longctx.plots import DEPTH_AXIS_ID, LENGTH_AXIS_ID, heatmap_figure, heatmap_svg_data_uri
from assay.tasks.longctx.report import run_report_lines
from assay.tasks.longctx.summary import longctx_aggregate
from assay.tasks.registry import get_task

# 4 lengths × 3 depths: a transposition cannot go unnoticed.
GRID = "niah_single:lengths=256+512+1024+2048/depths=0+50+100/n=1"


def _run(store: Any, model: Any, task: str) -> tuple[str, dict[str, dict[str, Any]]]:
    result = Runner(model, store).run([get_task(task)], RunOptions(seed=3, context=TaskContext(), show_progress=False))
    return result.run_id, {m["name"]: m for m in result.metrics}


def _axis_labels(svg: str, axis_id: str) -> list[str]:
    """Tick labels of one axis group, in drawing order (matplotlib writes each text as a comment)."""
    parser = ElementTree.XMLParser(target=ElementTree.TreeBuilder(insert_comments=True))
    root = ElementTree.fromstring(svg, parser=parser)
    axis = next(element for element in root.iter() if element.get("id") == axis_id)
    ticks = [child for child in axis if re.fullmatch(r"[xy]tick_\d+", child.get("id") or "")]
    return [" ".join((c.text or "").strip() for c in tick.iter() if c.tag is ElementTree.Comment) for tick in ticks]


def test_a_real_run_stores_the_typed_heatmap(store: Any) -> None:
    run_id, metrics = _run(store, ShortSightedModel(window=700), GRID)
    stored = metrics["heatmap"]["extra"]
    heatmap = Heatmap.from_extra(stored)
    assert heatmap.to_extra() == stored  # the stored extra is exactly the producer's dump
    assert heatmap.lengths == [256, 512, 1024, 2048] and heatmap.depths == [0.0, 50.0, 100.0]
    # matrix[length][depth]: past the 700-word window only the needle at depth 0 is found.
    assert heatmap.matrix[3] == [1.0, 0.0, 0.0] and heatmap.matrix[0] == [1.0, 1.0, 1.0]
    assert heatmap.counts == [[1, 1, 1]] * 4
    # Recomputing from the stored sample rows (the store is the truth) gives the same object.
    rows = list(store.iter_samples(run_id))
    assert Heatmap.from_extra(next(m for m in longctx_aggregate(rows) if m["name"] == "heatmap")["extra"]) == heatmap
    assert build_heatmap(rows) == heatmap


def test_every_view_draws_rows_as_lengths_and_columns_as_depths(store: Any, tmp_path: Path) -> None:
    run_id, metrics = _run(store, ShortSightedModel(window=700), GRID)
    heatmap = Heatmap.from_extra(metrics["heatmap"]["extra"])
    svg = base64.b64decode(heatmap_svg_data_uri(heatmap, "t").split(",", 1)[1]).decode()
    assert _axis_labels(svg, LENGTH_AXIS_ID) == ["256", "512", "1k", "2k"]
    assert _axis_labels(svg, DEPTH_AXIS_ID) == ["0%", "50%", "100%"]
    assert heatmap.describe() == ("heatmap of score: rows = context length (256, 512, 1k, 2k tokens), "
                                  "columns = needle depth (0%, 50%, 100%)")
    lines = run_report_lines(store, run_id, tmp_path / "out", include_effective=False)
    png = next(line.split(": heatmap ", 1)[1] for line in lines if ": heatmap " in line)
    assert Path(png).read_bytes().startswith(b"\x89PNG")
    table = [line.split(": ", 1)[1] for line in lines if ": heatmap " not in line]
    assert table[0].split() == ["length", "0%", "50%", "100%"]
    assert [row.split()[0] for row in table[1:]] == ["256", "512", "1024", "2048"]
    assert table[4].split() == ["2048", "100", "(n=1)", "0", "(n=1)", "0", "(n=1)"]


def _luminance(colour: Any) -> float:
    from matplotlib.colors import to_rgb

    red, green, blue = (c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in to_rgb(colour))
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def test_cell_labels_contrast_with_their_cells(store: Any) -> None:
    # Found (100, dark green) and missed (0, dark red) cells from a real run: black text on either end of the
    # colour scale is below WCAG's 4.5:1 for small text.
    _, metrics = _run(store, ShortSightedModel(window=700), GRID)
    heatmap = Heatmap.from_extra(metrics["heatmap"]["extra"])
    axes = heatmap_figure(heatmap, "t").axes[0]
    image = axes.images[0]
    labels = [text for text in axes.texts if (text.get_gid() or "").startswith("heatmap-cell-")]
    assert len(labels) == 4 * 3
    for label in labels:
        row, column = (int(part) for part in label.get_gid().rsplit("-", 2)[1:])
        cell = image.cmap(image.norm(image.get_array()[row, column]))
        lighter, darker = sorted((_luminance(cell), _luminance(label.get_color())), reverse=True)
        assert (lighter + 0.05) / (darker + 0.05) >= 4.5, (label.get_text(), cell, label.get_color())
        assert label.get_fontsize() >= 9  # 12 CSS px where the picture is shown at its own size


def test_self_placed_needles_are_the_spread_column(store: Any) -> None:
    _, metrics = _run(store, ScriptedModel("echo", None), "variable_tracking:lengths=256+512/n=1")
    heatmap = Heatmap.from_extra(metrics["heatmap"]["extra"])
    assert heatmap.depths == [None] and heatmap.depth_labels() == ["spread"]
    svg = base64.b64decode(heatmap_svg_data_uri(heatmap, "t").split(",", 1)[1]).decode()
    assert _axis_labels(svg, DEPTH_AXIS_ID) == ["spread"] and _axis_labels(svg, LENGTH_AXIS_ID) == ["256", "512"]
    assert heatmap.table()[0].split() == ["length", "spread"]


@pytest.mark.parametrize(("change", "message"), [
    (lambda e: {**e, "matrix": [list(c) for c in zip(*e["matrix"], strict=True)]},
     "matrix must be 4 lengths × 3 depths (rows = lengths, columns = depths)"),
    (lambda e: {k: v for k, v in e.items() if k != "counts"}, "counts: Field required"),
    (lambda e: {**e, "depths": [None, 50.0, 100.0]}, "depths may hold one None (spread), as the last column"),
    (lambda e: {**e, "depths": [0.0, 50.0, 150.0]}, "depths must be distinct percentages in 0..100"),
    (lambda e: {**e, "lengths": [512, 256, 1024, 2048]}, "lengths must be positive and increasing"),
    (lambda e: {**e, "matrix": [[2.0, 1.0, 1.0], *e["matrix"][1:]]}, "matrix values must be in 0..1, got 2.0"),
    (lambda e: {**e, "counts": [[0, 1, 1], *e["counts"][1:]]}, "a cell has a mean exactly when it has samples"),
    (lambda e: {**e, "colour": "red"}, "colour: Extra inputs are not permitted"),
])
def test_shapes_the_producer_never_makes_are_refused(store: Any, change: Any, message: str) -> None:
    _, metrics = _run(store, ShortSightedModel(window=700), GRID)
    with pytest.raises(ValueError, match=re.escape(message)):
        Heatmap.from_extra(change(metrics["heatmap"]["extra"]))
