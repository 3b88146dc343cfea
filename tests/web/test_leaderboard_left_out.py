"""The leaderboard says why a run is not ranked, with the real reason, for runs made by the real producers
(`assay run`, `assay judge`, `assay battle`) minutes before: never "stored before metrics were declared"
for a run that declares its metrics."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from assay.cli import main
from assay.store import Store
from assay.web.leaderboard import build_leaderboard


def _assay(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    main(list(args))
    return capsys.readouterr().out


def _run_id(output: str, label: str = "run id") -> str:
    found = re.search(rf"^{label}: (\w+)", output, flags=re.M)
    assert found, output
    return found.group(1)


@pytest.fixture()
def board_notes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> list[str]:
    db = f"sqlite:///{tmp_path / 'a.db'}"
    rules = tmp_path / "judge.rules.json"
    rules.write_text(json.dumps([{"match": "assistant A", "answer": "[[A]]"},
                                 {"match": "score", "answer": '{"score": 7, "reason": "fine"}'}]), encoding="utf-8")
    common = ("--db", db, "--no-progress")
    run_a = _run_id(_assay(capsys, "run", "--model", "scripted:echo", "--task", "arith", "--limit", "3", *common))
    run_b = _run_id(_assay(capsys, "run", "--model", "scripted:constant=7", "--task", "arith", "--limit", "3", *common))
    _assay(capsys, "judge", run_a, "--judge", f"scripted:judge={rules}", *common)            # readable verdicts
    _assay(capsys, "judge", run_b, "--judge", "scripted:echo", *common)                      # every verdict unreadable
    _assay(capsys, "battle", run_a, run_b, "--judge", f"scripted:judge={rules}", *common)
    return build_leaderboard(Store(db, read_only=True).engine).notes


def test_no_judge_or_battle_run_is_said_to_predate_declared_metrics(board_notes: list[str]) -> None:
    assert not [note for note in board_notes if "before metrics were declared" in note], board_notes


def test_each_left_out_run_names_its_real_reason(board_notes: list[str]) -> None:
    by_reason = {note.split("): ", 1)[0]: note for note in board_notes if note.startswith("left out (")}
    assert by_reason["left out (no sample has a value of its primary metric"] == (
        "left out (no sample has a value of its primary metric): scripted:echo / judge:arith "
        "(3 samples: 0 request errors, 3 unparsable or unreadable)")
    assert by_reason["left out (the primary metric is descriptive: it has no better direction"].endswith(
        "/ battle:arith (b_wins)")
    assert by_reason["left out (the primary metric is not on the 0..1 scale of the other tasks"].endswith(
        "/ judge:arith (rubric_score: 1..10)")
