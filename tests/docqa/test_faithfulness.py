"""`assay docqa judge`: claims extracted by the judge, each verified against the answer's document, faithfulness =
supported / claims per answer with the per-claim records stored; unreadable claim lists and verdicts counted,
never scored; declines not checked."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from docqa_support import cli, make_set, one_error, rules_spec, run_set

from assay.store import Store

CLAIMS = "Split the answer above into short separate claims"
ANSWERS = {"Bramwell family add": "They added a third floor. They built a railway.",
           "Who built the Harrow Mill?": "Edith Calloway built it in 1784.",
           "Question:": "The document does not say."}
JUDGE_RULES: list[tuple[str | list[str], str]] = [
    ([CLAIMS, "third floor"], "Claims:\n- The Bramwells added a third floor.\n- The Bramwells built a railway.\n\nDone."),
    ([CLAIMS, "Edith Calloway"], "Edith built it."),  # no list, twice: claims unreadable
    ("Claim: The Bramwells added a third floor.", "True."),
    (["Claim: The Bramwells built a railway.", "could not be read"], "unknown"),
    ("Claim: The Bramwells built a railway.", "It is hard to say."),  # re-asked once, then read
]


def _judged(store: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str],
            rules: list[tuple[str | list[str], str]] = JUDGE_RULES) -> tuple[str, dict]:
    _, path = make_set(tmp_path, per_doc=6, types=("factual", "no_info"))
    answers = tmp_path / "answers.json"
    answers.write_text(json.dumps(ANSWERS), encoding="utf-8")
    run_id = run_set(store, path, f"scripted:oracle={answers}")
    db = f"sqlite:///{tmp_path / 'assay.db'}"
    code, out, err = cli(capsys, "docqa", "judge", run_id, "--judge", rules_spec(tmp_path, rules, "judge"),
                         "--db", db, "--no-progress", "--json")
    assert code == 0, err
    return run_id, json.loads(out)


def test_faithfulness_per_claim_records_and_counts(store: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run_id, report = _judged(store, tmp_path, capsys)
    # Factual questions answered with a decline (all but two) and the no_info ones are not checked.
    assert report["skipped"]["declined"] >= 4 and report["skipped"]["claims_unreadable"] == 1
    claims_metrics = {m["name"]: m["value"] for m in report["claims_metrics"]}
    assert claims_metrics["n_judge_errors"] == 1 and claims_metrics["n_reasked"] == 1
    metrics = {m["name"]: m for m in report["metrics"]}
    assert metrics["faithfulness"]["value"] == 0.5 and metrics["faithfulness"]["n"] == 1
    assert metrics["faithfulness"]["primary"] and metrics["contradicted"]["higher_is_better"] is False
    assert {k: metrics[k]["value"] for k in ("n_claims_checked", "n_supported", "n_not_found", "n_claims_unreadable",
                                             "n_reasked", "n_reask_recovered")} == {
        "n_claims_checked": 2, "n_supported": 1, "n_not_found": 1, "n_claims_unreadable": 0, "n_reasked": 1,
        "n_reask_recovered": 1}
    [row] = list(store.iter_samples(report["id"], f"faithfulness:{next(iter(store.sample_tasks(run_id)))}"))
    records = row["metadata"]["claims"]
    assert [(c["claim"], c["verdict"], c["reasked"]) for c in records] == [
        ("The Bramwells added a third floor.", "supported", False), ("The Bramwells built a railway.", "not_found", True)]
    assert "A flood" in row["prompt"] and "Visitors can climb" in row["prompt"]  # the whole document, not a passage
    assert row["cluster"] == "harrow_mill"


def test_unreadable_verdicts_leave_the_answer_unscored(store: Store, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    rules = [rule for rule in JUDGE_RULES if "could not be read" not in rule[0]]
    _, report = _judged(store, tmp_path, capsys, rules)
    metrics = {m["name"]: m for m in report["metrics"]}
    assert "faithfulness" not in metrics or metrics["faithfulness"]["value"] is None
    assert metrics["n_claims_unreadable"]["value"] == 1 and metrics["n_judge_errors"]["value"] == 1
    assert metrics["n_unparsable"]["value"] == 1


def test_judge_needs_a_docqa_run(store: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = f"sqlite:///{tmp_path / 'assay.db'}"
    code, out, _ = cli(capsys, "run", "--task", "arith", "--model", "scripted:echo", "--db", db, "--no-progress",
                       "--json")
    assert code == 0
    run_id = json.loads(out)["id"]
    assert "has no docqa task" in one_error(capsys, "docqa", "judge", run_id, "--judge", "scripted:echo", "--db", db)
