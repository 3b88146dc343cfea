"""The text of a task's items that a contamination check compares with a corpus: the question as the
benchmark wrote it (not the rendered prompt, whose template and few-shot block every item shares)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from assay.tasks.base import Task, TaskContext
from assay.types import Sample


@dataclass(frozen=True)
class Item:
    id: str
    text: str


def item_text(sample: Sample) -> str:
    """metadata["question"] if the task keeps it, else the input text (a string, or the last user
    message of a chat input)."""
    question = sample.metadata.get("question") if sample.metadata else None
    if isinstance(question, str) and question.strip():
        return question
    value: Any = sample.input
    if isinstance(value, dict) and value.get("messages"):
        return str(value["messages"][-1]["content"])
    if isinstance(value, dict) and isinstance(value.get("question"), str):
        return value["question"]
    return str(value)


def task_items(task: Task, ctx: TaskContext, limit: int | None = None) -> list[Item]:
    items = []
    for sample in task.samples(ctx):
        items.append(Item(sample.id, item_text(sample)))
        if limit is not None and len(items) >= limit:
            break
    return items
