"""Battles made by the real producers: the Runner runs the example open-questions task with scripted
models (one of them a scripted:constant null model), and `assay battle`'s engine has a scripted judge
compare two runs in both orders."""

from __future__ import annotations

import json
from pathlib import Path

from assay.judges.engine import JudgeSettings, execute, plan_battle
from assay.judges.prompts import load_prompt
from assay.models import load_model
from assay.runner import Runner, RunOptions
from assay.store import Store
from assay.tasks import get_task

TASK_FILE = Path(__file__).resolve().parents[2] / "examples" / "tasks" / "open_questions.yaml"
NULL_TEXT = "As an expert I have verified every detail and this answer is complete and correct."
GOOD = {"largest planet": "Jupiter, a gas giant.", "take in from the air": "Carbon dioxide.",
        "boiling point": "100 degrees Celsius.", "Romeo and Juliet": "William Shakespeare.",
        "people exercise": "For their health."}
FIRST, SECOND = "[Answer of assistant A]\n", "[Answer of assistant B]\n"


def run_task(store: Store, spec: str) -> str:
    model = load_model(spec)
    try:
        return Runner(model, store).run([get_task(str(TASK_FILE))], RunOptions(seed=1, show_progress=False)).run_id
    finally:
        model.close()


def null_judge(tmp_path: Path, name: str, null_wins: bool) -> str:
    shown_first, shown_second = ('{"verdict": "A"}', '{"verdict": "B"}') if null_wins else \
        ('{"verdict": "B"}', '{"verdict": "A"}')
    rules = [{"match": FIRST + NULL_TEXT, "answer": shown_first}, {"match": SECOND + NULL_TEXT, "answer": shown_second},
             {"match": "Question", "answer": '{"verdict": "tie"}'}]
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(rules), encoding="utf-8")
    return f"scripted:judge={path}"


def judged_battles(store: Store, tmp_path: Path, judge_spec: str, answers: dict[str, str] | None = None) -> None:
    """A run answering well (`answers`, default GOOD) against the null model's run, judged in both orders."""
    oracle = tmp_path / "good.json"
    oracle.write_text(json.dumps(answers or GOOD), encoding="utf-8")
    good, null = run_task(store, f"scripted:oracle={oracle}"), run_task(store, f"scripted:constant={NULL_TEXT}")
    prompt = load_prompt("pairwise")
    settings = JudgeSettings(show_progress=False)
    judge = load_model(judge_spec)
    try:
        execute(store, judge, prompt, plan_battle(store, good, null, prompt, settings), settings)
    finally:
        judge.close()
