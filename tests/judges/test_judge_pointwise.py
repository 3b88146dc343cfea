"""`assay judge` on a stored run with a scripted judge: valid scores are averaged, prose, broken JSON,
out-of-scale scores and empty replies are judge errors (counted, stored, never scored), one re-ask
recovers a reply, and the judge run names its source, judge and template in its manifest."""

from __future__ import annotations

from pathlib import Path

import pytest
from judge_support import TASK, answering_model, judge_spec, metric, source_run

from assay.judges.engine import JudgeSettings, execute, plan_judge
from assay.judges.prompts import load_prompt
from assay.judges.store import iter_judgments
from assay.models import load_model
from assay.store import Store

ANSWERS = {"largest planet": "Jupiter, a gas giant.", "take in from the air": "Oxygen.",
           "boiling point": "About 100 degrees.", "Romeo and Juliet": "Shakespeare wrote it.",
           "people exercise": "To stay fit."}
# Re-ask rules first: the re-asked conversation also holds the question's own rule text.
RULES: list[tuple[str | list[str], str]] = [
    (["could not be read", "I would say a 2"], '{"score": 2, "reason": "wrong gas"}'),
    ("Jupiter, a gas giant.", '{"score": 9, "reason": "right"}'),
    ("Oxygen.", "This answer is wrong, I would say a 2."),          # prose, then recovered by the re-ask
    ("About 100 degrees.", '{"score": 8, "reason": "close enou'),  # broken JSON, twice
    ("Shakespeare wrote it.", '{"score": 11, "reason": "great"}'),  # out of the 1..10 scale, twice
    # "To stay fit." matches no rule: the scripted judge answers "" (empty), twice
]


def _judge(store: Store, tmp_path: Path, source: str, **settings: object):
    prompt = load_prompt("pointwise", None, "helpfulness")
    plan = plan_judge(store, source, prompt, JudgeSettings(show_progress=False, **settings))  # type: ignore[arg-type]
    judge = load_model(judge_spec(tmp_path, RULES))
    try:
        outcome = execute(store, judge, prompt, plan, JudgeSettings(show_progress=False, **settings))  # type: ignore[arg-type]
    finally:
        judge.close()
    outcome.judge_calls = judge.calls  # type: ignore[attr-defined]
    return outcome, prompt


def test_bad_replies_are_counted_never_scored(store: Store, tmp_path: Path) -> None:
    source = source_run(store, answering_model(tmp_path, "answers", ANSWERS))
    outcome, prompt = _judge(store, tmp_path, source)
    metrics = outcome.run.metrics
    assert metric(metrics, "rubric_score") == pytest.approx(5.5)  # (9 + 2) / 2: the three errors are not scores
    assert next(m["n"] for m in metrics if m["name"] == "rubric_score") == 2
    assert metric(metrics, "n_judge_errors") == 3
    assert metric(metrics, "n_reasked") == 4
    assert metric(metrics, "n_reask_recovered") == 1
    assert metric(metrics, "n_samples") == 5
    assert outcome.judge_calls == 5 + 4  # one re-ask per unreadable reply, never a second

    judgments = {j.output_a: j for j in iter_judgments(store, source=f"run:{outcome.run.run_id}")}
    assert outcome.judgments == 5 and len(judgments) == 5
    assert judgments["Jupiter, a gas giant."].score == 9 and judgments["Jupiter, a gas giant."].reasoning == "right"
    recovered = judgments["Oxygen."]
    assert recovered.score == 2 and recovered.ok and recovered.metadata["reasked"]
    assert "no verdict found" in recovered.metadata["first_error"]
    assert "broken JSON" in (judgments["About 100 degrees."].error or "")
    assert "outside the scale 1..10" in (judgments["Shakespeare wrote it."].error or "")
    assert judgments["To stay fit."].error == "empty output"
    for j in judgments.values():
        assert j.kind == "pointwise" and j.rater_kind == "judge" and j.task == TASK
        assert j.rater.startswith("scripted:judge=") and j.model_a.startswith("scripted:oracle=")
        assert (j.score is None) == (j.error is not None)

    # The stored samples of the errors carry no score at all (not 0, not NaN).
    rows = {r["extracted"]: r for r in store.iter_samples(outcome.run.run_id)}
    errored = [r for r in store.iter_samples(outcome.run.run_id) if r["error_kind"] == "unparsable"]
    assert len(errored) == 3 and all(r["scores"] == {} for r in errored)
    assert rows["9"]["scores"] == {"rubric_score": 9.0}

    run = store.get_run(outcome.run.run_id)
    spec = run["manifest"]["tasks"][f"judge:{TASK}"]["spec"]
    assert spec["source"]["runs"] == [source] and spec["template_sha256"] == prompt.template_sha256
    assert spec["rubric"]["title"] == "helpfulness" and run["model_spec"].startswith("scripted:judge=")
    assert run["manifest"]["options"]["judge"]["source_runs"] == [source]


def test_identical_judge_run_is_reused_and_rerun_hits_the_cache(store: Store, tmp_path: Path) -> None:
    source = source_run(store, answering_model(tmp_path, "answers", ANSWERS))
    first, _ = _judge(store, tmp_path, source)
    again, _ = _judge(store, tmp_path, source)
    assert again.run.reused and again.run.run_id == first.run.run_id
    rerun, _ = _judge(store, tmp_path, source, rerun=True)
    assert rerun.run.run_id != first.run.run_id
    assert rerun.run.stats["cache_hits"] == rerun.run.stats["requests"] == 5
    assert metric(rerun.run.metrics, "rubric_score") == metric(first.run.metrics, "rubric_score")


def test_reference_answer_is_shown_to_the_judge(store: Store, tmp_path: Path) -> None:
    source = source_run(store, answering_model(tmp_path, "answers", ANSWERS), limit=2)
    outcome, _ = _judge(store, tmp_path, source, reference=True)
    prompts = [r["prompt"] for r in store.iter_samples(outcome.run.run_id)]
    assert any("[Reference answer, known to be correct]\nJupiter" in p for p in prompts)
    assert all(j.reference for j in iter_judgments(store, source=f"run:{outcome.run.run_id}"))


class _StopsAfter:
    """The scripted judge, interrupted (as by Ctrl-C) at its `calls`-th batch."""

    def __init__(self, judge: object, calls: int) -> None:
        self.judge, self.left = judge, calls

    def __getattr__(self, name: str) -> object:
        return getattr(self.judge, name)

    def generate(self, requests: list[object]) -> list[object]:
        self.left -= 1
        if self.left == 0:
            raise KeyboardInterrupt
        return self.judge.generate(requests)  # type: ignore[attr-defined]


def test_interrupted_judge_run_resumes(store: Store, tmp_path: Path) -> None:
    from assay.runner import RunInterrupted

    source = source_run(store, answering_model(tmp_path, "answers", ANSWERS))
    prompt = load_prompt("pointwise", None, "helpfulness")
    settings = JudgeSettings(show_progress=False, chunk_size=2)
    plan = plan_judge(store, source, prompt, settings)
    # Chunk 1 (two samples) is judged and re-asked, then chunk 2's first batch is interrupted.
    with pytest.raises(RunInterrupted) as stopped:
        execute(store, _StopsAfter(load_model(judge_spec(tmp_path, RULES)), 3), prompt, plan, settings)  # type: ignore[arg-type]
    assert store.get_run(stopped.value.run_id)["status"] == "interrupted" and stopped.value.stored == 2
    resumed = execute(store, load_model(judge_spec(tmp_path, RULES)), prompt, plan, settings)
    assert resumed.run.resumed and resumed.run.run_id == stopped.value.run_id
    assert resumed.run.stats["skipped_existing"] == 2 and resumed.run.stats["samples"] == 3
    assert resumed.judgments == 5 and metric(resumed.run.metrics, "rubric_score") == pytest.approx(5.5)
