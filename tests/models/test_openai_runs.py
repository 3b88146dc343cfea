"""Whole runs through the openai: backend against a real loopback server: Runner + Store in process,
and the `assay run` CLI in a subprocess (failure counts, dead server, API key never stored)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from assay.metric_specs import MetricSpec, score
from assay.models.openai_compat import load
from assay.runner import Runner, RunOptions
from assay.store import Store
from assay.tasks import TaskContext, get_task
from assay.tasks.base import TaskBase
from assay.types import GenerateRequest, LoglikelihoodRequest, Request, Response, Sample, Scored
from servers.fake_openai import Behaviour, FakeOpenAIServer, free_port

_SUM = re.compile(r"What is (\d+) \+ (\d+)\?")


def arithmetic_answer(prompt: str) -> str:
    match = _SUM.search(prompt)
    return str(int(match.group(1)) + int(match.group(2))) if match else "?"


def fails_when_sum_divisible_by_5(prompt: str) -> str | None:
    answer = arithmetic_answer(prompt)
    return "500" if answer.isdigit() and int(answer) % 5 == 0 else None


class EchoAndChoiceTask(TaskBase):
    """Each sample asks for one generation (chat) and two log-likelihoods."""

    name = "echo_and_choice"
    family = "test"

    def spec(self) -> dict[str, Any]:
        return {"name": self.name}

    def samples(self, ctx: TaskContext) -> Iterator[Sample]:
        for i in range(12):
            yield Sample(id=f"s{i}", input=f"word{i}", target=f"word{i}", choices=[" yes", " no"])

    def requests(self, sample: Sample) -> Sequence[Request]:
        from assay.types import Message

        return [GenerateRequest(messages=(Message("user", sample.input),), max_tokens=4),
                *(LoglikelihoodRequest(f"Is {sample.input} a word?", c) for c in sample.choices or ())]

    def metrics(self) -> list[MetricSpec]:
        return [score("exact_match", primary=True), score("yes_preferred")]

    def score(self, sample: Sample, responses: Sequence[Response]) -> Scored:
        return Scored(extracted=responses[0].text, scores={"exact_match": float(responses[0].text == sample.target),
                                                           "yes_preferred": float(responses[1].logprob > responses[2].logprob)})


def test_runner_and_store_complete_a_run_with_failed_samples_recorded(store: Store) -> None:
    flaky = Behaviour(fault_rule=lambda prompt: "500" if prompt in ("word3", "word7") else None, flaky_attempts=1)
    with FakeOpenAIServer(flaky) as server:
        model = load(f"{server.base_url}#m", concurrency=4, max_retries=2, backoff_s=0.01)
        result = Runner(model, store).run([EchoAndChoiceTask()], RunOptions(show_progress=False))
        assert server.stats.by_path["/v1/chat/completions"] >= 12
    rows = list(store.iter_samples(result.run_id))
    assert len(rows) == 12
    failed = {r["sample_id"] for r in rows if r["error_kind"] == "request_failed"}
    assert failed == {"s3", "s7"}
    assert result.stats["request_errors"] == 2
    ok = [r for r in rows if r["error_kind"] is None]
    assert all(r["scores"]["exact_match"] == 1.0 for r in ok)
    assert ok[0]["responses"][0]["meta"]["endpoint"] == "/chat/completions"
    assert ok[0]["responses"][1]["meta"]["endpoint"] == "/completions"


def _assay(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "COLUMNS": "250", "NO_COLOR": "1", **(env or {})}
    return subprocess.run([sys.executable, "-m", "assay.cli", *args], capture_output=True, text=True,
                          timeout=timeout, env=environment, check=False)


def _expected_failures(limit: int) -> int:
    task = get_task("arith")
    samples = list(task.samples(TaskContext(seed=1234)))[:limit]
    return sum(fails_when_sum_divisible_by_5(task.requests(s)[0].prompt or "") is not None for s in samples)


def test_cli_run_reports_requests_that_failed_after_retries(tmp_path: Path) -> None:
    db = tmp_path / "runs.db"
    behaviour = Behaviour(answer_fn=arithmetic_answer, fault_rule=fails_when_sum_divisible_by_5)
    with FakeOpenAIServer(behaviour) as server:
        started = time.monotonic()
        completed = _assay("run", "--model", f"openai:{server.base_url}#fake", "--task", "arith", "--limit", "40",
                           "--db", str(db), "--max-retries", "2", "--concurrency", "16", "--no-progress")
        elapsed = time.monotonic() - started
    expected = _expected_failures(40)
    assert 0 < expected < 40
    assert completed.returncode == 0, completed.stderr
    assert f"{expected} samples failed after retries" in completed.stdout
    # Retries are bounded: 2 retries at 0.25 s and 0.5 s backoff (+ start-up), not minutes.
    assert elapsed < 30
    rows = list(Store(str(db)).iter_samples(re.search(r"run id: (\w+)", completed.stdout).group(1)))
    assert sum(r["error_kind"] == "request_failed" for r in rows) == expected
    assert all(r["scores"]["exact_match"] == 1.0 for r in rows if r["error_kind"] is None)


def test_cli_run_against_a_dead_server_stops_quickly_with_one_line(tmp_path: Path) -> None:
    started = time.monotonic()
    completed = _assay("run", "--model", f"openai:http://127.0.0.1:{free_port()}/v1#fake", "--task", "arith",
                       "--limit", "20", "--db", str(tmp_path / "dead.db"), "--no-progress")
    elapsed = time.monotonic() - started
    assert completed.returncode != 0
    lines = [line for line in completed.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:") and "unreachable" in lines[0], completed.stderr
    assert "Traceback" not in completed.stderr
    assert elapsed < 30


def test_cli_api_key_never_reaches_the_store(tmp_path: Path) -> None:
    secret = "sk-assay-e2e-secret-90210"
    db = tmp_path / "keyed.db"
    behaviour = Behaviour(answer_fn=arithmetic_answer, require_api_key=secret,
                          fault_rule=lambda p: "500" if "What is 1" in p else None)
    with FakeOpenAIServer(behaviour) as server:
        completed = _assay("run", "--model", f"openai:{server.base_url}#fake", "--task", "arith,arith_mc",
                           "--limit", "15", "--db", str(db), "--max-retries", "1", "--no-progress",
                           env={"ASSAY_API_KEY": secret})
        assert server.stats.authorizations[f"Bearer {secret}"] > 0
        assert server.stats.authorizations[""] == 0
    assert completed.returncode == 0, completed.stderr
    assert secret not in completed.stdout + completed.stderr
    stored = b"".join(path.read_bytes() for path in tmp_path.iterdir() if path.name.startswith("keyed.db"))
    assert len(stored) > 0
    assert secret.encode() not in stored
