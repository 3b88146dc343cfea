"""The `assay judge` / `assay battle` commands: the battle summary as printed, and bad input (templates,
rubrics, judge specs and arguments, runs that cannot be compared or judged) as one line with exit code 2
that stores nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from judge_support import TASK_FILE, answering_model, judge_spec, source_run

from assay.store import Store
from cli_capture import run_cli as _main

ANSWERS_A = {"largest planet": "Jupiter.", "take in from the air": "Carbon dioxide."}
ANSWERS_B = {"largest planet": "Saturn.", "take in from the air": "CO2."}
RULES: list[tuple[str | list[str], str]] = [
    ("[Answer of assistant A]\nJupiter.", '{"verdict": "A"}'),
    ("[Answer of assistant B]\nJupiter.", '{"verdict": "B"}'),
    ("take in from the air", "[[A]]"),  # the first shown, whatever it is: a position inconsistency
]


def _one_error(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    code, _, err = _main(capsys, *args)
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2 and len(lines) == 1 and lines[0].startswith("error:"), err
    return lines[0]


@pytest.fixture()
def db(tmp_path: Path) -> Path:
    return tmp_path / "assay.db"


@pytest.fixture()
def runs(db: Path, tmp_path: Path) -> tuple[str, str]:
    store = Store(str(db))
    return (source_run(store, answering_model(tmp_path, "a", ANSWERS_A), limit=2),
            source_run(store, answering_model(tmp_path, "b", ANSWERS_B), limit=2))


def _runs_in(db: Path) -> int:
    return len(Store(str(db), read_only=True).list_runs())


def test_battle_prints_wins_ties_inconsistencies_and_errors(capsys: pytest.CaptureFixture[str], db: Path,
                                                            tmp_path: Path, runs: tuple[str, str]) -> None:
    code, out, err = _main(capsys, "battle", *runs, "--judge", judge_spec(tmp_path, RULES), "--db", str(db),
                           "--no-progress")
    assert code == 0, err
    assert "A wins 1, B wins 0, ties 1 (of which 1 position inconsistencies" in out
    assert "judge errors: 0 unreadable replies after one re-ask" in out
    assert "4 judgments stored as run:" in out
    code, out, _ = _main(capsys, "judge", runs[0], "--judge", judge_spec(tmp_path, RULES), "--db", str(db), "--json")
    result = json.loads(out)
    # Pairwise rules give no score: both replies are judge errors, re-asked once, counted.
    counts = {m["name"]: m["value"] for m in result["metrics"]}
    assert code == 0 and counts["n_judge_errors"] == 2 and counts["n_reasked"] == 2 and result["judgments"] == 2


@pytest.mark.parametrize(("make_args", "expected"), [
    (lambda t: ["--template", str(t / "missing.j2")], "error: --template"),
    (lambda t: ["--template", _write(t / "typo.j2", "{{ answr }}")], "'answr' is undefined"),
    (lambda t: ["--template", _write(t / "syntax.j2", "{% if %}")], "bad pointwise judge template"),
    (lambda t: ["--rubric", "kindness"], "--rubric: unknown rubric 'kindness'"),
    (lambda t: ["--rubric", _write(t / "r.yaml", "title: x\nmin: 5\nmax: 1\ncriteria: c\n")], "must be below max"),
    (lambda t: ["--judge-args", "nosuch=1"], "error: --judge-args: unknown key 'nosuch'"),
    (lambda t: ["--judge-args", "delay_s=-1"], "error: --judge-args delay_s=-1"),
])
def test_bad_judge_input_is_one_line(capsys: pytest.CaptureFixture[str], db: Path, tmp_path: Path,
                                     runs: tuple[str, str], make_args, expected: str) -> None:  # type: ignore[no-untyped-def]
    before = _runs_in(db)
    line = _one_error(capsys, "judge", runs[0], "--judge", "scripted:echo", *make_args(tmp_path), "--db", str(db))
    assert expected in line
    assert _runs_in(db) == before


def test_unknown_judge_and_unknown_run(capsys: pytest.CaptureFixture[str], db: Path, runs: tuple[str, str]) -> None:
    assert "error: --judge: unknown model spec 'gpt4'" in _one_error(capsys, "battle", *runs, "--judge", "gpt4",
                                                                       "--db", str(db))
    assert "no run with id 'nosuch'" in _one_error(capsys, "judge", "nosuch", "--judge", "scripted:echo", "--db", str(db))
    assert "RUN_B: the same run" in _one_error(capsys, "battle", runs[0], runs[0], "--judge", "scripted:echo",
                                               "--db", str(db))


def test_battle_refuses_runs_of_different_task_specs(capsys: pytest.CaptureFixture[str], db: Path, tmp_path: Path) -> None:
    task = tmp_path / "open_questions.yaml"
    (tmp_path / "open_questions.jsonl").write_text((TASK_FILE.parent / "open_questions.jsonl").read_text())
    task.write_text(TASK_FILE.read_text())
    assert _main(capsys, "run", "-m", "scripted:echo", "-t", str(task), "--db", str(db), "--no-progress")[0] == 0
    task.write_text(TASK_FILE.read_text().replace("max_tokens: 48", "max_tokens: 40"))
    assert _main(capsys, "run", "-m", "scripted:echo", "-t", str(task), "--db", str(db), "--no-progress")[0] == 0
    run_a, run_b = (run["id"] for run in Store(str(db), read_only=True).list_runs())
    line = _one_error(capsys, "battle", run_a, run_b, "--judge", "scripted:echo", "--db", str(db))
    assert "has spec hash" in line and "same task" in line
    assert _runs_in(db) == 2


def test_log_likelihood_runs_have_nothing_to_judge(capsys: pytest.CaptureFixture[str], db: Path) -> None:
    assert _main(capsys, "run", "-m", "scripted:echo", "-t", "arith_mc", "--limit", "2", "--db", str(db),
                 "--no-progress")[0] == 0
    run_id = Store(str(db), read_only=True).list_runs()[0]["id"]
    assert "no generated outputs" in _one_error(capsys, "judge", run_id, "--judge", "scripted:echo", "--db", str(db))


def _write(path: Path, text: str) -> str:
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_tasks_without_outputs_are_left_out_and_counted(capsys: pytest.CaptureFixture[str], db: Path,
                                                        tmp_path: Path) -> None:
    assert _main(capsys, "run", "-m", "scripted:echo", "-t", "arith,arith_mc", "--limit", "2", "--db", str(db),
                 "--no-progress")[0] == 0
    run_id = Store(str(db), read_only=True).list_runs()[0]["id"]
    judge = judge_spec(tmp_path, [("What is", "[[4]]")])
    code, out, err = _main(capsys, "judge", run_id, "--judge", judge, "--db", str(db), "--json")
    result = json.loads(out)
    assert code == 0, err
    assert result["skipped"]["tasks_without_outputs"] == 1
    assert {m["task"] for m in result["metrics"]} == {"judge:arith"}
    assert next(m["value"] for m in result["metrics"] if m["name"] == "rubric_score") == 4.0
    # Named with --task, a task without outputs is an error.
    assert "no generated outputs" in _one_error(capsys, "judge", run_id, "--judge", judge, "--task", "arith_mc",
                                                "--db", str(db))


def test_battle_with_a_template_file(capsys: pytest.CaptureFixture[str], db: Path, tmp_path: Path,
                                     runs: tuple[str, str]) -> None:
    from assay.types import sha256_hex

    template = _write(tmp_path / "short.j2", "Q: {{ question }}\n1: {{ answer_a }}\n2: {{ answer_b }}\nSay [[A]] or [[B]].")
    judge = judge_spec(tmp_path, [("1: Jupiter.", "[[A]]"), ("2: Jupiter.", "[[B]]"), ("Q:", "[[tie]]")])
    code, out, err = _main(capsys, "battle", *runs, "--judge", judge, "--template", template, "--db", str(db), "--json")
    assert code == 0, err
    result = json.loads(out)
    counts = {m["name"]: m["value"] for m in result["metrics"]}
    assert (counts["wins_a"], counts["ties"], counts["n_judge_errors"]) == (1, 1, 0)
    spec = next(iter(Store(str(db), read_only=True).get_run(result["id"])["manifest"]["tasks"].values()))["spec"]
    assert spec["template"] == "file:short.j2"
    assert spec["template_sha256"] == sha256_hex(Path(template).read_text(encoding="utf-8"))


def test_unreachable_judge_keeps_the_run_and_names_the_judge(capsys: pytest.CaptureFixture[str], db: Path,
                                                             runs: tuple[str, str]) -> None:
    from servers.fake_openai import free_port

    judge = f"openai:http://127.0.0.1:{free_port()}/v1#judge"
    code, _, err = _main(capsys, "battle", *runs, "--judge", judge, "--judge-args", "max_retries=0,timeout=5",
                         "--db", str(db), "--no-progress")
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 1 and len(lines) == 1 and lines[0].startswith(f"error: --judge {judge}: server"), err
    assert "unreachable" in lines[0] and "resumes when you rerun the same command" in lines[0]
    assert [run["status"] for run in Store(str(db), read_only=True).list_runs()][-1] == "running"
