"""The HTML report built from real runs (Runner + Store + scripted model): sections, numbers, plots,
escaping of model output, sample cap, notes, determinism, self-containment."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from report_fixtures import (
    BREAKOUT,
    LONGCTX_TASK,
    XSS,
    ReportRuns,
    add_metric_rows,
    longctx_task,
    run_tasks,
    task_metric,
)

from assay.errors import AssayError
from assay.models.scripted import ScriptedModel
from assay.report import render_report, write_report
from assay.report.data import format_number

REPORT_DIR = Path(__file__).resolve().parents[2] / "src" / "assay" / "report"
_JSON_BLOCK = re.compile(r'<script type="application/json" id="assay-samples">(.*?)</script>', re.S)


class _Tables(HTMLParser):
    """Rows of cell texts for every <table class=...> in the page."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self._table: str | None = None
        self._row: list[str] | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self._table = dict(attrs).get("class") or ""
            self.tables.setdefault(self._table, [])
        elif tag == "tr" and self._table is not None:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._row is not None and self._cell is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr" and self._table is not None and self._row is not None:
            self.tables[self._table].append(self._row)
            self._row = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def tables_of(html: str) -> dict[str, list[list[str]]]:
    parser = _Tables()
    parser.feed(html)
    return parser.tables


def embedded_samples(html: str) -> list[dict[str, Any]]:
    blocks = _JSON_BLOCK.findall(html)
    assert len(blocks) == 1
    return json.loads(blocks[0])


def images_of(html: str) -> list[bytes]:
    return [base64.b64decode(data) for data in re.findall(r'<img src="data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)"', html)]


def test_every_section_renders_with_the_stored_numbers(report_runs: ReportRuns) -> None:
    store = report_runs.store
    html, _ = render_report(store, [report_runs.full, report_runs.failing])
    for section in ("runs", "metrics", "forest", "long-context", "calibration", "prompt-formats", "samples"):
        assert f'<section id="{section}"' in html and f'href="#{section}"' in html
    header, *rows = tables_of(html)["metrics"]
    assert header == ["run", "task", "metric", "mean", "95% CI", "n", "method", "errors", "unparsable"]
    # The metric cell is the name, then its declared direction and a primary mark.
    rows = [[*r[:2], r[2].split(" ")[0], *r[3:]] for r in rows]
    for run_id in (report_runs.full, report_runs.failing):
        stored = {(m["task"], m["name"]): m for m in store.get_metrics(run_id)}
        exact = stored[("report_qa", "exact_match")]
        line = next(r for r in rows if r[:3] == [run_id, "report_qa", "exact_match"])
        assert line[3] == format_number(exact["value"])
        assert line[4] == f"[{format_number(exact['ci_low'])}, {format_number(exact['ci_high'])}]"
        assert line[5:7] == [str(exact["n"]), exact["method"]]
        assert line[7] == str(int(stored[("report_qa", "n_request_errors")]["value"]))
        assert line[8] == str(int(stored[("report_qa", "n_unparsable")]["value"])) == "1"
    # The failing model's request errors are visible, not dropped.
    failing_errors = [int(r[7]) for r in rows if r[0] == report_runs.failing]
    assert sum(failing_errors) > 0
    # Task-level scalars get a line of their own; a length in tokens is a whole number.
    effective = next(m for m in store.get_metrics(report_runs.full) if m["name"] == "effective_length")
    assert any(r[1:4] == [LONGCTX_TASK, "effective_length", str(round(effective["value"]))] for r in rows)
    # Manifest of each run, pretty-printed, in a collapsible block.
    manifests = re.findall(r'<pre class="manifest">(.*?)</pre>', html, re.S)
    assert len(manifests) == 2 and "&#34;seed&#34;: 7" in manifests[0]
    numbers = tables_of(html)["task-numbers"]
    assert ["run", "ECE", "Brier score", "samples in bins"] in numbers
    assert [f"{report_runs.full} · scripted:echo", "0.0710", "0.2030", "22"] in numbers
    # echo repeats the prompt, which scores nothing on a long-context task: no tested length passes.
    assert effective["value"] == 0.0
    assert [f"{report_runs.full} · scripted:echo", "below threshold at every length", "85.6"] in numbers
    assert [f"{report_runs.full} · scripted:echo", "<b>html-like</b>", "0.5500", "[0.4300, 0.6700]", "40"] in numbers
    assert [f"{report_runs.full} · scripted:echo", "3", "0.1400", "0.0570", "0.2100", "0.6600"] in numbers


def test_plots_are_inline_svg_images_and_nothing_is_fetched(report_runs: ReportRuns) -> None:
    html, _ = render_report(report_runs.store, [report_runs.full, report_runs.failing])
    images = images_of(html)
    # forest (unit scale + log-prob scale) + 2 heatmaps + length curve + reliability + format spread
    assert len(images) == 7
    for svg in images:
        assert svg.lstrip().startswith(b"<?xml") and b"<svg" in svg and b"<script" not in svg
        assert b"@font-face" not in svg and b"url(http" not in svg and b"mathdefault" not in svg
        # heatmaps embed their pixels as a data: PNG; anything else would be a reference out of the page
        assert all(ref.startswith((b"data:", b"#")) for ref in re.findall(rb'href="([^"]*)"', svg))
    # Every src/href is a data: URI or an in-page anchor; no stylesheet or font is referenced.
    references = re.findall(r'(?:src|href)\s*=\s*"([^"]*)"', html)
    assert references and all(ref.startswith(("data:", "#")) for ref in references)
    assert "@import" not in html and "url(" not in html and "<link" not in html
    assert "default-src 'none'" in html


def test_model_output_stays_text(report_runs: ReportRuns) -> None:
    html, _ = render_report(report_runs.store, [report_runs.full])
    assert XSS not in html and BREAKOUT not in html and "<b>html-like</b>" not in html
    assert "&lt;b&gt;html-like&lt;/b&gt;" in html
    # Exactly our two script elements: the JSON data block and the search script.
    assert html.count("<script") == 2
    samples = embedded_samples(html)
    stored = {s["sample_id"]: s for s in report_runs.store.iter_samples(report_runs.full, "report_qa")}
    by_id = {s["id"]: s for s in samples}
    assert by_id["qa-0"]["output"] == stored["qa-0"]["responses"][0]["text"] and XSS in by_id["qa-0"]["output"]
    assert BREAKOUT in by_id["qa-1"]["prompt"] and "&amp; &lt;" in by_id["qa-1"]["output"]
    assert by_id["qa-2"]["error"] == "unparsable: no answer" and by_id["qa-2"]["extracted"] == ""
    # The inline script is exactly the one the Content-Security-Policy allows.
    script = re.findall(r"<script>(.*?)</script>", html, re.S)
    assert len(script) == 1
    digest = base64.b64encode(hashlib.sha256(script[0].encode()).digest()).decode()
    assert f"script-src 'sha256-{digest}'" in html


def test_templates_never_bypass_escaping() -> None:
    template = (REPORT_DIR / "templates" / "report.html.j2").read_text()
    script = (REPORT_DIR / "templates" / "report.js").read_text()
    assert not re.search(r"\|\s*safe|autoescape\s+false", template)
    assert not re.search(r"innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(", script)
    for module in REPORT_DIR.glob("*.py"):
        assert "Markup(" not in module.read_text()


def test_request_failures_are_listed_in_the_sample_table(report_runs: ReportRuns) -> None:
    html, _ = render_report(report_runs.store, [report_runs.failing])
    samples = embedded_samples(html)
    failed = [s for s in samples if s["error"].startswith("request_failed")]
    stored_failed = [s for s in report_runs.store.iter_samples(report_runs.failing) if s["error_kind"] == "request_failed"]
    assert failed and len(failed) == len(stored_failed)
    assert all("[request failed: scripted failure]" in s["output"] for s in failed)


def test_sections_appear_only_with_their_data(report_runs: ReportRuns) -> None:
    from report_fixtures import ScaledChoice

    plain = run_tasks(report_runs.store, ScriptedModel("echo", None), [ScaledChoice()], seed=99)
    html, _ = render_report(report_runs.store, [plain])
    assert '<section id="forest"' in html and '<section id="samples"' in html
    for absent in ("long-context", "calibration", "prompt-formats", "notes"):
        assert f'id="{absent}"' not in html and f'href="#{absent}"' not in html
    assert "<th>run</th>" not in html  # one run: no run column


def test_sample_table_is_capped_and_says_so(report_runs: ReportRuns) -> None:
    html, data = render_report(report_runs.store, [report_runs.full], max_samples_per_task=3)
    samples = embedded_samples(html)
    assert len(samples) == 12 and {s["task"] for s in samples} == {"report_qa", "report_mc", "report_bulk", LONGCTX_TASK}
    assert [s["id"] for s in samples if s["task"] == "report_qa"] == ["qa-0", "qa-1", "qa-2"]
    assert f"run {report_runs.full}, task report_qa: the sample table holds the first 3 of 12 samples" in html
    assert "Up to the first 3 samples of each task" in html


def test_long_prompts_keep_head_and_tail(report_runs: ReportRuns) -> None:
    html, _ = render_report(report_runs.store, [report_runs.full])
    prompt = next(s["prompt"] for s in embedded_samples(html) if s["id"] == "qa-3")
    assert prompt.startswith("Q: item 3 says word3 filler0") and prompt.endswith("needle-at-the-end\nA:")
    assert "characters omitted from the report" in prompt and len(prompt) < 4100


def test_malformed_task_metrics_become_notes(report_runs: ReportRuns) -> None:
    from report_fixtures import ScaledChoice

    run_id = run_tasks(report_runs.store, ScriptedModel("echo", None), [ScaledChoice(), longctx_task()], seed=5)
    heatmap = next(m for m in report_runs.store.get_metrics(run_id) if m["name"] == "heatmap")["extra"]
    # The consumers' old idea of the shape (depths × lengths, depths on 0..1) is refused, never drawn transposed.
    transposed = {**heatmap, "matrix": [list(column) for column in zip(*heatmap["matrix"], strict=True)]}
    bad = [task_metric("niah_bad", "heatmap", None, transposed),
           task_metric("niah_bad", "length_curve", None, {"lengths": [1, 2], "mean": [0.5]}),
           task_metric("cal_bad", "ece", 0.1, {"bins": "nope"})]
    add_metric_rows(report_runs.store, run_id, bad)
    html, _ = render_report(report_runs.store, [run_id])
    assert ("task niah_bad, metric heatmap: malformed extra (matrix must be 3 lengths × 2 depths "
            "(rows = lengths, columns = depths))") in html
    assert "task niah_bad, metric length_curve: malformed extra (mean has 1 values for 2 lengths)" in html
    assert "task cal_bad, metric ece: malformed extra (bins:" in html
    # The good rows still plot: forest (acc on [0, 1], target_logprob on its own scale) + heatmap + curve.
    assert len(images_of(html)) == 4


def test_same_store_same_report(report_runs: ReportRuns) -> None:
    first, _ = render_report(report_runs.store, [report_runs.full, report_runs.failing])
    second, _ = render_report(report_runs.store, [report_runs.full, report_runs.failing])
    assert first == second


def test_write_report_checks_its_inputs(report_runs: ReportRuns, tmp_path: Path) -> None:
    store = report_runs.store
    with pytest.raises(AssayError, match="folder .* does not exist"):
        write_report(store, [report_runs.full], tmp_path / "missing" / "r.html")
    with pytest.raises(AssayError, match="is a folder"):
        write_report(store, [report_runs.full], tmp_path)
    with pytest.raises(AssayError, match="no run with id 'nope'"):
        write_report(store, ["nope"], tmp_path / "r.html")
    with pytest.raises(AssayError, match="at least one run"):
        write_report(store, [], tmp_path / "r.html")
    summary = write_report(store, [report_runs.full, report_runs.full[:6]], tmp_path / "r.html")
    assert summary.runs == 1 and summary.path.read_text().startswith("<!doctype html>")
    assert not list(tmp_path.glob(".assay-report-*"))


def test_names_with_dollar_signs_are_plain_text() -> None:
    from assay.report.extras import FormatSensitivityExtra
    from assay.report.plots import ForestPoint, forest_plots, format_spread_figure

    # Mathtext is off: "$" in a task or format name must neither be typeset nor fail to parse.
    (forest,) = forest_plots([ForestPoint("cost_$ · acc", 0, 0.5, 0.4, 0.6)], ["run $1"])
    extra = FormatSensitivityExtra.model_validate({"per_format": {"$x$": {"mean": 0.5}, "a$b": {"mean": 0.4}}})
    spread = format_spread_figure("t", [(0, "run $1", extra)])
    forest_svg = base64.b64decode(forest.data_uri.split(",", 1)[1]).decode()
    spread_svg = base64.b64decode(spread.data_uri.split(",", 1)[1]).decode()
    # matplotlib writes each text as a comment beside its glyph paths
    assert "<!-- cost_$ · acc -->" in forest_svg
    assert "<!-- $x$ -->" in spread_svg and "<!-- run $1 -->" in spread_svg


def test_a_task_whose_requests_all_failed_still_has_a_line(report_runs: ReportRuns) -> None:
    from report_fixtures import EchoQA

    run_id = run_tasks(report_runs.store, ScriptedModel("fail", "1"), [EchoQA()], seed=11)
    html, _ = render_report(report_runs.store, [run_id])
    _, *rows = tables_of(html)["metrics"]
    assert rows == [["report_qa", "(no scores)", "—", "", "12", "count", "12", "0"]]
    assert len([s for s in embedded_samples(html) if s["error"].startswith("request_failed")]) == 12
