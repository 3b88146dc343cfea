"""Source runs for judge tests, made by the real producer (the Runner on the example open-questions task)
with scripted models that answer from a table, and scripted judges that answer from rules."""

from __future__ import annotations

import json
from pathlib import Path

from assay.models import load_model
from assay.runner import Runner, RunOptions
from assay.store import Store
from assay.tasks import get_task

TASK_FILE = Path(__file__).resolve().parents[2] / "examples" / "tasks" / "open_questions.yaml"
TASK = "example_open_questions"

# Substrings of the five questions, in the file's order.
QUESTIONS = ("largest planet", "take in from the air", "boiling point", "Romeo and Juliet", "people exercise")


def answering_model(tmp_path: Path, name: str, answers: dict[str, str]) -> str:
    """A scripted:oracle spec answering each question (by substring) with the given text."""
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(answers), encoding="utf-8")
    return f"scripted:oracle={path}"


def judge_spec(tmp_path: Path, rules: list[tuple[str | list[str], str]], name: str = "judge") -> str:
    path = tmp_path / f"{name}.rules.json"
    path.write_text(json.dumps([{"match": match, "answer": answer} for match, answer in rules]), encoding="utf-8")
    return f"scripted:judge={path}"


def source_run(store: Store, model_spec: str, limit: int | None = None, seed: int = 1234) -> str:
    model = load_model(model_spec)
    try:
        result = Runner(model, store).run([get_task(str(TASK_FILE))],
                                          RunOptions(seed=seed, limit=limit, show_progress=False))
    finally:
        model.close()
    return result.run_id


def metric(metrics: list[dict[str, object]], name: str) -> object:
    return next(m["value"] for m in metrics if m["name"] == name)
