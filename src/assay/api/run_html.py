"""A run's HTML in a notebook (`Run._repr_html_`): the metrics table with 95% intervals, and each long-context
task's heatmap inline (the same SVG the report embeds)."""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from assay.api.run import MetricRow, Run


def _number(value: float | None) -> str:
    return "—" if value is None else f"{value:.4g}"


def _metric_row(row: MetricRow) -> str:
    better = ("" if row.higher_is_better is None else "↑" if row.higher_is_better else "↓") + (" *" if row.primary else "")
    ci = f"[{_number(row.ci[0])}, {_number(row.ci[1])}]" if row.ci else ""
    cells = (row.task, row.name, better, _number(row.value), ci, str(row.n), row.method)
    return "<tr>" + "".join(f"<td>{escape(cell)}</td>" for cell in cells) + "</tr>"


def run_html(run: Run) -> str:
    from assay.tasks.longctx.plots import heatmap_svg_data_uri

    rows = [row for row in run.metrics if isinstance(row.value, (int, float))]
    header = "".join(f"<th>{name}</th>" for name in ("task", "metric", "better", "value", "95% CI", "n", "method"))
    parts = [f"<p><b>run {escape(run.id)}</b> · {escape(run.model)} · {escape(', '.join(run.tasks))}</p>",
             f"<table><thead><tr>{header}</tr></thead><tbody>{''.join(_metric_row(r) for r in rows)}</tbody></table>",
             "<p><small>↑ higher is better, ↓ lower; * the task's primary metric</small></p>"]
    for task in sorted({row.task for row in run.metrics if row.name == "heatmap"}):
        uri = heatmap_svg_data_uri(run.heatmap(task), title=f"{task} — run {run.id}")
        parts.append(f'<img alt="{escape(task)} heatmap" src="{uri}" style="max-width:640px">')
    return "\n".join(parts)
