"""`assay report`: one self-contained HTML file from stored runs (manifest, metrics, plots, samples).

Sections appear only when their data exists. Nothing is fetched by the page: plots are data-URI
SVGs, styles and the small search script are inline, and a Content-Security-Policy forbids
everything else (any script but ours, any network request).
"""

from __future__ import annotations

import base64
import hashlib
import math
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2

import assay
from assay.errors import AssayError
from assay.report.data import (
    DEFAULT_MAX_SAMPLES_PER_TASK,
    PROMPT_HEAD_CHARS,
    PROMPT_TAIL_CHARS,
    ReportData,
    format_number,
    is_score_metric,
    load_report_data,
)
from assay.report.extras import EceExtra, FormatSensitivityExtra, LengthCurveExtra, metric_kind, parse_extra
from assay.report.plots import (
    CurveSeries,
    FigureImage,
    ForestPoint,
    forest_plots,
    format_spread_figure,
    length_curve_figure,
    reliability_figure,
)
from assay.store import Store
from assay.tasks.longctx.heatmap import Heatmap
from assay.tasks.longctx.plots import heatmap_svg_data_uri


@dataclass
class NumberTable:
    columns: list[str]
    rows: list[list[str]] = field(default_factory=list)


@dataclass
class TaskFigures:
    """One task's figures in a section, with small tables of the numbers behind them."""

    task: str
    figures: list[FigureImage] = field(default_factory=list)
    tables: list[NumberTable] = field(default_factory=list)


@dataclass
class ReportSummary:
    path: Path
    runs: int
    samples_embedded: int
    bytes: int


# Floating-point noise allowed between an estimate and its stored interval before the report says so.
_SLACK = 1e-9


def _finite(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and math.isfinite(value) else None


def _task_rows(data: ReportData, kind: str) -> dict[str, list[tuple[int, str, dict[str, Any]]]]:
    """task -> [(run index, run label, metric row)] for task-level metrics of `kind`, in run order."""
    found: dict[str, list[tuple[int, str, dict[str, Any]]]] = {}
    for index, run in enumerate(data.runs):
        for row in data.metrics[run.id]:
            if row["method"] == "task" and metric_kind(row["name"]) == kind:
                found.setdefault(row["task"], []).append((index, run.label, row))
    return found


class _Sections:
    """Builds each section's figures; malformed task metrics become notes, never crashes."""

    def __init__(self, data: ReportData) -> None:
        self.data = data
        self.notes: list[str] = []

    def parsed(self, kind: str) -> dict[str, list[tuple[int, str, dict[str, Any], Any]]]:
        out: dict[str, list[tuple[int, str, dict[str, Any], Any]]] = {}
        for task, rows in _task_rows(self.data, kind).items():
            for index, label, row in rows:
                try:
                    extra = parse_extra(kind, row["extra"])
                except ValueError as exc:
                    self.notes.append(f"run {self.data.runs[index].id}, task {task}, metric {row['name']}: "
                                      f"malformed extra ({exc}); not plotted.")
                    continue
                out.setdefault(task, []).append((index, label, row, extra))
        return out

    def forest(self) -> list[FigureImage]:
        points = []
        for index, run in enumerate(self.data.runs):
            for row in self.data.metrics[run.id]:
                value = _finite(row.get("value"))
                if not is_score_metric(row) or value is None:
                    continue
                low, high = _finite(row.get("ci_low")), _finite(row.get("ci_high"))
                if low is not None and high is not None and not low - _SLACK <= value <= high + _SLACK:
                    self.notes.append(f"run {run.id}, task {row['task']}, metric {row['name']}: the stored interval "
                                      f"[{format_number(low)}, {format_number(high)}] does not contain its estimate "
                                      f"{format_number(value)} (stored by an older assay?); drawn widened to reach it.")
                points.append(ForestPoint(f"{row['task']} · {row['name']}", index, value, low, high))
        return forest_plots(points, [run.label for run in self.data.runs]) if points else []

    def niah(self) -> list[TaskFigures]:
        heatmaps = self.parsed("heatmap")
        curves = self.parsed("length_curve")
        effective = self.parsed("effective_length")
        out = []
        for task in sorted(set(heatmaps) | set(curves) | set(effective)):
            section = TaskFigures(task)
            lengths_table = NumberTable(["run", "effective length (tokens)", "threshold"])
            for _, label, row, extra in heatmaps.get(task, []):
                assert isinstance(extra, Heatmap)
                title = f"{task} — {row['name']} — {label}"
                section.figures.append(FigureImage(title, extra.describe(), heatmap_svg_data_uri(extra, title)))
            lengths = {index: (row, extra) for index, _, row, extra in effective.get(task, [])}
            series = []
            for index, label, _, extra in curves.get(task, []):
                assert isinstance(extra, LengthCurveExtra)
                eff_row, eff_extra = lengths.get(index, (None, None))
                series.append(CurveSeries(index, label, extra, _finite(eff_row["value"]) if eff_row else None,
                                          getattr(eff_extra, "threshold", None)))
            if series:
                section.figures.append(length_curve_figure(f"{task} — score by context length", series))
            for _, label, row, extra in effective.get(task, []):
                threshold = getattr(extra, "threshold", None)
                value = _finite(row["value"])
                shown = ("below threshold at every length" if value is None or value == 0
                         else str(int(value)) if value.is_integer() else format_number(value, 6))
                lengths_table.rows.append([label, shown, "" if threshold is None else f"{threshold:g}"])
            section.tables = [lengths_table] if lengths_table.rows else []
            out.append(section)
        return out

    def calibration(self) -> list[TaskFigures]:
        ece = self.parsed("ece")
        brier = {(index, task): row for task, rows in _task_rows(self.data, "brier").items() for index, _, row in rows}
        out = []
        for task in sorted(set(ece) | {task for _, task in brier}):
            section = TaskFigures(task)
            scores_table = NumberTable(["run", "ECE", "Brier score", "samples in bins"])
            series = [(index, label, extra) for index, label, _, extra in ece.get(task, [])
                      if isinstance(extra, EceExtra)]
            if series:
                section.figures.append(reliability_figure(f"{task} — reliability diagram", series))
            ece_rows = {index: (row, extra) for index, _, row, extra in ece.get(task, [])}
            for index, run in enumerate(self.data.runs):
                ece_row, ece_extra = ece_rows.get(index, (None, None))
                brier_row = brier.get((index, task))
                if ece_row is None and brier_row is None:
                    continue
                scores_table.rows.append([run.label, format_number(_finite(ece_row["value"])) if ece_row else "—",
                                          format_number(_finite(brier_row["value"])) if brier_row else "—",
                                          str(sum(b.count for b in ece_extra.bins)) if ece_extra else "—"])
            section.tables = [scores_table]
            out.append(section)
        return out

    def robustness(self) -> list[TaskFigures]:
        """Perturbation and sycophancy rows (`assay.perturb.report`): a table per task."""
        from assay.perturb.report import TABLE_COLUMNS, paired_entries, table_rows

        tables: dict[str, NumberTable] = {}
        for run in self.data.runs:
            for entry in paired_entries(self.data.metrics.get(run.id, [])):
                table = tables.setdefault(entry["task"], NumberTable(list(TABLE_COLUMNS)))
                table.rows.extend(table_rows(run.id, [entry]))
        return [TaskFigures(task, [], [tables[task]]) for task in sorted(tables)]

    def formats(self) -> list[TaskFigures]:
        parsed = self.parsed("format_sensitivity")
        out = []
        for task in sorted(parsed):
            summary = NumberTable(["run", "formats", "spread (max − min)", "std", "variance share", "consistency"])
            per_format = NumberTable(["run", "format", "mean", "95% CI", "n"])
            series = [(index, label, extra) for index, label, _, extra in parsed[task]
                      if isinstance(extra, FormatSensitivityExtra)]
            for _, label, extra in series:
                summary.rows.append([label, str(len(extra.per_format)), format_number(extra.spread),
                                     format_number(extra.std), format_number(extra.variance_share),
                                     format_number(extra.consistency)])
                for name, score in extra.per_format.items():
                    ci = ("" if score.ci_low is None or score.ci_high is None
                          else f"[{format_number(score.ci_low)}, {format_number(score.ci_high)}]")
                    per_format.rows.append([label, name, format_number(score.mean), ci,
                                            "" if score.n is None else str(score.n)])
            figure = format_spread_figure(f"{task} — score under each prompt format", series)
            out.append(TaskFigures(task, [figure], [summary, per_format]))
        return out


def _environment() -> jinja2.Environment:
    # autoescape=True for every template: model outputs are untrusted text.
    env = jinja2.Environment(loader=jinja2.PackageLoader("assay.report", "templates"), autoescape=True,
                             undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    # |tojson escapes <, >, & and ' as \u003c..., so the JSON block cannot close its <script> element.
    env.policies["json.dumps_kwargs"] = {"sort_keys": False, "ensure_ascii": False, "separators": (",", ":")}
    return env


def render_report(store: Store, run_ids: Sequence[str],
                  max_samples_per_task: int = DEFAULT_MAX_SAMPLES_PER_TASK) -> tuple[str, ReportData]:
    if not run_ids:
        raise AssayError("RUN: expected at least one run id (see `assay list runs`)")
    if max_samples_per_task < 0:
        raise AssayError(f"--max-samples: expected a number ≥ 0, got {max_samples_per_task}")
    data = load_report_data(store, list(run_ids), max_samples_per_task)
    sections = _Sections(data)
    forest, niah, calibration, formats = sections.forest(), sections.niah(), sections.calibration(), sections.formats()
    env = _environment()
    script = env.get_template("report.js").render()
    script_hash = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii")
    html = env.get_template("report.html.j2").render(
        assay_version=assay.__version__, runs=data.runs, metric_lines=data.metric_lines,
        multi_run=len(data.runs) > 1, forest=forest, niah=niah, calibration=calibration, formats=formats,
        robustness=sections.robustness(),
        notes=data.notes + sections.notes, samples=data.samples, max_samples=data.max_samples_per_task,
        script_hash=script_hash, prompt_head=PROMPT_HEAD_CHARS, prompt_tail=PROMPT_TAIL_CHARS,
    )
    return html, data


def write_report(store: Store, run_ids: Sequence[str], output: Path,
                 max_samples_per_task: int = DEFAULT_MAX_SAMPLES_PER_TASK) -> ReportSummary:
    folder = output.expanduser().resolve().parent
    if not folder.is_dir():
        raise AssayError(f"-o {output}: folder {folder} does not exist")
    if output.is_dir():
        raise AssayError(f"-o {output}: is a folder; expected an .html file path")
    html, data = render_report(store, run_ids, max_samples_per_task)
    # Written beside the target and renamed: a reader never sees half a report.
    handle, temporary = tempfile.mkstemp(prefix=".assay-report-", suffix=".html", dir=folder)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(html)
        os.chmod(temporary, 0o644)  # mkstemp makes it private; a report is meant to be shared
        os.replace(temporary, output)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return ReportSummary(output, len(data.runs), len(data.samples), len(html.encode("utf-8")))
