"""The task contract: pure, seeded, no I/O beyond reading its data files, no model calls.

A task turns a seed (and its data) into samples, each sample into requests, and a sample plus its
responses into a `Scored`. It declares every metric it produces (`metrics()`), and its corpus-level
figures (`aggregate`) are computed from the stored rows by `assay.aggregate`, so they can be
recomputed without the model.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from assay.metric_specs import MetricSpec
from assay.models.base import Tokenizer
from assay.types import GenerateRequest, LoglikelihoodRequest, Request, Response, Sample, Scored


@dataclass
class TaskContext:
    """What a task may know when it builds samples: the seed, the data folder, the model's tokenizer and context
    size (for exact-length prompts) and the run's options (haystack, prompt formats, repeats)."""

    seed: int = 1234
    data_dir: Path | None = None
    # The model's tokenizer and context size: long-context tasks build exact-length prompts with it.
    tokenizer: Tokenizer | None = None
    max_context: int | None = None
    options: dict[str, Any] = field(default_factory=dict)


@runtime_checkable
class Task(Protocol):
    name: str
    # Grouping for leaderboards: "longctx", "benchmarks", "builtin", ...
    family: str

    def spec(self) -> dict[str, Any]:
        """Everything that defines the task (data file hashes, template, parameters): its hash
        goes into the manifest and decides whether two runs are comparable."""
        ...

    def samples(self, ctx: TaskContext) -> Iterator[Sample]: ...

    def requests(self, sample: Sample) -> Sequence[Request]: ...

    def score(self, sample: Sample, responses: Sequence[Response]) -> Scored: ...

    def metrics(self) -> Sequence[MetricSpec]:
        """Every per-sample score and task-level figure the task produces, with its direction and
        scale; exactly one is primary."""
        ...

    def size(self, ctx: TaskContext) -> int | None:
        """How many samples `samples(ctx)` yields (None: unknown until generated); for progress."""
        ...

    def aggregate(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Task-level metric rows from the stored sample rows ([] when the task has none)."""
        ...

    def run_options(self) -> frozenset[str]:
        """The `assay run` options this task can use, of "haystack", "prompt_formats" and "repeats"
        (`assay.run_options`): the CLI refuses any other one given, never ignores it."""
        ...


class TaskBase:
    """Defaults for a task with no known size, no task-level figures and no run options; `metrics()` has no default:
    every task declares what it produces."""

    def size(self, ctx: TaskContext) -> int | None:
        return None

    def aggregate(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return []

    def run_options(self) -> frozenset[str]:
        return frozenset()


def prompt_of(requests: Sequence[Request]) -> str:
    """The prompt text stored with a sample: the first request's prompt/context/text."""
    first = requests[0]
    if isinstance(first, GenerateRequest):
        if first.prompt is not None:
            return first.prompt
        return "\n".join(f"[{m.role}] {m.content}" for m in first.messages or ())
    if isinstance(first, LoglikelihoodRequest):
        return first.context
    return first.text
