"""Registers `docqa:SET.jsonl`: a question set made by `assay docqa generate` (the task lives in assay.docqa)."""

from __future__ import annotations

from pathlib import Path

from assay.errors import AssayError
from assay.tasks.base import Task
from assay.tasks.registry import register_task


@register_task("docqa", family="docqa", description="questions about your own documents: docqa:SET.jsonl, a set "
               "made by `assay docqa generate` (document before the question, faithfulness via `assay docqa judge`)")
def _docqa(variant: str | None) -> Task:
    from assay.docqa.task import DocQATask

    if not variant:
        raise AssayError("--task docqa: expected docqa:SET.jsonl, a question set from `assay docqa generate`")
    return DocQATask(Path(variant))
