"""The hf / embedded backends on the real SmolLM2-135M model: lm-eval token boundaries, batching and
prefix reuse that change nothing but speed, generation stops, errors, and the dequantised cache."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from assay.errors import AssayError
from assay.models.registry import load_model
from assay.types import (
    GenerateRequest,
    LoglikelihoodRequest,
    LoglikelihoodRollingRequest,
    Message,
    sha256_hex,
)

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("gguf")

TOLERANCE = 1e-4


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("assay-cache")


@pytest.fixture(scope="module")
def model(cache_dir: Path):
    """Loaded once per module into an empty cache folder, so the first load is a real cold load."""
    patcher = pytest.MonkeyPatch()
    patcher.setenv("ASSAY_CACHE_DIR", str(cache_dir))
    started = time.perf_counter()
    loaded = load_model("embedded")
    loaded.first_load_seconds = time.perf_counter() - started
    yield loaded
    loaded.close()
    patcher.undo()


def manual_logprob(model, context_tokens: list[int], continuation_tokens: list[int]) -> tuple[float, bool]:
    """One plain forward pass over context + continuation, no batching, no cache."""
    ids = torch.tensor([context_tokens + continuation_tokens])
    with torch.inference_mode():
        logits = model.hf_model(input_ids=ids).logits[0].float()
    logprobs = torch.log_softmax(logits, dim=-1)
    n_context = len(context_tokens)
    total, greedy = 0.0, True
    for offset, token in enumerate(continuation_tokens):
        row = logprobs[n_context - 1 + offset]
        total += row[token].item()
        greedy &= int(row.argmax()) == token
    return total, greedy


# -- no model needed ------------------------------------------------------------------------------

def test_missing_path_is_a_one_line_error() -> None:
    with pytest.raises(AssayError) as raised:
        load_model("hf:/nonexistent")
    assert "/nonexistent" in str(raised.value) and "\n" not in str(raised.value)


def test_folder_without_config_is_a_one_line_error(tmp_path: Path) -> None:
    with pytest.raises(AssayError, match="no config.json"):
        load_model(f"hf:{tmp_path}")


def test_embedded_takes_no_argument() -> None:
    with pytest.raises(AssayError, match="takes no argument"):
        load_model("embedded:big")


# -- the real model ---------------------------------------------------------------------------------

@pytest.mark.slow
def test_boundaries_follow_lm_eval(model) -> None:
    tok = model.tokenizer()
    # Trailing whitespace of the context moves onto the continuation.
    context, continuation = tok.encode_pair("The capital of France is ", "Paris")
    assert context == tok.encode("The capital of France is")
    assert continuation == tok.encode("The capital of France is Paris")[len(context):]
    # An empty context conditions on BOS.
    assert tok.encode_pair("", "Hello")[0] == [tok.hf.bos_token_id]

    requests = [LoglikelihoodRequest("The capital of France is ", "Paris"), LoglikelihoodRequest("", "Hello world")]
    for request, response in zip(requests, model.loglikelihood(requests), strict=True):
        ctx, cont = tok.encode_pair(request.context, request.continuation)
        expected, greedy = manual_logprob(model, ctx, cont)
        assert response.n_tokens == len(cont)
        assert response.logprob == pytest.approx(expected, abs=TOLERANCE)
        assert response.is_greedy == greedy


@pytest.mark.slow
def test_batched_and_shared_context_match_one_at_a_time(model) -> None:
    question = "Question: Which planet is closest to the Sun?\nAnswer:"
    requests = [LoglikelihoodRequest(question, f" {c}") for c in ("Venus", "Mercury", "the planet Mars", "Earth")]
    requests += [LoglikelihoodRequest("Two plus two equals", " four"),
                 LoglikelihoodRequest("A longer context about rivers, mountains and the sea, ending with the word", " ocean"),
                 LoglikelihoodRequest("x", " y z w v u t s")]
    one_at_a_time = [model.loglikelihood([r])[0] for r in requests]
    before = dict(model.loglikelihood_stats)
    together = model.loglikelihood(requests)
    computed = model.loglikelihood_stats["computed"] - before["computed"]
    naive = model.loglikelihood_stats["naive"] - before["naive"]
    for single, batched in zip(one_at_a_time, together, strict=True):
        assert batched.logprob == pytest.approx(single.logprob, abs=TOLERANCE)
        assert batched.is_greedy == single.is_greedy and batched.n_tokens == single.n_tokens
    assert computed < naive  # the shared question ran once for its four choices


@pytest.mark.slow
def test_segmented_long_input_matches_single_pass(model, monkeypatch: pytest.MonkeyPatch) -> None:
    from dataclasses import replace

    requests = [LoglikelihoodRequest("Once upon a time, in a small village by the river, there lived", " an old baker."),
                LoglikelihoodRequest("Solo context", " alone")]
    plain = model.loglikelihood(requests)
    # Every input now runs in several KV-cache segments.
    monkeypatch.setattr(model.scorer, "budget", replace(model.scorer.budget, segment_tokens=5))
    segmented = model.loglikelihood(requests)
    for a, b in zip(plain, segmented, strict=True):
        assert b.logprob == pytest.approx(a.logprob, abs=TOLERANCE) and a.is_greedy == b.is_greedy


@pytest.mark.slow
def test_is_greedy_for_the_models_own_continuation(model) -> None:
    prompt = "The days of the week are Monday, Tuesday, Wednesday,"
    generated = model.generate([GenerateRequest(prompt=prompt, max_tokens=4)])[0].text
    assert generated
    own, other = model.loglikelihood([LoglikelihoodRequest(prompt, generated),
                                      LoglikelihoodRequest(prompt, " banana banana")])
    assert own.is_greedy is True
    assert other.is_greedy is False and other.logprob < own.logprob


@pytest.mark.slow
def test_rolling_covers_every_token(model) -> None:
    from assay.models.hf import HFModel

    text = "The quick brown fox jumps over the lazy dog. " * 4
    n_tokens = len(model.tokenizer().encode(text))
    full = model.loglikelihood_rolling([LoglikelihoodRollingRequest(text)])[0]
    as_loglikelihood = model.loglikelihood([LoglikelihoodRequest("", text)])[0]
    assert full.n_tokens == n_tokens
    assert full.logprob == pytest.approx(as_loglikelihood.logprob, abs=TOLERANCE)
    # A 16-token context forces several windows: same token count, less context, so a different sum.
    small = HFModel("embedded", "small", model.loaded, max_context=16)
    windowed = small.loglikelihood_rolling([LoglikelihoodRollingRequest(text)])[0]
    assert windowed.n_tokens == n_tokens
    assert abs(windowed.logprob - full.logprob) > 1e-3


@pytest.mark.slow
def test_generate_stops_at_until_and_records_chat_template(model) -> None:
    counting, chat = model.generate([
        GenerateRequest(prompt="1, 2, 3, 4, 5,", until=(", 8",), max_tokens=20),
        GenerateRequest(messages=(Message("user", "What is the capital of France?"),), max_tokens=12),
    ])
    assert counting.error is None and ", 8" not in counting.text and counting.meta["finish_reason"] == "stop"
    assert counting.text.startswith(" 6, 7")
    template_sha = sha256_hex(model.tokenizer().hf.chat_template)
    assert chat.meta["chat_template_sha256"] == template_sha == model.fingerprint()["chat_template_sha256"]
    assert chat.meta["prompt_tokens"] == len(model.tokenizer().encode(model.tokenizer().render_chat(
        [Message("user", "What is the capital of France?")])))
    assert counting.meta["chat_template_sha256"] is None


@pytest.mark.slow
def test_sampling_is_seeded(model) -> None:
    request = GenerateRequest(prompt="Once upon a time", max_tokens=6, temperature=1.0, seed=11)
    first, second = model.generate([request]), model.generate([request])
    assert first[0].text == second[0].text
    others = model.generate([GenerateRequest(prompt="Once upon a time", max_tokens=6, temperature=1.0, seed=s)
                             for s in (1, 2, 3)])
    assert len({r.text for r in others} | {first[0].text}) > 1


@pytest.mark.slow
def test_prefix_reuse_generation_matches_naive(model) -> None:
    shared = ("Here is a report about the harbour town. " * 12).strip()
    requests = [GenerateRequest(messages=(Message("user", f"{shared}\nThe special magic number is {n}. "
                                                          f"What is the special magic number?"),), max_tokens=5)
                for n in (4711, 1234, 9876)]
    requests.append(GenerateRequest(prompt=shared + " The harbour", max_tokens=4))
    model.generator.release()
    model.generator.stats = {"computed": 0, "naive": 0}
    model.generator.reuse_prefix = True
    # One prompt at a time: this test is about the KV-cache cropping path (batching has its own tests).
    batch_size = model.generator.batch_size
    model.generator.batch_size = 1
    reused = model.generate(requests)
    reused_stats = model.prefill_stats
    model.generator.reuse_prefix = False
    model.generator.stats = {"computed": 0, "naive": 0}
    try:
        naive = model.generate(requests)
    finally:
        model.generator.reuse_prefix = True
        model.generator.batch_size = batch_size
    assert [r.text for r in reused] == [r.text for r in naive]
    assert model.prefill_stats["computed"] == model.prefill_stats["naive"]
    assert reused_stats["naive"] == model.prefill_stats["naive"]
    assert reused_stats["computed"] < 0.6 * reused_stats["naive"], reused_stats


@pytest.mark.slow
def test_too_long_prompt_is_an_error_response(model) -> None:
    responses = model.generate([GenerateRequest(prompt="word " * 9000, max_tokens=4),
                                GenerateRequest(prompt="Hi", max_tokens=1)])
    assert responses[0].error is not None and "exceeds the model's context of 8192" in responses[0].error
    assert responses[0].text is None
    assert responses[1].error is None and responses[1].n_tokens == 1


@pytest.mark.slow
def test_second_embedded_load_uses_the_cache(model, cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASSAY_CACHE_DIR", str(cache_dir))
    started = time.perf_counter()
    again = load_model("embedded")
    cached_seconds = time.perf_counter() - started
    print(f"embedded load: first {model.first_load_seconds:.1f} s, cached {cached_seconds:.2f} s")
    assert not model.loaded.from_cache and again.loaded.from_cache
    assert cached_seconds < 5.0
    assert again.fingerprint() == model.fingerprint()
    assert not list((cache_dir / "gguf-dequantised").glob(".tmp-*"))  # nothing half-written left behind
    request = LoglikelihoodRequest("The capital of France is", " Paris")
    assert again.loglikelihood([request])[0].logprob == pytest.approx(model.loglikelihood([request])[0].logprob, abs=1e-6)


@pytest.mark.slow
def test_cli_run_end_to_end(model, cache_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from assay.cli import app

    monkeypatch.setenv("ASSAY_CACHE_DIR", str(cache_dir))
    fixtures = Path(__file__).resolve().parents[1] / "fixtures" / "tasks"
    tasks = f"{fixtures / 'mc.yaml'},{fixtures / 'capitals.yaml'}"
    result = CliRunner().invoke(app, ["run", "--model", "embedded", "--task", tasks, "--limit", "2",
                                      "--db", f"sqlite:///{tmp_path / 'runs.db'}", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output[result.output.index("{"):])
    assert report["stats"]["request_errors"] == 0
    assert {m["task"] for m in report["metrics"]} >= {"fixture_mc", "fixture_capitals"}


@pytest.mark.slow
def test_hf_folder_backend_matches_embedded(model, cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The dequantised cache entry is a plain transformers folder: `hf:FOLDER` must score the same."""
    monkeypatch.setenv("ASSAY_CACHE_DIR", str(cache_dir))
    folder = next((cache_dir / "gguf-dequantised").iterdir())
    as_folder = load_model(f"hf:{folder}")
    fingerprint = as_folder.fingerprint()
    assert fingerprint["format"] == "transformers" and fingerprint["model"] == folder.name
    assert fingerprint["chat_template_sha256"] == model.fingerprint()["chat_template_sha256"]
    assert str(cache_dir) not in json.dumps(fingerprint)  # no absolute paths in cache keys / manifests
    request = LoglikelihoodRequest("Water freezes at zero degrees", " Celsius")
    assert as_folder.loglikelihood([request])[0].logprob == pytest.approx(model.loglikelihood([request])[0].logprob,
                                                                          abs=1e-6)


@pytest.mark.slow
def test_empty_inputs(model) -> None:
    empty_continuation, = model.loglikelihood([LoglikelihoodRequest("Some context", "")])
    assert (empty_continuation.logprob, empty_continuation.n_tokens, empty_continuation.is_greedy) == (0.0, 0, True)
    empty_text, = model.loglikelihood_rolling([LoglikelihoodRollingRequest("")])
    assert (empty_text.logprob, empty_text.n_tokens) == (0.0, 0)
    from_nothing, = model.generate([GenerateRequest(prompt="", max_tokens=3)])
    assert from_nothing.error is None and from_nothing.meta["prompt_tokens"] == 1
