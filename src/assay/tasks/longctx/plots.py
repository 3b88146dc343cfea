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
# Each cell's label is a group with id heatmap-cell-ROW-COLUMN. 9 pt is 12 CSS px at the picture's own
# size (1 pt = 4/3 px), readable where the web page and report show it unscaled.
CELL_LABEL_ID, CELL_LABEL_POINTS = "heatmap-cell", 9
_MAX_ANNOTATED_CELLS = 200
_CELL_FOR_NO_SCORES = "#d9d9d9"


def relative_luminance(colour: object) -> float:
    """WCAG 2 relative luminance of a matplotlib colour."""
    from matplotlib.colors import to_rgb

    def linear(channel: float) -> float:
        return channel / 12.92 if channel <= 0.04045 else ((channel + 0.055) / 1.055) ** 2.4

    red, green, blue = (linear(c) for c in to_rgb(colour))  # type: ignore[arg-type]
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def contrast_ratio(first: object, second: object) -> float:
    """WCAG 2 contrast ratio of two colours (1 to 21; 4.5 is the minimum for small text)."""
    lighter, darker = sorted((relative_luminance(first), relative_luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def readable_text_colour(background: object) -> str:
    """Black or white, whichever contrasts more with the cell: black text is unreadable on the
    dark red and dark green ends of the colour scale."""
    return "black" if contrast_ratio(background, "black") >= contrast_ratio(background, "white") else "white"


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
        axes.set_facecolor(_CELL_FOR_NO_SCORES)
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
                fill = _CELL_FOR_NO_SCORES if math.isnan(value) else image.cmap(image.norm(value))
                axes.text(column, row, text, ha="center", va="center", fontsize=CELL_LABEL_POINTS,
                          color=readable_text_colour(fill), gid=f"{CELL_LABEL_ID}-{row}-{column}")
        figure.colorbar(image, ax=axes, label=f"{heatmap.metric} (0..100)", shrink=0.9)
        # Long task names (variant strings) wrap instead of running off the figure.
        axes.set_title(textwrap.fill(title, width=int(width * 7), break_on_hyphens=False), fontsize=10)
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
