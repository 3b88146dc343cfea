"""The one heatmap renderer: matplotlib (object API, no pyplot global state, no display needed).

`assay run` and `assay heatmap` save it as PNG; the HTML report and the web pages embed it as a
data-URI SVG image (inert: an <img> SVG cannot run script). Rows are context lengths (shortest at the
top), columns are needle depths in percent ("spread" for self-placed needles), as in RULER's tables.
The SVG keeps each tick label as a comment inside the axis groups with ids `heatmap-lengths` and
`heatmap-depths`, so a test (or a reader) can check the orientation in the drawn picture itself.
"""

from __future__ import annotations

import base64
import io
import math
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING

from assay.tasks.longctx.heatmap import Heatmap

if TYPE_CHECKING:  # matplotlib is imported when a heatmap is drawn, so the tasks load without it (bench/gpu_check.py)
    from matplotlib.figure import Figure

# Text as paths: the SVG references no font. Fixed hash salt + no date: same heatmap, same bytes.
# No mathtext: a task name with "$" is a name, not a formula.
_STYLE = {"svg.fonttype": "path", "svg.hashsalt": "assay-heatmap", "font.size": 9, "text.parse_math": False}
LENGTH_AXIS_ID, DEPTH_AXIS_ID = "heatmap-lengths", "heatmap-depths"
_MAX_ANNOTATED_CELLS = 200


def heatmap_figure(heatmap: Heatmap, title: str) -> Figure:
    """The heatmap as a matplotlib Figure: cells coloured by mean score (red 0 → green 1), each
    annotated with its score on 0..100 and its sample count; cells without scores (failed) grey."""
    import matplotlib
    import numpy as np
    from matplotlib.figure import Figure

    with matplotlib.rc_context(_STYLE):
        matrix = np.array([[math.nan if v is None else 100.0 * v for v in row] for row in heatmap.matrix], dtype=float)
        n_lengths, n_depths = len(heatmap.lengths), len(heatmap.depths)
        width = min(12.0, 1.1 * n_depths + 3.2)
        figure = Figure(figsize=(width, min(10.0, 0.55 * n_lengths + 2.1)), layout="constrained")
        axes = figure.add_subplot()
        axes.set_facecolor("#d9d9d9")
        image = axes.imshow(np.ma.masked_invalid(matrix), cmap="RdYlGn", vmin=0.0, vmax=100.0, aspect="auto")
        axes.set_xticks(range(n_depths), heatmap.depth_labels())
        axes.set_yticks(range(n_lengths), heatmap.length_labels())
        axes.set_xlabel("needle depth (% of the document)")
        axes.set_ylabel("context length (tokens)")
        axes.xaxis.set_gid(DEPTH_AXIS_ID)
        axes.yaxis.set_gid(LENGTH_AXIS_ID)
        if matrix.size <= _MAX_ANNOTATED_CELLS:
            for (row, column), value in np.ndenumerate(matrix):
                count = heatmap.counts[row][column]
                text = "no scores" if count == 0 else f"{value:.0f}\nn={count}"
                axes.text(column, row, text, ha="center", va="center", fontsize=7, color="black")
        figure.colorbar(image, ax=axes, label=f"{heatmap.metric} (0..100)", shrink=0.9)
        # Long task names (variant strings) wrap instead of running off the figure.
        axes.set_title(textwrap.fill(title, width=int(width * 9), break_on_hyphens=False), fontsize=8)
    return figure


def save_heatmap_png(heatmap: Heatmap, path: str | Path, title: str) -> Path:
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    heatmap_figure(heatmap, title).savefig(out, dpi=110)
    return out


def heatmap_svg_data_uri(heatmap: Heatmap, title: str) -> str:
    """The heatmap as a `data:image/svg+xml;base64,...` URI for an <img>."""
    import matplotlib

    buffer = io.BytesIO()
    with matplotlib.rc_context(_STYLE):
        heatmap_figure(heatmap, title).savefig(buffer, format="svg", metadata={"Date": None})
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
