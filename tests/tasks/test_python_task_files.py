"""`--task FILE.py:NAME`: the three examples through `assay run` and `assay.evaluate` (scripted models), the
loader's one-line errors (exit code 2, no traceback), and `assay judge` using the rubric a task declares."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import assay
from cli_capture import run_cli as _cli

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "python"
CASES = [("capitals.py:capitals", "capitals", "exact", 8), ("science_choice.py:science", "science", "acc", 8),
         ("judged_answers.py", "open_answers", "mentions_reference", 5)]


def _oracle(tmp_path: Path) -> str:
    answers = {"capital of France": "Paris", "capital of Japan": "Tokyo", "largest planet": "Jupiter is the largest."}
    path = tmp_path / "oracle.json"
    path.write_text(json.dumps(answers))
    return f"scripted:oracle={path}"


@pytest.mark.parametrize(("entry", "name", "primary", "count"), CASES)
def test_example_runs_through_the_cli(entry: str, name: str, primary: str, count: int, tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _cli(capsys, "run", "--model", _oracle(tmp_path), "--task", str(EXAMPLES / entry),
                          "--db", str(tmp_path / "a.db"), "--no-progress", "--json")
    assert code == 0, err
    result = json.loads(out)
    rows = {m["name"]: m for m in result["metrics"] if m["task"] == name}
    assert rows[primary]["primary"] and rows["n_samples"]["value"] == count
    if name == "capitals":  # the oracle knows two capitals: the declared scorer counts exactly those
        assert rows["exact"]["value"] == pytest.approx(2 / 8)


@pytest.mark.parametrize(("entry", "name", "primary", "count"), CASES)
def test_example_runs_through_evaluate(entry: str, name: str, primary: str, count: int, tmp_path: Path) -> None:
    run = assay.evaluate(_oracle(tmp_path), str(EXAMPLES / entry))
    rows = {m.name: m for m in run.metrics if m.task == name}
    assert rows[primary].primary and rows["n_samples"].value == count
    spec = run.manifest["tasks"][name]["spec"]
    assert spec["family"] == "python" and len(spec["dataset"]["records_sha256"]) == 64


def test_evaluate_takes_a_task_object(tmp_path: Path) -> None:
    from assay.tasks.python_loader import load_python_task

    task = load_python_task(f"{EXAMPLES / 'capitals.py'}:capitals")
    run = assay.evaluate(_oracle(tmp_path), task, limit=3)
    assert {m.name: m.value for m in run.metrics if m.task == "capitals"}["n_samples"] == 3


BAD_FILES = {
    "missing.py": ("", "file not found"),
    "raises.py": ("x = 1 / 0\n", "importing it raised ZeroDivisionError: division by zero (raises.py line 1)"),
    "syntax.py": ("def (:\n", "line 1: invalid Python"),
    "plain.py": ("import assay\ndef capitals():\n    return None\n", "capitals is not decorated with @assay.task"),
    "two.py": ("import assay\n@assay.task\ndef a():\n    pass\n@assay.task\ndef b():\n    pass\n",
               "expected one @assay.task function in the file, found 2 (a, b)"),
    "returns.py": ("import assay\n@assay.task\ndef capitals():\n    return 'no'\n",
                   "capitals() returned str; expected a task"),
    "fails.py": ("import assay\n@assay.task\ndef capitals():\n    return {}['k']\n",
                 "capitals() raised KeyError: 'k' (fails.py line 4)"),
    "builtin.py": ("import assay\n@assay.task(name='gsm8k')\ndef t():\n    return assay.generate(dataset=[{'a': 1}], "
                   "prompt='x', target='a')\n", "'gsm8k' is already the name of a built-in task"),
}


@pytest.mark.parametrize("file_name", sorted(BAD_FILES))
def test_bad_task_file_is_one_line_exit_2(file_name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source, expected = BAD_FILES[file_name]
    path = tmp_path / file_name
    if source:
        path.write_text(source)
    entry = f"{path}:capitals" if file_name in ("plain.py", "returns.py", "fails.py") else str(path)
    code, _, err = _cli(capsys, "run", "--model", "scripted:echo", "--task", entry, "--db", str(tmp_path / "a.db"),
                        "--no-progress")
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and "Traceback" not in err, err
    assert lines[0].startswith(f"error: --task {entry}: ") and expected in lines[0], lines[0]
    assert not (tmp_path / "a.db").exists() or "already the name" in expected


def test_unknown_function_lists_the_task_functions(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _cli(capsys, "run", "--model", "scripted:echo", "--task", f"{EXAMPLES / 'capitals.py'}:capital",
                        "--db", str(tmp_path / "a.db"), "--no-progress")
    assert code == 2 and "no function 'capital' in" in err and "(its @assay.task functions: capitals)" in err


def test_a_scorer_bug_stops_the_run_with_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bug.py"
    path.write_text("import assay\n@assay.scorer(metrics=[assay.score('exact', primary=True)])\n"
                    "def s(sample, response):\n    return {'exact': 1.0, 'typo': 0.0}\n"
                    "@assay.task\ndef t():\n    return assay.generate(dataset=[{'a': 'x'}], prompt='{{ a }}', "
                    "target='a', scorer=s)\n")
    code, _, err = _cli(capsys, "run", "--model", "scripted:echo", "--task", str(path), "--db",
                        str(tmp_path / "a.db"), "--no-progress")
    assert code == 2 and "Traceback" not in err
    assert "error: scorer s: returned metric 'typo' on sample '0', which it does not declare" in err


def test_judge_uses_the_rubric_the_task_declares(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "a.db")
    code, out, err = _cli(capsys, "run", "--model", "scripted:echo", "--task", str(EXAMPLES / "judged_answers.py"),
                          "--db", db, "--no-progress", "--json")
    assert code == 0, err
    run_id = json.loads(out)["id"]
    # The scripted judge answers only prompts written with the example's own template (its first line).
    rules = tmp_path / "judge.json"
    rules.write_text(json.dumps([{"match": "Grade the answer to the question for correctness",
                                  "answer": '{"score": 4, "reason": "fine"}'}]))
    code, out, err = _cli(capsys, "judge", run_id, "--judge", f"scripted:judge={rules}", "--db", db, "--no-progress",
                          "--json")
    assert code == 0, err
    assert "task open_answers: judged with the template the task declares" in err
    assert "rubric correctness 1..5; --template overrides it" in err
    judged = json.loads(out)
    score = next(m for m in judged["metrics"] if m["name"] == "rubric_score")
    assert score["value"] == 4.0 and score["n"] == 5
    # --template wins over the declared one: the scripted judge has no answer for the shipped wording.
    template = tmp_path / "own.j2"
    template.write_text("Rate {{ answer }} for {{ question }} on {{ rubric.title }}")
    code, out, err = _cli(capsys, "judge", run_id, "--judge", f"scripted:judge={rules}", "--db", db, "--no-progress",
                          "--json", "--template", str(template))
    assert code == 0, err
    assert "judged with the template the task declares" not in err
    assert not any(m["name"] == "rubric_score" for m in json.loads(out)["metrics"])
