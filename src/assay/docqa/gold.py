"""The gold answers of a question set as a pseudo-run: a model that answers each docqa request with its
question's gold answer, run through the normal Runner, so that `assay battle` (the judges' engine) can judge a
run's answers against the gold answers like against any other run: same task, same spec hash, same prompts."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from assay.docqa.task import DocQATask
from assay.models.base import Tokenizer, UnsupportedRequest
from assay.runner import Runner, RunOptions, RunResult
from assay.store import Store
from assay.tasks.base import TaskContext
from assay.types import GenerateRequest, LoglikelihoodRequest, LoglikelihoodRollingRequest, Response, request_hash


class GoldAnswers:
    """Answers a docqa task's requests with the gold answers (`gold:<set>`)."""

    max_context: int | None = None

    def __init__(self, task: DocQATask) -> None:
        self.task = task
        self.spec = f"gold:{task.path.name}"
        self.answers = {request_hash(task.requests(s)[0]): str(s.target) for s in task.samples(TaskContext())}

    def fingerprint(self) -> dict[str, Any]:
        return {"backend": "gold", "set_sha256": self.task.spec()["set_sha256"]}

    def tokenizer(self) -> Tokenizer | None:
        return None

    def generate(self, requests: Sequence[GenerateRequest]) -> list[Response]:
        return [Response(text=self.answers[request_hash(r)]) if request_hash(r) in self.answers
                else Response(error="not a question of this set") for r in requests]

    def loglikelihood(self, requests: Sequence[LoglikelihoodRequest]) -> list[Response]:
        raise UnsupportedRequest("the gold answers are text only")

    def loglikelihood_rolling(self, requests: Sequence[LoglikelihoodRollingRequest]) -> list[Response]:
        raise UnsupportedRequest("the gold answers are text only")

    def close(self) -> None:
        return None


def gold_run(store: Store, task: DocQATask, seed: int) -> RunResult:
    """The set's gold answers stored as a run (an identical one is reused)."""
    options = RunOptions(seed=seed, show_progress=False, reuse_complete=True, recorded={"gold_answers": True})
    return Runner(GoldAnswers(task), store).run([task], options)
