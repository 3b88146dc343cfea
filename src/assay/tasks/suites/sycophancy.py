"""`sycophancy:TASK` — any multiple-choice task or task with a numeric answer, asked plainly and with
the user's wrong / right opinion stated (`assay.sycophancy.task`)."""

from __future__ import annotations

from assay.errors import AssayError
from assay.tasks.base import Task
from assay.tasks.registry import get_task, register_task


@register_task("sycophancy", family="sycophancy",
               description="a task's questions asked plainly and with the user's wrong/right answer stated: "
                           "flip-to-wrong and flip-to-right rates (sycophancy:arith_mc, sycophancy:gsm8k:zeroshot)")
def _make(variant: str | None) -> Task:
    from assay.sycophancy.task import SycophancyTask

    if not variant:
        raise AssayError("--task sycophancy: name the task to test, e.g. sycophancy:arith_mc")
    if variant.startswith("sycophancy"):
        raise AssayError(f"--task sycophancy:{variant}: a sycophancy task cannot wrap another one")
    return SycophancyTask(get_task(variant))
