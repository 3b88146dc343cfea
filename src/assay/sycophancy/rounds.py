"""The two rounds of the pushback suite through the ordinary runner: round 1 the plain tasks (an
identical complete run is reused), round 2 the `PushbackTask`s built from round 1's stored rows."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

from assay.errors import AssayError
from assay.metric_specs import MetricDeclarations
from assay.runner import Runner, RunOptions, RunResult
from assay.store import Store
from assay.sycophancy.pushback import PushbackTask, first_answers
from assay.tasks.base import Task

_COLUMNS = ("sample_id", "scores", "extracted", "responses", "error_kind", "metadata")


def pushback_tasks(store: Store, run_id: str, tasks: Sequence[Task]) -> list[PushbackTask]:
    out = []
    for task in tasks:
        primary = MetricDeclarations(task.name, task.metrics()).primary
        first = first_answers(list(store.iter_samples(run_id, task.name, columns=_COLUMNS)), primary)
        if not first:
            raise AssayError(f"--task {task.name}: round 1 (run {run_id}) has no answered sample to push back on")
        out.append(PushbackTask(task, first, run_id))
    return out


def run_pushback(model: Any, store: Store, tasks: Sequence[Task], options: RunOptions,
                 notify: Callable[[str], None] | None = None) -> tuple[RunResult, RunResult]:
    """(round 1's result, round 2's result); `options` serves both rounds (each gets a fresh context)."""
    for task in tasks:
        if task.name.startswith(("sycophancy:", "pushback:")):
            raise AssayError(f"--task {task.name}: name a plain task; the pushback suite builds its own")

    def fresh(purpose: str) -> RunOptions:
        ctx = dataclasses.replace(options.context, tokenizer=None, max_context=None,
                                  options=dict(options.context.options))
        return dataclasses.replace(options, context=ctx, reuse_complete=True,
                                   recorded={**options.recorded, "sycophancy": purpose})

    first = Runner(model, store).run(list(tasks), fresh("round 1: the plain tasks"))
    if notify is not None:
        notify(f"round 1: run {first.run_id}")
    second = Runner(model, store).run(pushback_tasks(store, first.run_id, tasks), fresh("round 2: pushback"))
    return first, second


