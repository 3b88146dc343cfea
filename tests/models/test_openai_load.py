"""The openai: backend at high concurrency against a real loopback server: the connection pool is sized
to the concurrency and reused across batches, and 429/500 answers under load are retried, counted and
reported per request (directly and through the Runner)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import pytest

from assay.metric_specs import MetricSpec, score
from assay.models.base import UnsupportedRequest
from assay.models.openai_compat import OpenAICompatModel, load
from assay.runner import Runner, RunOptions
from assay.store import Store
from assay.tasks.base import TaskBase, TaskContext
from assay.types import GenerateRequest, LoglikelihoodRequest, Request, Response, Sample, Scored
from servers.fake_openai import Behaviour, FakeOpenAIServer

CONCURRENCY = 256
REQUESTS = 1024
MAX_RETRIES = 2


class PromptsTask(TaskBase):
    """`size` samples of one generate request each; the fake server echoes the prompt."""

    name = "prompts"
    family = "test"

    def __init__(self, size: int) -> None:
        self.size_ = size

    def spec(self) -> dict[str, Any]:
        return {"name": self.name, "size": self.size_}

    def samples(self, ctx: TaskContext) -> Iterator[Sample]:
        for i in range(self.size_):
            yield Sample(id=f"p{i}", input=f"prompt {i}", target=f"prompt {i}")

    def requests(self, sample: Sample) -> Sequence[Request]:
        return [GenerateRequest(prompt=sample.input, max_tokens=4)]

    def metrics(self) -> list[MetricSpec]:
        return [score("exact_match", primary=True)]

    def score(self, sample: Sample, responses: Sequence[Response]) -> Scored:
        return Scored(extracted=responses[0].text, scores={"exact_match": float(responses[0].text == sample.target)})


def _model(server: FakeOpenAIServer, concurrency: int = CONCURRENCY) -> OpenAICompatModel:
    return load(f"{server.base_url}#m", concurrency=concurrency, max_retries=MAX_RETRIES, backoff_s=0.01, timeout=30)


def _always_500(prompt: str) -> str | None:
    # Every 10th request keeps failing; the rest succeed once past their first (429) attempt.
    return "500" if int(prompt.rsplit(" ", 1)[1]) % 10 == 0 else None


def test_rate_limits_and_server_errors_at_concurrency_256_are_retried_and_counted() -> None:
    behaviour = Behaviour(latency_s=0.05, flaky_attempts=1, flaky_fault="429", retry_after="0",
                          fault_rule=_always_500, record_payloads=False)
    with FakeOpenAIServer(behaviour) as server:
        model = _model(server)
        try:
            responses = model.generate([GenerateRequest(prompt=f"request {i}", max_tokens=4) for i in range(REQUESTS)])
        finally:
            model.close()
        stats = server.stats
    failing = {i for i in range(REQUESTS) if i % 10 == 0}
    assert {i for i, r in enumerate(responses) if r.error is not None} == failing
    for i, response in enumerate(responses):
        if i in failing:
            assert response.text is None and f"after {MAX_RETRIES + 1} attempts: HTTP 500" in (response.error or "")
        else:
            assert response.text == f"request {i}" and response.meta["attempts"] == 2
    # Every request's first attempt was rate limited; failing ones used all their retries.
    assert stats.faults["429"] == REQUESTS
    assert stats.faults["500"] == len(failing) * MAX_RETRIES
    assert stats.requests == REQUESTS + (REQUESTS - len(failing)) + len(failing) * MAX_RETRIES
    # The limit holds under load, and is reached: the pool is sized to the concurrency.
    assert stats.max_in_flight == CONCURRENCY
    assert len(stats.connections) <= CONCURRENCY


def test_connections_are_kept_alive_from_one_batch_to_the_next() -> None:
    with FakeOpenAIServer(Behaviour(latency_s=0.02, record_payloads=False)) as server:
        model = _model(server, concurrency=16)
        try:
            for batch in range(3):
                responses = model.generate([GenerateRequest(prompt=f"b{batch} {i}") for i in range(200)])
                assert [r.text for r in responses] == [f"b{batch} {i}" for i in range(200)]
        finally:
            model.close()
        assert server.stats.requests == 600 and server.stats.max_in_flight == 16
        assert len(server.stats.connections) <= 16


def test_an_unsupported_server_stops_a_large_batch_with_one_clear_error() -> None:
    # Far more requests than the batch admits at once: the first rejection stops the rest.
    with FakeOpenAIServer(Behaviour(support_echo=False)) as server:
        model = _model(server, concurrency=4)
        try:
            with pytest.raises(UnsupportedRequest, match="does not return prompt logprobs"):
                model.loglikelihood([LoglikelihoodRequest(f"q{i}", " a") for i in range(500)])
        finally:
            model.close()
        assert server.stats.requests < 500


def test_a_run_at_concurrency_256_records_the_requests_that_failed(store: Store) -> None:
    behaviour = Behaviour(latency_s=0.02, flaky_attempts=1, flaky_fault="500",
                          fault_rule=lambda prompt: "429" if prompt.endswith("7") else None, record_payloads=False)
    with FakeOpenAIServer(behaviour) as server:
        model = _model(server)
        try:
            tasks = [PromptsTask(600)]
            result = Runner(model, store).run(tasks, RunOptions(show_progress=False, chunk_size=600))
        finally:
            model.close()
    failing = {f"p{i}" for i in range(600) if str(i).endswith("7")}
    rows = list(store.iter_samples(result.run_id))
    assert len(rows) == 600
    assert {r["sample_id"] for r in rows if r["error_kind"] == "request_failed"} == failing
    assert result.stats["request_errors"] == len(failing)
