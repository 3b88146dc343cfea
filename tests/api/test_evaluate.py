"""`assay.evaluate` and `Run`: the library behind `assay run`, checked against what the command stores and prints
(one path), on real runs of scripted models (the embedded model runs in tests/docs/test_python_docs.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import assay
from assay.store import Store
from cli_capture import run_cli

TASKS = "arith_mc,niah_single:lengths=256/n=2"


def test_evaluate_stores_what_assay_run_stores(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = assay.evaluate("scripted:echo", TASKS, limit=4, db=str(tmp_path / "api.db"))
    code, out, err = run_cli(capsys, "run", "-m", "scripted:echo", "-t", TASKS, "--limit", "4",
                             "--db", str(tmp_path / "cli.db"), "--json")
    assert code == 0, err
    printed = json.loads(out)
    assert run.tasks == printed["tasks"] and run.model == printed["model"] == "scripted:echo"
    assert run.outcome is not None and run.outcome.stats == printed["stats"]
    comparable = [(m["task"], m["name"], m["value"], m["ci_low"], m["ci_high"], m["n"], m["method"], m["primary"])
                  for m in printed["metrics"]]
    assert sorted(comparable, key=str) == sorted(
        [(m.task, m.name, m.value, m.ci[0] if m.ci else None, m.ci[1] if m.ci else None, m.n, m.method, m.primary)
         for m in run.metrics], key=str)
    cli_run = assay.load_run(printed["id"], db=str(tmp_path / "cli.db"))
    assert [s.scores for s in cli_run.samples()] == [s.scores for s in run.samples()]
    assert cli_run.manifest["tasks"] == run.manifest["tasks"]


def test_a_run_in_python_needs_no_file_and_is_found_again() -> None:
    first = assay.evaluate("scripted:echo", "arith_mc", limit=3)
    again = assay.evaluate("scripted:echo", ["arith_mc"], limit=3)
    assert again.id == first.id and again.outcome is not None and again.outcome.reused
    fresh = assay.evaluate("scripted:echo", "arith_mc", limit=3, rerun=True)
    assert fresh.id != first.id and fresh.store is first.store  # one temporary store per process
    assert assay.load_run(first.id[:8], db=first.store).id == first.id
    comparison = assay.compare(first, fresh)
    assert {row.metric for row in comparison.comparisons} >= {"acc", "acc_norm"}
    assert all(row.diff == 0 for row in comparison.comparisons if row.error is None)  # the same greedy answers


def test_run_reads_typed_rows_tables_heatmaps_and_reports(tmp_path: Path) -> None:
    run = assay.evaluate("scripted:echo", TASKS, limit=4, db=str(tmp_path / "runs.db"))
    primary = run.metric("arith_mc")
    assert primary.name == "acc" and primary.primary and primary.higher_is_better is True
    assert primary.ci is not None and primary.ci[0] <= primary.value <= primary.ci[1] and primary.n == 4
    samples = list(run.samples("arith_mc"))
    assert [s.idx for s in samples] == [0, 1, 2, 3] and all("acc" in s.scores for s in samples)
    assert samples[0].prompt and len(samples[0].metadata["choice_logprobs"]) == len(samples[0].metadata["choices"])
    table = run.to_pandas()
    assert {"task", "name", "value", "ci_low", "ci_high", "n", "primary"} <= set(table.columns)
    assert len(run.to_pandas("samples")) == Store(str(tmp_path / "runs.db")).count_samples(run.id)
    grid = run.heatmap()  # the one long-context task
    stored = next(m for m in run.metrics if m.name == "heatmap")
    assert grid.to_extra() == stored.extra and grid.lengths == [256]
    report = run.report(tmp_path / "report.html")
    assert report.stat().st_size > 10_000 and run.id in report.read_text(encoding="utf-8")
    html = run._repr_html_()
    assert "95% CI" in html and "<img" in html and run.id in html
    assert "<td>acc</td><td>↑ *</td>" in html  # the primary metric is starred, higher-is-better ones too


def test_a_loaded_backend_is_reused_and_left_open() -> None:
    model = assay.load_model("scripted:echo")
    first = assay.evaluate(model, "arith_mc", limit=2)
    second = assay.evaluate(model, "arith", limit=2)
    assert first.model == second.model == "scripted:echo"
    with pytest.raises(assay.AssayError, match="^model_args / executor: only with a model spec"):
        assay.evaluate(model, "arith", model_args={"delay_s": 0})


@pytest.mark.parametrize(("call", "message"), [
    (lambda: assay.evaluate("scripted:echo", "nosuch_task"), r"^--task: unknown task 'nosuch_task'"),
    (lambda: assay.evaluate("scripted:echo", "arith", model_args="nosuch=1"), r"nosuch"),
    (lambda: assay.evaluate(object(), "arith"), r"^model: expected a model spec"),  # type: ignore[arg-type]
    (lambda: assay.evaluate("scripted:echo", [3]), r"^tasks: expected task names or task objects"),  # type: ignore[list-item]
    (lambda: assay.evaluate("scripted:echo", "arith", limit=0), r"^--limit 0: expected a whole number"),
    (lambda: assay.evaluate("scripted:echo", "arith", prompt_formats=2), r"prompt-formats"),
    (lambda: assay.load_run("abc", db=Store("sqlite://")), r"^RUN: no run with id 'abc'"),
])
def test_bad_input_is_one_assay_error(call, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(assay.AssayError, match=message) as raised:
        call()
    assert "\n" not in str(raised.value)


def test_a_runs_lookups_name_what_exists() -> None:
    run = assay.evaluate("scripted:echo", "arith_mc", limit=2)
    with pytest.raises(assay.AssayError, match=r"has no metric 'nosuch' for task 'arith_mc'"):
        run.metric("arith_mc", "nosuch")
    with pytest.raises(assay.AssayError, match=r"has heatmaps for no task; name one"):
        run.heatmap()
    with pytest.raises(assay.AssayError, match=r"has no samples of task 'arith'"):
        next(run.samples("arith"))
    with pytest.raises(assay.AssayError, match=r"^-o .*: folder .* does not exist"):
        run.report("/nonexistent/folder/r.html")
