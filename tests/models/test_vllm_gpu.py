"""`vllm:PATH` with the real engine (CUDA GPU and vLLM installed; skipped as "GPU only:" elsewhere): the same
model folder through vLLM and through the hf backend gives the same log-likelihoods (fp16 noise aside), the
same choices and the same greedy text, and a run completes through the runner."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from assay.types import GenerateRequest, LoglikelihoodRequest, LoglikelihoodRollingRequest, Message
from servers.vllm_gpu import embedded_folder, vllm_gpu_or_skip

pytestmark = pytest.mark.slow

QUESTION = "Question: What is the capital of France?\nAnswer:"
PAIRS = [(QUESTION, " Paris"), (QUESTION, " Berlin"), ("The sky is", " blue"), ("", "Hello world")]


@pytest.fixture(scope="module")
def models() -> Iterator[tuple[Any, Any]]:
    vllm_gpu_or_skip()
    from assay.models.registry import load_model

    folder: Path = embedded_folder()
    engine = load_model(f"vllm:{folder}", dtype="float16", gpu_memory_utilization=0.3, max_model_len=2048)
    reference = load_model(f"hf:{folder}", device="cuda", dtype="float16", max_context=2048)
    try:
        yield engine, reference
    finally:
        engine.close()
        reference.close()


def test_loglikelihoods_match_the_hf_backend(models: tuple[Any, Any]) -> None:
    engine, reference = models
    requests = [LoglikelihoodRequest(c, x) for c, x in PAIRS]
    ours, theirs = engine.loglikelihood(requests), reference.loglikelihood(requests)
    for a, b in zip(ours, theirs, strict=True):
        assert a.error is None and a.n_tokens == b.n_tokens  # the same token boundaries
        assert a.logprob == pytest.approx(b.logprob, abs=0.05 * b.n_tokens + 0.05)
    assert (ours[0].logprob > ours[1].logprob) == (theirs[0].logprob > theirs[1].logprob)
    text = "The quick brown fox jumps over the lazy dog. " * 3
    rolled, = engine.loglikelihood_rolling([LoglikelihoodRollingRequest(text)])
    expected, = reference.loglikelihood_rolling([LoglikelihoodRollingRequest(text)])
    assert rolled.n_tokens == expected.n_tokens and rolled.logprob == pytest.approx(expected.logprob, rel=0.02)


def test_greedy_generation_matches_the_hf_backend(models: tuple[Any, Any]) -> None:
    engine, reference = models
    requests = [GenerateRequest(prompt=QUESTION, max_tokens=8, until=("\n",)),
                GenerateRequest(messages=(Message("user", "What is 2+2? Answer with a number."),), max_tokens=12)]
    ours, theirs = engine.generate(requests), reference.generate(requests)
    for a, b in zip(ours, theirs, strict=True):
        assert a.error is None and a.text == b.text and a.meta["prompt_tokens"] == b.meta["prompt_tokens"]


def test_a_run_through_the_runner(models: tuple[Any, Any], tmp_path: Path) -> None:
    from assay.runner import Runner, RunOptions
    from assay.store import Store
    from assay.tasks import get_task

    store = Store(f"sqlite:///{tmp_path / 'vllm.db'}")
    result = Runner(models[0], store).run([get_task("arith"), get_task("arith_mc")], RunOptions(limit=4, show_progress=False))
    store.close()
    assert result.stats["samples"] == 8 and result.stats["request_errors"] == 0
