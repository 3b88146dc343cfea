"""Dump a generated long-context suite to JSONL: one canonical-JSON line per sample (id, messages,
target, metadata, requests), so the same seed gives a byte-identical file and suites can be diffed,
archived or fed to another harness."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from assay.tasks.base import Task, TaskContext
from assay.types import canonical_json, request_to_dict


def suite_lines(tasks: Sequence[Task], ctx: TaskContext, limit: int | None = None) -> list[str]:
    """`limit`: at most that many original samples per task, with their copies (`metadata["base_id"]`)."""
    lines = []
    for task in tasks:
        bases: set[str] = set()
        for sample in task.samples(ctx):
            base = sample.metadata.get("base_id", sample.id)
            if limit is not None and base not in bases and len(bases) == limit:
                break
            bases.add(base)
            record = {"task": task.name, "id": sample.id, "input": sample.input, "target": sample.target,
                      "cluster": sample.cluster, "metadata": sample.metadata,
                      "requests": [request_to_dict(r) for r in task.requests(sample)]}
            lines.append(canonical_json(record))
    return lines


def dump_suite(tasks: Sequence[Task], ctx: TaskContext, path: str | Path, limit: int | None = None) -> int:
    """Write the suite to `path` (UTF-8, '\\n' line ends); returns the number of samples."""
    lines = suite_lines(tasks, ctx, limit)
    Path(path).write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return len(lines)
