"""A real OpenAI-compatible judge over HTTP (the fault-injecting fake server): `assay battle` through the
openai: backend with retried 500s, a re-ask that recovers a prose reply, verdicts stored per order."""

from __future__ import annotations

import re
from pathlib import Path

from judge_support import answering_model, metric, source_run

from assay.judges.engine import JudgeSettings, execute, plan_battle, plan_judge
from assay.judges.prompts import load_prompt
from assay.judges.store import iter_judgments
from assay.models.openai_compat import load
from assay.store import Store
from servers.fake_openai import Behaviour, FakeOpenAIServer

ANSWERS_A = {"largest planet": "Jupiter.", "take in from the air": "Carbon dioxide, taken in through the leaves.",
             "boiling point": "100.", "Romeo and Juliet": "Shakespeare.", "people exercise": "Health."}
ANSWERS_B = {"largest planet": "Jupiter, the fifth planet.", "take in from the air": "CO2.",
             "boiling point": "100 degrees Celsius.", "Romeo and Juliet": "Marlowe.", "people exercise": "Fun."}
_ANSWER = re.compile(r"\[Answer of assistant ([AB])\]\n(.*?)\n\[End of answer", re.S)


def longer_answer_wins(prompt: str) -> str:
    """A judge with a length bias, answering in the format; prose about Romeo and Juliet until re-asked."""
    if prompt.startswith("Your reply could not be read"):
        return '{"verdict": "tie", "reason": "re-asked"}'
    if "Romeo and Juliet" in prompt:
        return "Both answers name a playwright."
    answers = dict(_ANSWER.findall(prompt))
    if "score" in prompt and "[Answer to grade]" in prompt:
        return '{"score": 4, "reason": "fine"}'
    return '{"verdict": "%s", "reason": "longer"}' % max("AB", key=lambda k: len(answers[k]))  # noqa: UP031


def test_battle_with_an_openai_compatible_judge(store: Store, tmp_path: Path) -> None:
    run_a = source_run(store, answering_model(tmp_path, "a", ANSWERS_A))
    run_b = source_run(store, answering_model(tmp_path, "b", ANSWERS_B))
    prompt = load_prompt("pairwise")
    settings = JudgeSettings(show_progress=False)
    plan = plan_battle(store, run_a, run_b, prompt, settings)
    with FakeOpenAIServer(Behaviour(answer_fn=longer_answer_wins, flaky_attempts=1)) as server:
        judge = load(f"{server.base_url}#judge-model", concurrency=4, max_retries=2, backoff_s=0.01)
        outcome = execute(store, judge, prompt, plan, settings)
        judge.close()
        chat_calls = server.stats.by_path["/v1/chat/completions"]
    metrics = outcome.run.metrics
    # Longer wins: B for the planet and the boiling point, A for the gas and exercise; Romeo: a tie once re-asked.
    assert [metric(metrics, n) for n in ("wins_a", "wins_b", "ties", "n_position_inconsistent")] == [2, 2, 1, 0]
    assert metric(metrics, "n_judge_errors") == 0
    assert metric(metrics, "n_reasked") == 2 and metric(metrics, "n_reask_recovered") == 2
    assert outcome.run.stats["request_errors"] == 0
    # 10 judge prompts + 2 re-asks, each failing once with a 500 before the retry succeeds.
    assert chat_calls == 2 * 12
    judgments = list(iter_judgments(store, source=f"run:{outcome.run.run_id}"))
    assert len(judgments) == 10 and {j.rater for j in judgments} == {judge.spec}
    assert judge.spec.startswith("openai:") and judge.spec.endswith("#judge-model")
    assert all(j.ok and j.verdict in ("a", "b", "tie") for j in judgments)


def test_pointwise_with_an_openai_compatible_judge(store: Store, tmp_path: Path) -> None:
    run_a = source_run(store, answering_model(tmp_path, "a", ANSWERS_A), limit=2)
    prompt = load_prompt("pointwise", None, "correctness")
    settings = JudgeSettings(show_progress=False)
    plan = plan_judge(store, run_a, prompt, settings)
    with FakeOpenAIServer(Behaviour(answer_fn=longer_answer_wins)) as server:
        judge = load(f"{server.base_url}#judge-model", max_retries=0)
        outcome = execute(store, judge, prompt, plan, settings)
        judge.close()
    assert metric(outcome.run.metrics, "rubric_score") == 4.0
    assert [j.score for j in iter_judgments(store, source=f"run:{outcome.run.run_id}")] == [4.0, 4.0]
