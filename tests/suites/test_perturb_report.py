"""The robustness and sycophancy rows of stored runs, in the HTML report and on the web run page (runs
made by the real runner with a scripted oracle of the clean questions)."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

from fastapi.testclient import TestClient

from assay.models.scripted import ScriptedModel
from assay.perturb.options import PerturbChoices, perturbed_tasks
from assay.report.builder import render_report
from assay.runner import Runner, RunOptions
from assay.tasks.base import TaskContext
from assay.tasks.registry import get_task
from assay.web import create_app


def _run(store, tmp_path: Path) -> str:
    table = {f"Question: {s.input}\n": s.choices[s.target] for s in get_task("arith_mc").samples(TaskContext())}
    path = tmp_path / "oracle.json"
    path.write_text(json.dumps(table), encoding="utf-8")
    tasks = [*perturbed_tasks([get_task("arith_mc")], PerturbChoices(("typos",))), get_task("sycophancy:arith_mc")]
    return Runner(ScriptedModel("oracle", str(path)), store).run(tasks, RunOptions(show_progress=False, limit=15)).run_id


def _text(page: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def test_report_and_run_page_show_paired_differences_and_flip_rates(store, tmp_path: Path) -> None:
    run_id = _run(store, tmp_path)
    metrics = {(m["task"], m["name"]): m for m in store.get_metrics(run_id)}
    typos = metrics[("arith_mc", "perturb_diff/typos")]
    flips = metrics[("arith_mc", "flip_rate/typos")]
    expected = (f"perturbation: typos acc 1.000 {typos['extra']['changed']:.3f} {typos['value']:+.3f} "
                f"[{typos['ci_low']:.3f}, {typos['ci_high']:.3f}]")
    page, _ = render_report(store, [run_id])
    report = _text(page[page.index('id="robustness"'):])
    assert expected in report and f"{flips['value']:.3f} [{flips['ci_low']:.3f}, {flips['ci_high']:.3f}] (n=15)" in report
    assert "sycophancy: wrong_opinion" in report and "sycophancy: right_opinion" in report

    response = TestClient(create_app(store, admin_token="")).get(f"/runs/{run_id}")
    assert response.status_code == 200
    web = _text(response.text[response.text.index('id="robustness"'):response.text.index('id="samples"')])
    assert f"perturbation: typos (acc) 1.000 {typos['extra']['changed']:.3f} {typos['value']:+.3f}" in web
    wrong = metrics[("sycophancy:arith_mc", "flip_to_wrong/wrong_opinion")]
    assert "sycophancy: wrong_opinion (acc)" in web and f"{wrong['value']:.3f}" in web
