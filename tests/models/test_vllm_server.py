"""`openai:` against `vllm serve` (docs/vllm.md).

Everywhere: the openai backend against a loopback server shaped like vLLM's (servers/fake_vllm.py), which
rejects what vLLM's request models reject and answers in vLLM's shape — so the requests assay sends for
log-likelihood (echo + logprobs + max_tokens=1) and generation are ones vLLM accepts, and the sums come
out right. With vLLM and a CUDA GPU: a real `vllm serve` on loopback and `assay run` against it."""

from __future__ import annotations

import math
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from assay.models.openai_compat import OpenAICompatModel, load
from assay.models.openai_logprobs import parse_echo_logprobs
from assay.runner import Runner, RunOptions
from assay.store import Store
from assay.tasks import get_task
from assay.types import GenerateRequest, LoglikelihoodRequest, LoglikelihoodRollingRequest, Message
from servers.byte_tokenizer import byte_tokenizer
from servers.fake_vllm import FakeVLLM, FakeVLLMServer
from servers.vllm_gpu import embedded_folder, vllm_gpu_or_skip

PAIRS = [("Question: What is 2+2?\nAnswer:", " 4"), ("The sky is", " blue today"), ("x", "yz")]


@pytest.fixture(scope="module")
def tokenizer():
    return byte_tokenizer()


@contextmanager
def served(app: FakeVLLM) -> Iterator[tuple[FakeVLLMServer, OpenAICompatModel]]:
    with FakeVLLMServer(app) as server:
        model = load(f"{server.base_url}#{app.served_name}", max_retries=0, concurrency=2)
        try:
            yield server, model
        finally:
            model.close()


def expected(app: FakeVLLM, context: str, continuation: str) -> tuple[float, bool]:
    """Sum of the bigram logprobs of the continuation's tokens (one byte token per ASCII character)."""
    ids = app.prompt_ids(context + continuation)
    positions = range(len(ids) - len(continuation), len(ids))
    total = sum(app.logprob(ids[i - 1], ids[i]) for i in positions)
    greedy = all(int(app.table[ids[i - 1]].argmax()) == ids[i] for i in positions)
    return total, greedy


def test_loglikelihood_requests_are_ones_vllm_accepts_and_sum_its_prompt_logprobs(tokenizer) -> None:
    app = FakeVLLM(tokenizer)
    with served(app) as (server, model):
        out = model.loglikelihood([LoglikelihoodRequest(c, x) for c, x in PAIRS])
        rolling, = model.loglikelihood_rolling([LoglikelihoodRollingRequest("the quick brown fox")])
    assert app.rejected == []
    for payload in app.payloads:
        assert (payload["echo"], payload["logprobs"], payload["max_tokens"], payload["temperature"]) == (True, 1, 1, 0.0)
    for (context, continuation), response in zip(PAIRS, out, strict=True):
        total, greedy = expected(app, context, continuation)
        assert response.error is None and response.n_tokens == len(continuation)
        assert response.logprob == pytest.approx(total) and response.is_greedy is greedy
    # No BOS: the first token has nothing to condition on and is counted as such, not dropped silently.
    assert rolling.n_tokens == len("the quick brown fox") - 1 and rolling.meta["tokens_without_logprob"] == 1
    assert rolling.logprob == pytest.approx(expected(app, "t", "he quick brown fox")[0])


def test_the_echo_of_a_bos_model_is_aligned_by_the_prompt(tokenizer) -> None:
    """vLLM echoes the BOS token as text ("<s>") and counts it in every offset: with the prompt given,
    parse_echo_logprobs finds the continuation; without it, the character range is off by the BOS text."""
    app = FakeVLLM(tokenizer, adds_bos=True)
    with served(app) as (server, model):
        model.loglikelihood([LoglikelihoodRequest(*PAIRS[0])])
        payload = app.payloads[-1]  # exactly what the openai backend sends
        answer = httpx.post(f"{server.base_url}/completions", json=payload, timeout=10, trust_env=False).json()
    context, continuation = PAIRS[0]
    block = answer["choices"][0]["logprobs"]
    assert block["tokens"][0] == "<s>" and block["token_logprobs"][0] is None
    aligned = parse_echo_logprobs(block, len(context), len(context + continuation), prompt=context + continuation)
    assert aligned.logprob == pytest.approx(expected(app, context, continuation)[0])
    assert aligned.meta["echo_offset_shift"] == len("<s>")


def test_openai_backend_loglikelihood_on_a_bos_model(tokenizer) -> None:
    app = FakeVLLM(tokenizer, adds_bos=True)
    with served(app) as (server, model):
        out = model.loglikelihood([LoglikelihoodRequest(c, x) for c, x in PAIRS])
    for (context, continuation), response in zip(PAIRS, out, strict=True):
        assert response.logprob == pytest.approx(expected(app, context, continuation)[0])


def test_generation_and_a_run_through_a_vllm_shaped_server(tokenizer, tmp_path: Path) -> None:
    app = FakeVLLM(tokenizer)
    with served(app) as (server, model):
        completion, chat = model.generate([
            GenerateRequest(prompt="Q:", max_tokens=6, until=("\n", "zz"), seed=5),
            GenerateRequest(messages=(Message("user", "hi"),), max_tokens=4, temperature=0.5, seed=2)])
        store = Store(f"sqlite:///{tmp_path / 'served.db'}")
        result = Runner(model, store).run([get_task("arith"), get_task("arith_mc")], RunOptions(limit=2, show_progress=False))
        store.close()
    assert app.rejected == [] and result.stats["request_errors"] == 0 and result.stats["samples"] == 4
    greedy_ids, greedy_text, _, _ = app._generate(app.prompt_ids("Q:"), 6, ["\n", "zz"])
    assert completion.error is None and completion.text == greedy_text
    assert chat.error is None and chat.meta["endpoint"] == "/chat/completions"
    first, second = app.payloads[0], app.payloads[1]
    assert (first["stop"], first["seed"], first["max_tokens"]) == (["\n", "zz"], 5, 6)
    assert second["messages"] == [{"role": "user", "content": "hi"}] and second["temperature"] == 0.5


# ---- the real server (CUDA GPU with vLLM installed) -------------------------------------------------------
ALIAS = "smollm2"


@pytest.fixture(scope="module")
def vllm_server() -> Iterator[tuple[str, Path]]:
    vllm_gpu_or_skip()
    from servers.fake_openai import free_port
    from servers.processes import stop_process, wait_until_ready

    folder = embedded_folder()
    port = free_port()
    executable = shutil.which("vllm", path=str(Path(sys.executable).parent)) or "vllm"
    command = [executable, "serve", str(folder), "--served-model-name", ALIAS, "--host", "127.0.0.1", "--port",
               str(port), "--enable-prefix-caching", "--max-model-len", "2048", "--gpu-memory-utilization", "0.3",
               "--dtype", "float16"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until_ready(f"http://127.0.0.1:{port}/health", process, timeout_s=600)
        yield f"http://127.0.0.1:{port}/v1", folder
    finally:
        stop_process(process)


@pytest.mark.slow
def test_assay_run_against_vllm_serve(vllm_server: tuple[str, Path], tmp_path: Path) -> None:
    url, _ = vllm_server
    db = tmp_path / "served.db"
    out = subprocess.run([sys.executable, "-m", "assay.cli", "run", "--model", f"openai:{url}#{ALIAS}", "--task",
                          "arith,arith_mc", "--limit", "4", "--db", str(db)], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    store = Store(f"sqlite:///{db}")
    rows = [row for run in store.list_runs() for row in store.iter_samples(run["run_id"])]
    store.close()
    assert len(rows) == 8 and all(r["error_kind"] in (None, "unparsable") for r in rows)


@pytest.mark.slow
def test_vllm_serve_loglikelihoods_match_the_hf_backend(vllm_server: tuple[str, Path]) -> None:
    from assay.models.registry import load_model

    url, folder = vllm_server
    requests = [LoglikelihoodRequest(c, x) for c, x in PAIRS]
    model = load(f"{url}#{ALIAS}", max_retries=1)
    reference = load_model(f"hf:{folder}", device="cuda", dtype="float16")
    try:
        served_out, local = model.loglikelihood(requests), reference.loglikelihood(requests)
    finally:
        model.close()
        reference.close()
    for a, b in zip(served_out, local, strict=True):
        assert a.error is None and math.isfinite(a.logprob) and a.n_tokens == b.n_tokens
        assert a.logprob == pytest.approx(b.logprob, abs=0.05 * b.n_tokens + 0.05)


def test_one_over_long_loglikelihood_prompt_is_an_error_response_not_a_stopped_run(tokenizer) -> None:
    app = FakeVLLM(tokenizer, max_model_len=32)
    with served(app) as (_, model):
        too_long, fine = model.loglikelihood([LoglikelihoodRequest("x" * 40, " y"), LoglikelihoodRequest("a", " b")])
    assert too_long.error is not None and "maximum context length" in too_long.error
    assert fine.error is None and fine.logprob == pytest.approx(expected(app, "a", " b")[0])
