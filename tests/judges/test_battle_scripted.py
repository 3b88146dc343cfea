"""`assay battle` with a scripted judge: both presentation orders, verdicts stored in canonical A/B terms,
a verdict that flips with the order is a tie counted as a position inconsistency, unreadable replies are
judge errors, samples are aligned by id, and runs of different tasks or questions are refused."""

from __future__ import annotations

from pathlib import Path

import pytest
from judge_support import QUESTIONS, TASK, answering_model, judge_spec, metric, source_run

from assay.errors import AssayError
from assay.judges.engine import JudgeSettings, execute, plan_battle
from assay.judges.prompts import load_prompt
from assay.judges.store import iter_judgments
from assay.models import load_model
from assay.store import Store

ANSWERS_A = {"largest planet": "Jupiter.", "take in from the air": "Carbon dioxide.",
             "boiling point": "Fifty.", "Romeo and Juliet": "Shakespeare.", "people exercise": "Health."}
ANSWERS_B = {"largest planet": "Saturn.", "take in from the air": "CO2.",
             "boiling point": "100 degrees Celsius.", "Romeo and Juliet": "William Shakespeare.",
             "people exercise": "Fitness."}
FIRST = "[Answer of assistant A]\n"
SECOND = "[Answer of assistant B]\n"
RULES: list[tuple[str | list[str], str]] = [
    (FIRST + "Jupiter.", '{"verdict": "A", "reason": "Jupiter is right"}'),   # A wins in both orders
    (SECOND + "Jupiter.", "[[B]]"),
    ("take in from the air", '{"verdict": "A", "reason": "first is best"}'),  # always the first shown: flips
    (FIRST + "100 degrees", '{"verdict": "A"}'),                              # B wins in both orders
    (SECOND + "100 degrees", '{"verdict": "B"}'),
    ("Romeo and Juliet", '{"verdict": "tie", "reason": "same author"}'),     # a tie in both orders
    ("people exercise", "Both answers are fine really."),                    # prose, also after the re-ask
]


def _battle(store: Store, tmp_path: Path, run_a: str, run_b: str, mode: str = "pairwise", **settings: object):
    prompt = load_prompt(mode)
    options = JudgeSettings(show_progress=False, **settings)  # type: ignore[arg-type]
    plan = plan_battle(store, run_a, run_b, prompt, options)
    judge = load_model(judge_spec(tmp_path, RULES))
    try:
        return execute(store, judge, prompt, plan, options)
    finally:
        judge.close()


@pytest.fixture()
def runs(store: Store, tmp_path: Path) -> tuple[str, str]:
    return (source_run(store, answering_model(tmp_path, "a", ANSWERS_A)),
            source_run(store, answering_model(tmp_path, "b", ANSWERS_B)))


def test_both_orders_flips_ties_and_errors(store: Store, tmp_path: Path, runs: tuple[str, str]) -> None:
    outcome = _battle(store, tmp_path, *runs)
    metrics = outcome.run.metrics
    assert [metric(metrics, n) for n in ("wins_a", "wins_b", "ties", "n_position_inconsistent")] == [1, 1, 2, 1]
    assert metric(metrics, "n_pairs_with_judge_error") == 1
    assert metric(metrics, "n_judge_errors") == 2  # both orders of the prose pair
    assert metric(metrics, "n_reasked") == 2 and metric(metrics, "n_reask_recovered") == 0
    assert metric(metrics, "b_wins") == pytest.approx((0 + 0.5 + 1 + 0.5) / 4)
    assert metric(metrics, "position_consistent") == pytest.approx(3 / 4)
    assert metric(metrics, "first_position_wins") == pytest.approx((0.5 + 1 + 0.5 + 0.5) / 4)

    judgments = list(iter_judgments(store, source=f"run:{outcome.run.run_id}"))
    assert outcome.judgments == len(judgments) == 10
    by_item = {(next(q for q in QUESTIONS if q in (j.prompt or "")), j.order): j for j in judgments}
    planet = [by_item[("largest planet", order)] for order in ("ab", "ba")]
    assert [j.verdict for j in planet] == ["a", "a"]  # canonical: A (run A's Jupiter) in both orders
    gas = [by_item[("take in from the air", order)] for order in ("ab", "ba")]
    assert [j.verdict for j in gas] == ["a", "b"] and gas[0].metadata["position_consistent"] is False
    assert gas[0].metadata["pair_verdict"] == "tie" and planet[1].metadata["pair_verdict"] == "a"
    prose = [by_item[("people exercise", order)] for order in ("ab", "ba")]
    assert all(j.verdict is None and "no verdict found" in (j.error or "") for j in prose)
    for j in judgments:
        assert j.kind == "pairwise" and j.task == TASK and j.rater_kind == "judge"
        assert j.model_a.endswith("a.json") and j.model_b and j.model_b.endswith("b.json")
        assert j.output_a == ANSWERS_A[next(k for k in ANSWERS_A if k in (j.prompt or ""))]
        assert j.output_b == ANSWERS_B[next(k for k in ANSWERS_B if k in (j.prompt or ""))]


def test_one_order_and_alignment_by_sample_id(store: Store, tmp_path: Path) -> None:
    run_a = source_run(store, answering_model(tmp_path, "a", ANSWERS_A))
    run_b = source_run(store, answering_model(tmp_path, "b", ANSWERS_B), limit=3)
    outcome = _battle(store, tmp_path, run_a, run_b, orders=("ab",))
    assert outcome.skipped["only_in_one_run"] == 2
    judgments = list(iter_judgments(store, source=f"run:{outcome.run.run_id}"))
    assert len(judgments) == 3 and {j.order for j in judgments} == {"ab"}
    # One order cannot show a position inconsistency: the gas pair is simply A's.
    assert metric(outcome.run.metrics, "wins_a") == 2 and metric(outcome.run.metrics, "n_position_inconsistent") == 0
    assert not any(m["name"] == "position_consistent" and m["value"] is not None for m in outcome.run.metrics)


def test_reference_guided_prompt(store: Store, tmp_path: Path, runs: tuple[str, str]) -> None:
    outcome = _battle(store, tmp_path, *runs, mode="pairwise_reference", reference=True, limit=1)
    prompts = [r["prompt"] for r in store.iter_samples(outcome.run.run_id)]
    assert len(prompts) == 1 and "[Reference answer]\nJupiter" in prompts[0]
    assert all(j.reference == "Jupiter" for j in iter_judgments(store, source=f"run:{outcome.run.run_id}"))


def test_same_model_runs_are_named_by_run(store: Store, tmp_path: Path) -> None:
    spec = answering_model(tmp_path, "a", ANSWERS_A)
    run_a = source_run(store, spec)
    run_b = source_run(store, spec, limit=2)  # another configuration: a second run of the same model
    outcome = _battle(store, tmp_path, run_a, run_b, limit=1)
    j = next(iter_judgments(store, source=f"run:{outcome.run.run_id}"))
    assert (j.model_a, j.model_b) == (f"{spec}@{run_a}", f"{spec}@{run_b}")


def test_runs_with_other_questions_are_refused(store: Store, tmp_path: Path) -> None:
    from assay.runner import Runner, RunOptions
    from assay.tasks import get_task

    def arith_run(seed: int) -> str:
        model = load_model("scripted:echo")
        return Runner(model, store).run([get_task("arith")], RunOptions(seed=seed, limit=3, show_progress=False)).run_id

    with pytest.raises(AssayError, match="different prompt"):
        plan_battle(store, arith_run(1), arith_run(2), load_prompt("pairwise"), JudgeSettings(show_progress=False))
    with pytest.raises(AssayError, match="share no task"):
        run_a = source_run(store, answering_model(tmp_path, "a", ANSWERS_A))
        plan_battle(store, run_a, arith_run(1), load_prompt("pairwise"), JudgeSettings(show_progress=False))
