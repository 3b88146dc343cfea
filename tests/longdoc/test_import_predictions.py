"""`assay import predictions`: published outputs of other systems stored as runs and scored by the task's
own scorer. L-Eval's QuALITY predictions give L-Eval's exact figures through the real CLI; BBH's published
code-davinci-002 outputs give their published accuracies through the same library path."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from assay.errors import AssayError
from assay.predictions import import_predictions
from assay.tasks import TaskContext, get_task

pytestmark = pytest.mark.shared_data

# L-Eval's QuALITY table (longdoc/NOTES.md): correct answers of 202.
LEVAL_CORRECT = {"gpt4-32k": 166, "Claude-100k": 149, "turbo-16k-0613": 124}


def assay_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "assay.cli", *args], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})


def _one_line_error(out: subprocess.CompletedProcess[str]) -> str:
    lines = [line for line in out.stderr.splitlines() if line.strip()]
    assert out.returncode == 2, (out.returncode, out.stdout, out.stderr)
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in out.stderr, out.stderr
    return lines[0]


def _pred_file(data_dir: Path, model: str) -> Path:
    return data_dir / "longdoc" / "leval_quality" / "predictions" / f"{model}.quality.pred.jsonl"


@pytest.mark.parametrize("model", sorted(LEVAL_CORRECT))
def test_leval_quality_predictions_reproduce_leval_through_the_cli(shared_data_dir: Path, tmp_path: Path,
                                                                    model: str) -> None:
    db = f"sqlite:///{tmp_path / 'assay.db'}"
    imported = assay_cli("import", "predictions", str(_pred_file(shared_data_dir, model)), "--task", "leval_quality",
                         "--model", model, "--db", db, "--data-dir", str(shared_data_dir))
    assert imported.returncode == 0, imported.stderr
    run_id = imported.stdout.strip().splitlines()[-1].split()[-1]
    shown = assay_cli("show", run_id, "--db", db, "--json")
    assert shown.returncode == 0, shown.stderr
    report = json.loads(shown.stdout)
    assert report["model"] == f"imported:{model}" and report["samples"] == 202
    metrics = {m["name"]: m for m in report["metrics"]}
    correct = LEVAL_CORRECT[model]
    assert metrics["acc"]["n"] == 202 and metrics["acc"]["value"] == pytest.approx(correct / 202, abs=1e-12)
    assert metrics["acc"]["primary"] is True and "clustered" in metrics["acc"]["method"]
    assert metrics["n_unparsable"]["value"] == 0 and metrics["n_request_errors"]["value"] == 0
    assert report["manifest"]["options"]["import"]["matched"] == 202
    table = assay_cli("show", run_id, "--db", db)
    assert f"{correct / 202:.4f}" in table.stdout  # 0.8218, 0.7376, 0.6139


def test_importing_the_same_file_twice_shows_the_stored_run(shared_data_dir: Path, store) -> None:
    task, ctx = get_task("leval_quality"), TaskContext(data_dir=shared_data_dir)
    path = _pred_file(shared_data_dir, "gpt4-32k")
    first = import_predictions(store, path, task, "gpt4-32k", ctx)
    again = import_predictions(store, path, task, "gpt4-32k", ctx)
    assert again.reused and again.run_id == first.run_id and len(store.list_runs()) == 1


def test_the_generation_task_scores_the_same_texts_the_same_way(shared_data_dir: Path, store) -> None:
    ctx = TaskContext(data_dir=shared_data_dir)
    result = import_predictions(store, _pred_file(shared_data_dir, "Claude-100k"), get_task("leval_quality_gen"),
                                "Claude-100k", ctx)
    acc = next(m for m in result.metrics if m["name"] == "acc")
    assert acc["value"] == pytest.approx(149 / 202, abs=1e-12)
    stored = list(store.iter_samples(result.run_id))
    assert [r["responses"][0]["text"] for r in stored][:1] == [
        json.loads(_pred_file(shared_data_dir, "Claude-100k").read_text().splitlines()[0])["claude-1.3_pred"]]


def _bbh_files(data_dir: Path) -> list[Path]:
    return sorted((data_dir / "bbh" / "code-davinci-002-outputs").glob("*-*.json"))


def test_bbh_published_outputs_rescored_through_the_import_path(shared_data_dir: Path, store) -> None:
    files = _bbh_files(shared_data_dir)
    assert len(files) == 20
    for path in files:
        mode, subtask = path.stem.split("-", 1)
        result = import_predictions(store, path, get_task(f"bbh_{mode}:{subtask}"), "code-davinci-002",
                                    TaskContext(data_dir=shared_data_dir))
        published = json.loads(path.with_name(path.stem + "_eval_metrics.jsonl").read_text(encoding="utf-8"))
        assert result.counts["matched"] == result.counts["rows"] and result.counts["unmatched_rows"] == 0, path.stem
        exact = next(m for m in result.metrics if m["name"] == "exact_match")
        assert 100 * exact["value"] == pytest.approx(published["accuracy"], abs=1e-9), path.stem


def test_bbh_outputs_through_the_cli(shared_data_dir: Path, tmp_path: Path) -> None:
    path = shared_data_dir / "bbh" / "code-davinci-002-outputs" / "cot-navigate.json"
    published = json.loads(path.with_name("cot-navigate_eval_metrics.jsonl").read_text(encoding="utf-8"))
    out = assay_cli("import", "predictions", str(path), "--task", "bbh_cot:navigate", "--model", "code-davinci-002",
                    "--db", f"sqlite:///{tmp_path / 'a.db'}", "--json")
    assert out.returncode == 0, out.stderr
    metrics = {m["name"]: m for m in json.loads(out.stdout)["metrics"]}
    assert 100 * metrics["exact_match"]["value"] == pytest.approx(published["accuracy"], abs=1e-9)


def test_rows_that_cannot_be_read_or_matched_are_counted(shared_data_dir: Path, store, tmp_path: Path) -> None:
    task, ctx = get_task("leval_quality"), TaskContext(data_dir=shared_data_dir)
    first, second = list(task.samples(ctx))[:2]
    path = tmp_path / "mine.jsonl"
    path.write_text("\n".join([json.dumps({"id": first.id, "prediction": "(B) because"}),
                               json.dumps({"id": second.id, "prediction": "no idea"}),
                               json.dumps({"id": "no-such-sample", "prediction": "A"}),
                               json.dumps({"id": first.id, "prediction": "C"}),
                               "{not json", json.dumps({"id": "1-0"})]) + "\n", encoding="utf-8")
    result = import_predictions(store, path, task, "mine", ctx)
    assert result.counts == {"rows": 6, "matched": 2, "unmatched_rows": 2, "unreadable_rows": 2,
                             "samples_without_prediction": 200, "unparsable": 1}
    metrics = {m["name"]: m for m in result.metrics}
    assert metrics["n_request_errors"]["value"] == 200 and metrics["n_unparsable"]["value"] == 1
    assert metrics["acc"]["n"] == 2 and metrics["acc"]["value"] == float(first.target == 1) / 2
    assert any("no-such-sample" in note for note in result.notes) and any("line 5" in note for note in result.notes)


def test_a_file_for_another_task_is_refused_before_anything_is_stored(shared_data_dir: Path, store) -> None:
    path = shared_data_dir / "bbh" / "code-davinci-002-outputs" / "cot-navigate.json"
    with pytest.raises(AssayError, match="none of its rows matches a sample of task bbh_cot:web_of_lies"):
        import_predictions(store, path, get_task("bbh_cot:web_of_lies"), "x", TaskContext(data_dir=shared_data_dir))
    assert store.list_runs() == []


@pytest.mark.parametrize(("content", "named"), [
    (None, "no such file"),
    ("", "empty file"),
    ("just text\n", "no JSON object"),
    ('{"answer": "A"}\n', "unknown prediction format"),
])
def test_bad_files_are_one_line_errors(shared_data_dir: Path, tmp_path: Path, content: str | None, named: str) -> None:
    path = tmp_path / "p.jsonl"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    out = assay_cli("import", "predictions", str(path), "--task", "leval_quality", "--model", "m",
                    "--db", f"sqlite:///{tmp_path / 'a.db'}")
    line = _one_line_error(out)
    assert named in line and str(path) in line


def test_a_log_likelihood_only_task_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "p.jsonl"
    path.write_text(json.dumps({"prediction": "x"}) + "\n", encoding="utf-8")
    out = assay_cli("import", "predictions", str(path), "--task", "arith_mc", "--model", "m",
                    "--db", f"sqlite:///{tmp_path / 'a.db'}")
    assert "--task arith_mc: it is scored from loglikelihood requests" in _one_line_error(out)
