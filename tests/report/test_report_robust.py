"""`assay report` never crashes on a stored run: all-zero and all-one proportions, n = 1, failed samples,
an empty task, the main job's long-context run, and rows stored by older versions (an interval that does
not contain its estimate, a heatmap in the shape the consumers used to expect) each give exit 0 and an
HTML file, with a note where stored data is wrong."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from report_fixtures import Bulk, task_metric

from assay.metric_specs import MetricSpec, score
from assay.models.scripted import ScriptedModel
from assay.runner import Runner, RunOptions
from assay.store import Store
from assay.tasks.base import TaskBase, TaskContext
from assay.tasks.registry import get_task
from assay.types import GenerateRequest, Response, Sample, Scored


class EmptyTask(TaskBase):
    name = "report_empty"
    family = "test"

    def spec(self) -> dict[str, Any]:
        return {"name": self.name, "version": 1}

    def metrics(self) -> list[MetricSpec]:
        return [score("exact_match", primary=True)]

    def samples(self, ctx: TaskContext) -> Iterator[Sample]:
        return iter(())

    def requests(self, sample: Sample) -> Sequence[GenerateRequest]:
        return [GenerateRequest(prompt=sample.input, max_tokens=8)]

    def score(self, sample: Sample, responses: Sequence[Response]) -> Scored:
        return Scored(extracted=None, scores={"exact_match": 0.0})


def _run(store: Store, model: str, argument: str | None, tasks: list[Any], limit: int | None = None) -> str:
    options = RunOptions(seed=3, limit=limit, show_progress=False)
    return Runner(ScriptedModel(model, argument), store).run(tasks, options).run_id


def _report(db: Path, run_id: str, output: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "assay.cli", "report", run_id, "-o", str(output), "--db", str(db)],
                          capture_output=True, text=True, timeout=180, check=False)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Store, dict[str, str]]]:
    db = tmp_path_factory.mktemp("robust") / "robust.db"
    store = Store(f"sqlite:///{db}")
    ids = {
        # The reproduction: echo never answers arithmetic, so exact_match is 0/50.
        "all_zero": _run(store, "echo", None, [get_task("arith")], limit=50),
        # The prompt ends with the target: echo gets every one right.
        "all_one": _run(store, "echo", None, [Bulk()]),
        "n_1": _run(store, "echo", None, [get_task("arith")], limit=1),
        "failed_samples": _run(store, "fail", "2", [get_task("arith"), get_task("niah_single:lengths=256+512/n=1")],
                               limit=20),
        "all_failed": _run(store, "fail", "1", [get_task("niah_single:lengths=256+512/depths=0+50/n=1")]),
        "empty_task": _run(store, "echo", None, [EmptyTask(), Bulk()]),
        "longctx_quick": _run(store, "echo", None, [get_task("longctx_quick")]),
    }
    yield db, store, ids
    store.close()


@pytest.mark.parametrize("case", ["all_zero", "all_one", "n_1", "failed_samples", "all_failed", "empty_task",
                                  "longctx_quick"])
def test_report_succeeds(runs: tuple[Path, Store, dict[str, str]], case: str, tmp_path: Path) -> None:
    db, store, ids = runs
    output = tmp_path / f"{case}.html"
    done = _report(db, ids[case], output)
    assert done.returncode == 0, done.stderr
    assert done.stderr == "" and "Traceback" not in done.stdout
    html = output.read_text(encoding="utf-8")
    assert html.startswith("<!doctype html>") and ids[case] in html
    assert "malformed extra" not in html and "does not contain its estimate" not in html
    for metric in store.get_metrics(ids[case]):
        if metric["ci_low"] is not None:
            assert metric["ci_low"] <= metric["value"] <= metric["ci_high"], metric
    if case in ("failed_samples", "all_failed", "longctx_quick"):
        assert 'alt="heatmap of score: rows = context length' in html


def test_all_zero_and_all_one_store_exact_bounds(runs: tuple[Path, Store, dict[str, str]]) -> None:
    _, store, ids = runs
    zero = next(m for m in store.get_metrics(ids["all_zero"]) if m["name"] == "exact_match")
    one = next(m for m in store.get_metrics(ids["all_one"]) if m["name"] == "exact_match")
    assert (zero["value"], zero["ci_low"]) == (0.0, 0.0) and zero["ci_high"] > 0.0
    assert (one["value"], one["ci_high"]) == (1.0, 1.0) and one["ci_low"] < 1.0


def test_a_length_whose_requests_all_failed_stays_on_the_heatmap(runs: tuple[Path, Store, dict[str, str]]) -> None:
    _, store, ids = runs
    heatmap = next(m for m in store.get_metrics(ids["all_failed"]) if m["name"] == "heatmap")["extra"]
    assert heatmap["lengths"] == [256, 512] and heatmap["depths"] == [0.0, 50.0]
    assert heatmap["counts"] == [[0, 0], [0, 0]] and heatmap["matrix"] == [[None, None], [None, None]]


def test_rows_stored_by_older_versions_become_notes(runs: tuple[Path, Store, dict[str, str]], tmp_path: Path) -> None:
    db, store, _ = runs
    run_id = _run(store, "echo", None, [Bulk()])
    declared = {"higher_is_better": True, "primary": False, "scale": "0..1", "aggregation": "mean"}
    old = [
        # What statsmodels' Wilson bounds stored before they were clipped: noise outside the estimate...
        {"task": "old", "name": "noise", "value": 0.0, "ci_low": 6.9e-18, "ci_high": 0.07, "stderr": 0.0, "n": 50,
         "method": "wilson", "extra": {}, **declared},
        {"task": "old", "name": "noise_high", "value": 1.0, "ci_low": 0.93, "ci_high": 0.9999999999999999,
         "stderr": 0.0, "n": 50, "method": "wilson", "extra": {}, **declared},
        # ...and an interval that is plainly wrong.
        {"task": "old", "name": "outside", "value": 0.1, "ci_low": 0.2, "ci_high": 0.3, "stderr": 0.05, "n": 50,
         "method": "wilson", "extra": {}, **declared},
        # The consumers' old heatmap shape: depths × lengths, depths on 0..1.
        task_metric("old", "heatmap", None, {"lengths": [1024, 2048], "depths": [0.0, 0.5, 1.0],
                                             "matrix": [[1.0, 0.5], [None, 0.0], [1.0, 1.0]]}),
    ]
    store.replace_metrics(run_id, store.get_metrics(run_id) + old)
    output = tmp_path / "old.html"
    done = _report(db, run_id, output)
    assert done.returncode == 0, done.stderr
    html = output.read_text(encoding="utf-8")
    assert "metric outside: the stored interval [0.2000, 0.3000] does not contain its estimate 0.1000" in html
    assert "metric noise:" not in html and "metric noise_high:" not in html  # floating-point noise is not news
    assert "task old, metric heatmap: malformed extra (" in html
