"""The API verbs other than evaluate (compare, power, judge, battle, arena, winrate, agreement) on runs and
judgments stored by the real producers (`assay run` with scripted models, `assay import judgments`): each
returns what the matching CLI command prints with --json, as a typed object, and bad input is an AssayError."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import assay.api.comparing as comparing
import assay.api.judging as judging
import assay.api.leaderboards as leaderboards
from assay.api.run import Run, load_run
from assay.arena.leaderboard import Leaderboard, RatedModel
from assay.arena.winrate import WinRateRow, WinRates
from assay.cli import app
from assay.comparison import ComparedMetric, Comparison
from assay.errors import AssayError
from assay.judges.agreement_report import AgreementReport
from assay.stats.power import PowerAnalysis
from assay.store import Store

TASK_FILE = Path(__file__).resolve().parents[2] / "examples" / "tasks" / "open_questions.yaml"
ANSWERS_A = {"largest planet": "Jupiter.", "take in from the air": "Carbon dioxide.",
             "boiling point": "Fifty.", "Romeo and Juliet": "Shakespeare.", "people exercise": "Health."}
ANSWERS_B = {"largest planet": "Saturn.", "take in from the air": "CO2.",
             "boiling point": "100 degrees Celsius.", "Romeo and Juliet": "William Shakespeare.",
             "people exercise": "Fitness."}
FIRST, SECOND = "[Answer of assistant A]\n", "[Answer of assistant B]\n"
BATTLE_RULES = [
    (FIRST + "Jupiter.", '{"verdict": "A"}'), (SECOND + "Jupiter.", '{"verdict": "B"}'),  # A wins both orders
    ("take in from the air", '{"verdict": "A"}'),  # the first shown: flips with the order (a tie)
    (FIRST + "100 degrees", '{"verdict": "A"}'), (SECOND + "100 degrees", '{"verdict": "B"}'),  # B wins
    ("Romeo and Juliet", '{"verdict": "tie"}'),
    ("people exercise", "Both answers are fine really."),  # unreadable, also after the re-ask
]
GRADING_RULES = [("Jupiter.", '{"score": 9, "reason": "right"}'), ("Carbon dioxide.", '{"score": 8}'),
                 ("Fifty.", '{"score": 1}'), ("Shakespeare.", '{"score": 10}'), ("Health.", "no score here")]


@dataclass(frozen=True)
class Stored:
    db: str
    run_a: str
    run_b: str
    grader: str
    referee: str


def _write(path: Path, value: Any) -> str:
    path.write_text(json.dumps(value), encoding="utf-8")
    return str(path)


def _judge_spec(path: Path, rules: list[tuple[str, str]]) -> str:
    return "scripted:judge=" + _write(path, [{"match": match, "answer": answer} for match, answer in rules])


def _cli_json(*args: str) -> Any:
    result = CliRunner().invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory) -> Stored:
    folder = tmp_path_factory.mktemp("verbs")
    db = str(folder / "assay.db")
    ids = [_cli_json("run", "--model", f"scripted:oracle={_write(folder / f'{name}.json', answers)}",
                     "--task", str(TASK_FILE), "--db", db, "--no-progress")["id"]
           for name, answers in (("a", ANSWERS_A), ("b", ANSWERS_B))]
    return Stored(db, ids[0], ids[1], _judge_spec(folder / "grader.json", GRADING_RULES),
                  _judge_spec(folder / "referee.json", BATTLE_RULES))


def test_compare_is_what_the_cli_prints(stored: Stored) -> None:
    result = comparing.compare(stored.run_a, stored.run_b, db=stored.db)
    assert isinstance(result, Comparison) and result.run_a == stored.run_a and result.run_b == stored.run_b
    row = next(r for r in result.comparisons if r.metric == "contains")
    assert isinstance(row, ComparedMetric) and row.primary and row.n == 5
    # `contains` is case-sensitive: A's "Jupiter." holds its reference; B's "100 degrees Celsius." and "William
    # Shakespeare." hold theirs.
    assert (row.mean_a, row.mean_b, row.diff, row.test) == (0.2, 0.4, pytest.approx(0.2), "mcnemar")
    assert row.p_holm == row.p_value == 1.0 and row.ci_low is not None and row.ci_low < 0 < row.ci_high
    assert result.to_dict() == _cli_json("compare", stored.run_a, stored.run_b, "--db", stored.db)
    # Run objects: the same comparison from their store.
    with_runs = comparing.compare(load_run(stored.run_a, db=stored.db), load_run(stored.run_b, db=stored.db))
    assert with_runs == result


def test_compare_bad_input_is_one_assay_error(stored: Stored, tmp_path: Path) -> None:
    run_a = load_run(stored.run_a, db=stored.db)
    with pytest.raises(AssayError, match=r"^db: only with run ids"):
        comparing.compare(run_a, stored.run_b, db=stored.db)
    other = Store(f"sqlite:///{tmp_path / 'other.db'}")
    try:
        with pytest.raises(AssayError, match=r"^b: run x is in another store"):
            comparing.compare(run_a, Run("x", other))
    finally:
        other.close()
    with pytest.raises(AssayError, match="no database at"):
        comparing.compare(stored.run_a, stored.run_b, db=str(tmp_path / "missing.db"))
    with pytest.raises(AssayError, match="nope"):
        comparing.compare(stored.run_a, "nope", db=stored.db)


def test_power_is_what_the_cli_prints() -> None:
    result = comparing.power(0.6, delta=0.02, n=2000, paired_corr=0.5)
    assert isinstance(result, PowerAnalysis) and result.design == "paired" and result.samples_needed
    assert result.to_dict() == _cli_json("power", "--baseline", "0.6", "--delta", "0.02", "--n", "2000",
                                         "--paired-corr", "0.5")
    assert comparing.power(0.6, n=500).to_dict() == _cli_json("power", "--baseline", "0.6", "--n", "500")
    with pytest.raises(AssayError, match=r"^delta: give delta"):
        comparing.power(0.6)
    with pytest.raises(AssayError, match=r"^baseline"):
        comparing.power(1.5, delta=0.02)


def _same_judge_run(run: Run, printed: dict[str, Any]) -> None:
    """The CLI, given the same inputs, found the API's judge run stored and returned it as is."""
    outcome = run.outcome
    assert isinstance(outcome, judging.JudgeRunOutcome)
    assert printed["id"] == run.id and printed["reused"] and not outcome.reused
    assert {(m["task"], m["name"]): m["value"] for m in printed["metrics"]} == \
        {(m["task"], m["name"]): m["value"] for m in outcome.metric_rows} == \
        {(m.task, m.name): m.value for m in run.metrics}
    assert (printed["judgments"], printed["skipped"], printed["source_runs"], printed["models"]) == \
        (outcome.judgments, outcome.skipped, outcome.source_runs, outcome.models)


def test_judge_is_the_judge_run_the_cli_makes(stored: Stored) -> None:
    run = judging.judge(stored.run_a, judge=stored.grader, db=stored.db)
    assert isinstance(run, Run) and run.tasks == list(run.outcome.judge_tasks)  # type: ignore[union-attr]
    score = run.metric(name="rubric_score")
    assert score.value == pytest.approx((9 + 8 + 1 + 10) / 4) and score.n == 4
    assert run.metric(name="n_judge_errors").value == 1
    _same_judge_run(run, _cli_json("judge", stored.run_a, "--judge", stored.grader, "--db", stored.db))


def test_battle_is_the_judge_run_the_cli_makes(stored: Stored) -> None:
    a, b = load_run(stored.run_a, db=stored.db), load_run(stored.run_b, db=stored.db)
    run = judging.battle(a, b, judge=stored.referee)  # read-only Runs: the judge run is written beside them
    outcome = run.outcome
    assert isinstance(outcome, judging.JudgeRunOutcome) and outcome.judgments == 10  # 5 pairs, both orders
    assert [run.metric(name=n).value for n in ("wins_a", "wins_b", "ties", "n_position_inconsistent")] == [1, 1, 2, 1]
    _same_judge_run(run, _cli_json("battle", stored.run_a, stored.run_b, "--judge", stored.referee,
                                   "--db", stored.db))


def test_judge_bad_input_is_one_assay_error(stored: Stored) -> None:
    with pytest.raises(AssayError, match=r"^--judge-args: "):
        judging.judge(stored.run_a, judge=stored.grader, judge_args={"no_such_option": 1}, db=stored.db)
    with pytest.raises(AssayError, match=r"^--rubric: "):
        judging.judge(stored.run_a, judge=stored.grader, rubric="no-such-rubric", db=stored.db)
    with pytest.raises(AssayError, match=r"^RUN_B: the same run"):
        judging.battle(stored.run_a, stored.run_a, judge=stored.referee, db=stored.db)
    with pytest.raises(AssayError, match=r"^limit: "):
        judging.battle(stored.run_a, stored.run_b, judge=stored.referee, db=stored.db, limit=0)


def test_arena_and_winrate_are_what_the_cli_prints(stored: Stored) -> None:
    battled = judging.battle(stored.run_a, stored.run_b, judge=stored.referee, db=stored.db)
    assert isinstance(battled.outcome, judging.JudgeRunOutcome)
    board = leaderboards.arena(db=stored.db, rounds=50)
    assert isinstance(board, Leaderboard) and all(isinstance(r, RatedModel) for r in board.ratings)
    assert {r.model for r in board.ratings} == set(battled.outcome.models) and board.n_battles > 0
    assert board.to_dict() == _cli_json("arena", "--db", stored.db, "--rounds", "50")
    baseline = board.ratings[-1].model
    rates = leaderboards.winrate(baseline, db=stored.db)
    assert isinstance(rates, WinRates) and all(isinstance(r, WinRateRow) for r in rates.rows)
    assert rates.to_dict() == _cli_json("winrate", "--baseline", baseline, "--db", stored.db)
    with pytest.raises(AssayError, match=r"^--method: "):
        leaderboards.arena(db=stored.db, method="glicko")  # type: ignore[arg-type]
    with pytest.raises(AssayError, match=r"^--source nope: not stored"):
        leaderboards.winrate(baseline, db=stored.db, source="nope")


def test_agreement_is_what_the_cli_prints(shared_data_dir: Path, tmp_path: Path) -> None:
    db = str(tmp_path / "labels.db")
    data = shared_data_dir / "judges" / "llmbar" / "LLMBar" / "Natural"
    imported = CliRunner().invoke(app, ["import", "judgments", str(data), "--format", "llmbar", "--db", db])
    assert imported.exit_code == 0, imported.output
    report = leaderboards.agreement(db=db, judge="GPT-4/Swap")
    assert isinstance(report, AgreementReport) and report.reference == "label"
    entry = report.judges[0]
    assert entry["judge"] == "GPT-4/Swap" and entry["accuracy"]["average"]["value"] == pytest.approx(0.945)
    assert report.to_dict() == _cli_json("agreement", "--db", db, "--judge", "GPT-4/Swap")
    with pytest.raises(AssayError, match=r"^--judge nobody: no judgments by that rater"):
        leaderboards.agreement(db=db, judge="nobody")
