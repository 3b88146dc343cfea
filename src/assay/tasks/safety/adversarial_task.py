"""`adversarial:PATH`: a set written by `assay adversarial` (assay/adversarial.py) run as a task. Requests,
scoring and metric declarations are the source task's; the set's header must name the source task's
current spec hash, so a set is never scored by a changed scorer."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from assay.errors import AssayError
from assay.metric_specs import MetricSpec
from assay.tasks.base import Task, TaskBase, TaskContext
from assay.tasks.registry import get_task, register_task
from assay.types import Request, Response, Sample, Scored, sha256_hex


class AdversarialSetTask(TaskBase):
    family = "safety"

    def __init__(self, path: Path) -> None:
        from assay.adversarial import read_set, spec_sha256

        self.path = path
        self.header, self._samples = read_set(path)
        self.source: Task = get_task(str(self.header["source_task"]))
        if spec_sha256(self.source) != self.header.get("source_spec_sha256"):
            raise AssayError(f"--task adversarial:{path}: made from {self.header['source_task']} with spec "
                             f"{str(self.header.get('source_spec_sha256'))[:12]}, which is now "
                             f"{spec_sha256(self.source)[:12]}: regenerate the set")
        self.name = f"adversarial:{path.name}"

    def spec(self) -> dict[str, Any]:
        return {"task": "adversarial", "header": self.header, "source_spec": self.source.spec(),
                "set_sha256": sha256_hex(self.path.read_text(encoding="utf-8"))}

    def size(self, ctx: TaskContext) -> int:
        return len(self._samples)

    def samples(self, ctx: TaskContext) -> Iterator[Sample]:
        yield from self._samples

    def requests(self, sample: Sample) -> Sequence[Request]:
        return self.source.requests(sample)

    def score(self, sample: Sample, responses: Sequence[Response]) -> Scored:
        return self.source.score(sample, responses)

    def metrics(self) -> Sequence[MetricSpec]:
        return self.source.metrics()

    def aggregate(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return self.source.aggregate(rows)


@register_task("adversarial", family="safety", description="a set of harder variants written by `assay adversarial` "
               "(adversarial:PATH.jsonl), scored as its source task")
def _make(variant: str | None) -> Task:
    if not variant:
        raise AssayError("--task adversarial: expected adversarial:PATH, the .jsonl set written by assay adversarial")
    path = Path(variant)
    if not path.is_file():
        raise AssayError(f"--task adversarial:{variant}: no such file")
    return AdversarialSetTask(path)
