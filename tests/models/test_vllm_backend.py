"""`vllm:PATH` without vLLM: the request → vLLM → Response mapping against a small stand-in for `vllm.LLM`.

The stand-in is a bigram model over a byte-level tokenizer built in memory; it answers `generate` the way
vLLM documents it (TokensPrompt dicts in, RequestOutput-shaped objects out: prompt_logprobs with ranks,
stop strings left out of the text, finish/stop reasons) and refuses prompts longer than max_model_len as
vLLM does, so a prompt the backend should have kept back fails the test. The real engine is compared with
the hf backend in test_vllm_gpu.py (GPU only)."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from scipy.special import log_softmax

from assay.errors import AssayError
from assay.models.hf_tokenizer import HFTokenizer
from assay.models.registry import check_options
from assay.models.vllm_backend import VLLMModel, engine_arguments, load, score_prompt
from assay.types import GenerateRequest, LoglikelihoodRequest, LoglikelihoodRollingRequest, Message
from servers.byte_tokenizer import byte_tokenizer

# The greedy continuation after any character outside it (unique characters, so a bigram table can hold it).
CHAIN = "Wxyz 42.\nQ"


@dataclass
class SamplingParams:
    """vLLM's field names; an unknown keyword is a TypeError, as with vllm.SamplingParams."""

    max_tokens: int | None = 16
    temperature: float = 1.0
    seed: int | None = None
    stop: list[str] | None = None
    prompt_logprobs: int | None = None
    logprobs: int | None = None
    detokenize: bool = True
    skip_special_tokens: bool = True


@dataclass
class FakeLLM:
    tokenizer: HFTokenizer
    max_model_len: int = 64
    calls: list[tuple[list[list[int]], list[SamplingParams]]] = field(default_factory=list)

    def __post_init__(self) -> None:
        size = len(self.tokenizer.hf)
        logits = np.random.default_rng(0).normal(size=(size, size))
        chain = self.tokenizer.encode(CHAIN)
        logits[:, chain[0]] += 10
        for a, b in zip(chain, chain[1:], strict=False):
            logits[a, b] += 20
        logits[chain[-1], self.tokenizer.eos_token_id] += 20
        self.table = log_softmax(logits, axis=-1)

    def generate(self, prompts: list[dict[str, list[int]]], params: list[SamplingParams], use_tqdm: bool) -> list[Any]:
        ids = [list(p["prompt_token_ids"]) for p in prompts]
        if any(len(p) > self.max_model_len for p in ids):
            raise ValueError("prompt is longer than the maximum model length")  # vLLM fails the whole call
        self.calls.append((ids, params))
        return [self._one(tokens, setting) for tokens, setting in zip(ids, params, strict=True)]

    def _one(self, tokens: list[int], setting: SamplingParams) -> Any:
        prompt_logprobs = None
        if setting.prompt_logprobs is not None:
            prompt_logprobs = [None]
            for previous, token in zip(tokens, tokens[1:], strict=False):
                row = self.table[previous]
                top = int(row.argmax())
                ranks = {t: int((row > row[t]).sum()) + 1 for t in {token, top}}
                prompt_logprobs.append({t: SimpleNamespace(logprob=float(row[t]), rank=ranks[t]) for t in ranks})
        rng = np.random.default_rng(setting.seed)
        generated: list[int] = []
        finish, stop_reason = "length", None
        while len(generated) < (setting.max_tokens or 16) and len(tokens) + len(generated) < self.max_model_len:
            row = self.table[(tokens + generated)[-1]]
            token = int(row.argmax()) if setting.temperature == 0 else int(rng.choice(len(row), p=np.exp(row)))
            if token == self.tokenizer.eos_token_id:
                finish = "stop"
                break
            generated.append(token)
            text = self.tokenizer.decode_output(generated)
            hits = [s for s in setting.stop or () if s in text]
            if hits:
                finish, stop_reason = "stop", hits[0]
                break
        text = self.tokenizer.decode_output(generated)
        if stop_reason:
            text = text[: text.index(stop_reason)]
        completion = SimpleNamespace(text=text, token_ids=generated, finish_reason=finish, stop_reason=stop_reason)
        return SimpleNamespace(prompt_logprobs=prompt_logprobs, outputs=[completion])


@pytest.fixture(scope="module")
def tokenizer() -> HFTokenizer:
    return byte_tokenizer()


def model_over(tokenizer: HFTokenizer, max_model_len: int = 64) -> tuple[VLLMModel, FakeLLM]:
    fake = FakeLLM(tokenizer, max_model_len)
    return VLLMModel("vllm:/fake", fake, tokenizer, max_model_len, SamplingParams, {"model": "fake"}), fake


def reference(fake: FakeLLM, tokens: list[int], first: int) -> float:
    return float(sum(fake.table[tokens[i - 1], tokens[i]] for i in range(first, len(tokens))))


def test_loglikelihood_sums_the_continuation_prompt_logprobs_with_hf_token_boundaries(tokenizer: HFTokenizer) -> None:
    model, fake = model_over(tokenizer)
    requests = [LoglikelihoodRequest("Question: ", "Wxyz"), LoglikelihoodRequest("Question:", " no"),
                LoglikelihoodRequest("", "ab")]
    out = model.loglikelihood(requests)
    (prompts, params), = fake.calls
    for request, response, prompt in zip(requests, out, prompts, strict=True):
        context, continuation = tokenizer.encode_pair(request.context, request.continuation)
        assert prompt == context + continuation  # the trailing space moved onto the continuation; "" → BOS
        assert response.n_tokens == len(continuation)
        assert response.logprob == pytest.approx(reference(fake, prompt, len(context)))
    assert [r.is_greedy for r in out] == [False, False, False]
    assert {(p.prompt_logprobs, p.max_tokens, p.temperature) for p in params} == {(1, 1, 0.0)}
    assert model.loglikelihood([LoglikelihoodRequest("Question:", "Wxyz 4")])[0].is_greedy is True


def test_greedy_needs_rank_one_and_falls_back_to_the_top_logprob() -> None:
    lp = SimpleNamespace
    tokens = [5, 7, 9]
    ranked = [None, {7: lp(logprob=-0.1, rank=1)}, {9: lp(logprob=-2.0, rank=2), 1: lp(logprob=-0.5, rank=1)}]
    assert score_prompt(ranked, tokens, 1).is_greedy is False and score_prompt(ranked, tokens, 2).is_greedy is False
    assert score_prompt(ranked, tokens, 1).logprob == pytest.approx(-2.1)
    unranked = [None, {7: lp(logprob=-0.1)}, {9: lp(logprob=-0.5), 1: lp(logprob=-2.0)}]
    assert score_prompt(unranked, tokens, 1).is_greedy is True
    with pytest.raises(ValueError, match="no prompt logprobs"):
        score_prompt(None, tokens, 1)


def test_over_long_pairs_are_truncated_or_refused_without_failing_the_batch(tokenizer: HFTokenizer) -> None:
    model, fake = model_over(tokenizer, max_model_len=16)
    long_context = LoglikelihoodRequest("abcdefghijklmnopqrstuvwxyz", " end")
    too_long = LoglikelihoodRequest("x", "y" * 15)
    fine = LoglikelihoodRequest("Question:", " no")
    out = model.loglikelihood([long_context, too_long, fine])
    assert out[1].error is not None and "does not fit" in out[1].error and out[1].logprob is None
    assert out[2].error is None and out[2].n_tokens == 3
    context, continuation = tokenizer.encode_pair(long_context.context, long_context.continuation)
    kept = (context + continuation)[-15:]
    assert out[0].meta["truncated_context_tokens"] == len(context) + len(continuation) - 15
    assert out[0].logprob == pytest.approx(reference(fake, kept, 15 - len(continuation)))
    assert max(len(p) for p in fake.calls[0][0]) == 15


def test_rolling_loglikelihood_scores_every_token_once_in_fitting_windows(tokenizer: HFTokenizer) -> None:
    model, fake = model_over(tokenizer, max_model_len=16)
    text = "the quick brown fox jumps over the lazy dog"
    tokens = tokenizer.encode(text)
    response, = model.loglikelihood_rolling([LoglikelihoodRollingRequest(text)])
    assert response.n_tokens == len(tokens) == len(response.meta["token_logprobs"])
    assert max(len(p) for p in fake.calls[0][0]) <= 15
    # Windows shorter than the text lose conditioning, so compare with a model whose single window holds it all.
    wide, wide_fake = model_over(tokenizer, max_model_len=64)
    whole, = wide.loglikelihood_rolling([LoglikelihoodRollingRequest(text)])
    assert whole.logprob == pytest.approx(reference(wide_fake, [tokenizer.prefix_token_id, *tokens], 1))
    assert len(wide_fake.calls[0][0]) == 1


def test_generation_is_greedy_stops_at_until_and_renders_chat_with_the_template(tokenizer: HFTokenizer) -> None:
    model, fake = model_over(tokenizer)
    chat = (Message("user", "hi"),)
    out = model.generate([GenerateRequest(prompt="Q:", max_tokens=20), GenerateRequest(prompt="Q:", until=("4",)),
                          GenerateRequest(prompt="Q:", max_tokens=3), GenerateRequest(messages=chat, max_tokens=20),
                          GenerateRequest(prompt="Q:", temperature=0.7, seed=3, max_tokens=5)])
    assert (out[0].text, out[0].meta["finish_reason"], out[0].n_tokens) == (CHAIN, "eos", len(tokenizer.encode(CHAIN)))
    assert (out[1].text, out[1].meta["finish_reason"]) == ("Wxyz ", "stop")
    assert (out[2].text, out[2].meta["finish_reason"]) == ("Wxy", "length")
    prompts, params = fake.calls[0]
    assert prompts[3] == tokenizer.encode(tokenizer.render_chat(chat))
    assert out[3].meta["chat_template_sha256"] == tokenizer.chat_template_sha256 and out[3].text == CHAIN
    assert (params[1].stop, params[0].stop, params[4].seed, params[4].temperature) == (["4"], None, 3, 0.7)
    assert params[0].seed == 0  # no seed given: 0, never the engine's shared generator
    again = model.generate([GenerateRequest(prompt="Q:", temperature=0.7, seed=3, max_tokens=5)])
    assert again[0].text == out[4].text  # same seed, same text


def test_generation_budget_and_prompts_that_do_not_fit(tokenizer: HFTokenizer) -> None:
    model, fake = model_over(tokenizer, max_model_len=16)
    out = model.generate([GenerateRequest(prompt="x" * 16), GenerateRequest(prompt="x" * 12, max_tokens=50)])
    assert out[0].error is not None and "exceeds the model's context of 16" in out[0].error
    assert fake.calls[0][1][0].max_tokens == 4 and out[1].n_tokens == 4  # clipped to the context left
    assert model.generate([]) == [] and len(fake.calls) == 1


def test_options_are_checked_and_become_engine_arguments() -> None:
    checked = check_options("vllm:/m", {"dtype": "bfloat16", "gpu_memory_utilization": "0.5", "tensor_parallel_size": "2",
                                        "max_model_len": "8192", "enable_prefix_caching": "false"})
    assert checked == {"dtype": "bfloat16", "gpu_memory_utilization": 0.5, "tensor_parallel_size": 2,
                       "max_model_len": 8192, "enable_prefix_caching": False}
    assert engine_arguments(Path("/m"), {}) == {"model": "/m", "tokenizer": "/m", "dtype": "auto", "seed": 0,
                                               "gpu_memory_utilization": 0.9, "tensor_parallel_size": 1,
                                               "enable_prefix_caching": True}
    assert engine_arguments(Path("/m"), checked)["max_model_len"] == 8192
    for bad, named in [("gpu_memory_utilization=1.5", "a number > 0 and ≤ 1"), ("dtype=float8", "auto | float32"),
                       ("tensor_parallel_size=0", "whole number"), ("n_ctx=4", "unknown key 'n_ctx' for the vllm")]:
        key, _, value = bad.partition("=")
        with pytest.raises(AssayError, match=named):
            check_options("vllm:/m", {key: value})


def test_missing_vllm_is_one_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "config.json").write_text("{}")
    monkeypatch.setitem(sys.modules, "vllm", None)  # `import vllm` now fails as on a machine without it
    with pytest.raises(AssayError, match=r"needs the package 'vllm' \(pip install 'assay\[vllm\]'"):
        load(str(tmp_path))
    with pytest.raises(AssayError, match="config.json"):
        load(str(tmp_path / "nowhere"))


def test_cli_reports_bad_vllm_options_and_a_missing_vllm_in_one_line(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{}")
    code = ("import sys, runpy; sys.modules['vllm'] = None; sys.argv = ['assay', *sys.argv[1:]]; "
            "runpy.run_module('assay.cli', run_name='__main__')")
    for extra, named in [(["--model-args", "gpu_memory_utilization=2"], "gpu_memory_utilization=2"),
                         ([], "pip install 'assay[vllm]'")]:
        out = subprocess.run([sys.executable, "-c", code, "run", "--model", f"vllm:{tmp_path}", "--task", "arith",
                              "--limit", "1", "--db", str(tmp_path / "x.db"), *extra],
                             capture_output=True, text=True, timeout=120)
        lines = [line for line in out.stderr.splitlines() if line.strip()]
        assert out.returncode == 2 and len(lines) == 1 and named in lines[0], out.stderr
