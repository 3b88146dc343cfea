"""`assay docqa battle`: a run against the set's gold answers (a pseudo-run through the Runner) or another run,
both orders, by the judges' engine; the battles carry the prompt (with the document) and both outputs, so they
are pairs on the labelling page."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from docqa_support import cli, make_set, one_error, rules_spec, run_set

from assay.judges.store import iter_judgments
from assay.store import Store
from assay.web.labelling import pairs_to_label

DECLINE = "The document does not say."
# The judge prefers the decline, wherever it is shown; a tie when both answers decline.
RULES: list[tuple[str | list[str], str]] = [
    (f"[Answer of assistant A]\n{DECLINE}\n[End of answer of assistant A]\n\n[Answer of assistant B]\n{DECLINE}",
     '{"verdict": "tie"}'),
    (f"[Answer of assistant A]\n{DECLINE}", '{"verdict": "A"}'),
    ("[Answer of assistant A]", '{"verdict": "B"}'),
]


def test_battle_against_gold_answers(store: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    question_set, path = make_set(tmp_path)
    answers = tmp_path / "answers.json"
    answers.write_text(json.dumps({"Question:": DECLINE}), encoding="utf-8")
    run_id = run_set(store, path, f"scripted:oracle={answers}")
    db = f"sqlite:///{tmp_path / 'assay.db'}"
    code, out, err = cli(capsys, "docqa", "battle", run_id, "--judge", rules_spec(tmp_path, RULES, "judge"), "--db", db,
                         "--no-progress", "--json")
    assert code == 0, err
    report = json.loads(out)
    gold_run = report["source_runs"][1]
    assert store.get_run(gold_run)["model_spec"] == f"gold:{path.name}"
    gold = {r["sample_id"]: r["responses"][0]["text"] for r in store.iter_samples(gold_run, f"docqa:{path}")}
    assert gold == {q.id: q.answer for q in question_set.questions}
    metrics = {m["name"]: m["value"] for m in report["metrics"]}
    n_no_info = sum(1 for q in question_set.questions if q.type == "no_info")
    # Both decline on no_info questions (a tie); elsewhere the run (A) declines, the gold (B) answers: A wins in
    # both orders.
    assert (metrics["ties"], metrics["wins_a"], metrics["wins_b"], metrics["n_position_inconsistent"]) == (
        n_no_info, len(question_set.questions) - n_no_info, 0, 0)
    judgments = list(iter_judgments(store, source=f"run:{report['id']}"))
    assert len(judgments) == 2 * len(question_set.questions) and all(j.prompt and "Edith Calloway" in j.prompt
                                                                      for j in judgments)
    pairs, without_text = pairs_to_label(judgments)
    assert len(pairs) == len(question_set.questions) and without_text == 0
    # A second battle reuses the stored gold run.
    code, out, _ = cli(capsys, "docqa", "battle", run_id, "--judge", rules_spec(tmp_path, RULES, "judge"), "--db", db,
                       "--no-progress", "--json", "--rerun")
    assert code == 0 and json.loads(out)["source_runs"][1] == gold_run


def test_battle_against_another_run_and_a_changed_set(store: Store, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    _, path = make_set(tmp_path)
    answers = tmp_path / "answers.json"
    answers.write_text(json.dumps({"Question:": DECLINE}), encoding="utf-8")
    run_a = run_set(store, path, f"scripted:oracle={answers}")
    run_b = run_set(store, path, "scripted:constant=It was in 1784.")
    db = f"sqlite:///{tmp_path / 'assay.db'}"
    judge = rules_spec(tmp_path, RULES, "judge")
    code, out, err = cli(capsys, "docqa", "battle", run_a, "--against", run_b, "--judge", judge, "--db", db,
                         "--no-progress", "--json", "--one-order")
    assert code == 0, err
    metrics = {m["name"]: m["value"] for m in json.loads(out)["metrics"]}
    assert metrics["wins_a"] == metrics["n_samples"]
    header, first, *rest = path.read_text(encoding="utf-8").splitlines()
    edited = {**json.loads(first), "answer": "An edited gold answer."}
    path.write_text("\n".join([header, json.dumps(edited), *rest]) + "\n", encoding="utf-8")
    assert "spec hash" in one_error(capsys, "docqa", "battle", run_a, "--judge", judge, "--db", db)
