"""The openai: backend against a real HTTP server on loopback (tests/servers/fake_openai.py)."""

from __future__ import annotations

import gc
import time

import pytest

from assay.errors import AssayError
from assay.models.base import BackendUnavailable, UnsupportedRequest
from assay.models.openai_compat import OpenAICompatModel, display_url, load
from assay.types import GenerateRequest, LoglikelihoodRequest, LoglikelihoodRollingRequest, Message
from servers.fake_openai import Behaviour, FakeOpenAIServer, free_port, pseudo_tokens, token_logprob

_OPENED: list[OpenAICompatModel] = []


@pytest.fixture(autouse=True)
def _close_models():
    # Each model owns an event-loop thread and keep-alive clients: close them after every test.
    yield
    while _OPENED:
        _OPENED.pop().close()


def model_for(server: FakeOpenAIServer, **options: float) -> OpenAICompatModel:
    settings = {"concurrency": 8, "max_retries": 3, "timeout": 5.0, "backoff_s": 0.02, **options}
    model = load(f"{server.base_url}#fake-model", **settings)
    _OPENED.append(model)
    return model


def test_chat_and_completion_endpoints_pass_decoding_settings() -> None:
    with FakeOpenAIServer() as server:
        model = model_for(server)
        chat, completion = model.generate([
            GenerateRequest(messages=(Message("system", "be brief"), Message("user", "alpha beta")), seed=7,
                            temperature=0.5, max_tokens=5),
            GenerateRequest(prompt="one two\nthree", until=("\n",), max_tokens=9),
        ])
        payloads = sorted(server.stats.payloads, key=lambda p: "prompt" in p)
    assert chat.text == "alpha beta" and chat.error is None
    assert chat.meta["endpoint"] == "/chat/completions" and chat.meta["finish_reason"] == "stop"
    assert completion.text == "one two" and completion.meta["endpoint"] == "/completions"
    assert payloads[0]["messages"][0] == {"role": "system", "content": "be brief"}
    assert (payloads[0]["seed"], payloads[0]["temperature"], payloads[0]["max_tokens"]) == (7, 0.5, 5)
    assert "seed" not in payloads[1] and payloads[1]["stop"] == ["\n"] and payloads[1]["max_tokens"] == 9
    assert payloads[0]["model"] == "fake-model"


def test_more_than_four_stops_are_applied_client_side() -> None:
    with FakeOpenAIServer() as server:
        (response,) = model_for(server).generate([GenerateRequest(prompt="a b c d e f", until=("1", "2", "3", "4", " e"))])
        assert server.stats.payloads[0]["stop"] == ["1", "2", "3", "4"]
    assert response.text == "a b c d"


def test_transient_faults_are_retried_until_success() -> None:
    for fault in ("500", "429", "malformed", "drop"):
        with FakeOpenAIServer(Behaviour(flaky_attempts=2, flaky_fault=fault, retry_after="0")) as server:
            (response,) = model_for(server).generate([GenerateRequest(prompt="hello there")])
            assert server.stats.requests == 3
        assert response.error is None, fault
        assert response.text == "hello there" and response.meta["attempts"] == 3


def test_retries_are_bounded_and_failure_is_a_response_not_an_exception() -> None:
    with FakeOpenAIServer(Behaviour(fault="500")) as server:
        started = time.monotonic()
        responses = model_for(server, max_retries=2, backoff_s=0.05).generate(
            [GenerateRequest(prompt=f"q{i}") for i in range(4)])
        elapsed = time.monotonic() - started
        assert server.stats.requests == 4 * 3
    assert all(r.text is None and "after 3 attempts" in (r.error or "") and "HTTP 500" in (r.error or "") for r in responses)
    # Backoff 0.05 then 0.1 (jitter scales by 0.5..1): well under a second.
    assert elapsed < 1.5


def test_slow_answers_time_out_per_request() -> None:
    with FakeOpenAIServer(Behaviour(fault="slow", slow_s=10)) as server:
        started = time.monotonic()
        (response,) = model_for(server, max_retries=1, timeout=0.3).generate([GenerateRequest(prompt="x")])
        elapsed = time.monotonic() - started
        assert server.stats.requests == 2
    assert "no answer within 0.3 s" in (response.error or "")
    assert 0.6 <= elapsed < 2.0


def test_client_errors_are_not_retried() -> None:
    with FakeOpenAIServer(Behaviour(require_api_key="right-key")) as server:
        (response,) = model_for(server).generate([GenerateRequest(prompt="x")])
        assert server.stats.requests == 1
    assert response.error is not None and response.error.startswith("HTTP 401")


def test_concurrency_is_bounded_by_the_semaphore() -> None:
    with FakeOpenAIServer(Behaviour(latency_s=0.2)) as server:
        started = time.monotonic()
        responses = model_for(server, concurrency=5).generate([GenerateRequest(prompt=f"p{i}") for i in range(20)])
        elapsed = time.monotonic() - started
        assert server.stats.max_in_flight == 5
    assert [r.text for r in responses] == [f"p{i}" for i in range(20)]
    assert 0.8 <= elapsed < 2.0  # 4 waves of 0.2 s


def test_dead_server_raises_backend_unavailable_quickly() -> None:
    model = load(f"http://127.0.0.1:{free_port()}/v1#m", max_retries=3, backoff_s=0.05, concurrency=4)
    started = time.monotonic()
    with pytest.raises(BackendUnavailable, match="unreachable"):
        model.generate([GenerateRequest(prompt=f"q{i}") for i in range(50)])
    assert time.monotonic() - started < 3


def test_a_server_that_dies_between_batches_stops_the_next_batch() -> None:
    with FakeOpenAIServer() as server:
        model = model_for(server, max_retries=2, backoff_s=0.05)
        assert model.generate([GenerateRequest(prompt="alive")])[0].text == "alive"
    started = time.monotonic()
    with pytest.raises(BackendUnavailable, match="unreachable"):
        model.generate([GenerateRequest(prompt=f"q{i}") for i in range(20)])
    assert time.monotonic() - started < 3


def _expected_logprob(continuation: str) -> float:
    return sum(token_logprob(t) for t in pseudo_tokens(continuation))


def test_loglikelihood_sums_the_continuation_tokens() -> None:
    context, continuations = "Question: is the sky blue?\nAnswer:", [" yes", " no it is green"]
    with FakeOpenAIServer() as server:
        responses = model_for(server).loglikelihood([LoglikelihoodRequest(context, c) for c in continuations])
        payload = server.stats.payloads[0]
    assert (payload["echo"], payload["logprobs"], payload["max_tokens"]) == (True, 1, 1)
    for continuation, response in zip(continuations, responses, strict=True):
        assert response.logprob == pytest.approx(_expected_logprob(continuation))
        assert response.n_tokens == len(pseudo_tokens(continuation))
        greedy = all(token_logprob(t) > -2.5 for t in pseudo_tokens(continuation))
        assert response.is_greedy is greedy


def test_rolling_loglikelihood_skips_the_unconditioned_first_token() -> None:
    text = "the quick brown fox jumps"
    with FakeOpenAIServer() as server:
        (response,) = model_for(server).loglikelihood_rolling([LoglikelihoodRollingRequest(text)])
    tokens = pseudo_tokens(text)
    assert response.logprob == pytest.approx(sum(token_logprob(t) for t in tokens[1:]))
    assert response.n_tokens == len(tokens) - 1 and response.meta["tokens_without_logprob"] == 1


def test_the_generated_token_after_the_echo_is_ignored() -> None:
    with FakeOpenAIServer(Behaviour(reject_max_tokens_zero=True, answer_fn=lambda _: " extra words")) as server:
        model = model_for(server)
        responses = model.loglikelihood([LoglikelihoodRequest("Say:", " hello"), LoglikelihoodRequest("Say:", " bye")])
        assert {p["max_tokens"] for p in server.stats.payloads} == {1}
    assert [r.logprob for r in responses] == pytest.approx([_expected_logprob(" hello"), _expected_logprob(" bye")])


def test_server_without_prompt_logprobs_is_a_clear_unsupported_error() -> None:
    expected = "does not return prompt logprobs.*log-likelihood tasks need"
    with FakeOpenAIServer(Behaviour(support_echo=False)) as server, pytest.raises(UnsupportedRequest, match=expected):
        model_for(server).loglikelihood([LoglikelihoodRequest("a", " b")])


def test_api_key_is_sent_but_never_recorded(monkeypatch: pytest.MonkeyPatch) -> None:
    secret = "sk-unit-test-secret-4821"
    monkeypatch.setenv("ASSAY_API_KEY", secret)
    with FakeOpenAIServer(Behaviour(require_api_key=secret)) as server:
        model = model_for(server)
        responses = model.generate([GenerateRequest(prompt="hi")]) + model.loglikelihood([LoglikelihoodRequest("a", " b")])
        assert server.stats.authorizations[f"Bearer {secret}"] == 2
        server.behaviour.fault = "500"
        responses += model.generate([GenerateRequest(prompt="fails")])
    assert responses[0].text == "hi" and responses[2].error
    recorded = repr([model.spec, model.fingerprint(), [r.to_dict() for r in responses]])
    assert secret not in recorded


def test_openai_api_key_is_the_fallback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ASSAY_API_KEY", raising=False)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-fallback")
    with FakeOpenAIServer(Behaviour(require_api_key="sk-fallback")) as server:
        (response,) = model_for(server).generate([GenerateRequest(prompt="ok")])
    assert response.text == "ok"


def test_spec_and_fingerprint_strip_url_secrets() -> None:
    model = load("https://user:pw-secret@api.example.com:8443/v1/?api-key=q-secret#gpt-x")
    assert model.spec == "openai:https://api.example.com:8443/v1#gpt-x"
    assert model.fingerprint() == {"backend": "openai", "base_url": "https://api.example.com:8443/v1", "model": "gpt-x"}
    assert display_url("http://[::1]:8000/v1") == "http://[::1]:8000/v1"


@pytest.mark.parametrize("rest", ["http://127.0.0.1:8000/v1", "127.0.0.1:8000/v1#m", "http://h/v1#"])
def test_bad_specs_name_the_expected_form(rest: str) -> None:
    with pytest.raises(AssayError, match="openai:"):
        load(rest)


def test_a_model_dropped_without_close_shuts_its_session_and_loop_quietly(caplog: pytest.LogCaptureFixture) -> None:
    with FakeOpenAIServer() as server:
        model = load(f"{server.base_url}#m", concurrency=2)
        assert model.generate([GenerateRequest(prompt="hi")])[0].text == "hi"
        assert model._loop is not None
        loop_thread = model._loop._thread
        del model
        gc.collect()
    assert not loop_thread.is_alive()
    assert not [r for r in caplog.records if "nclosed" in r.getMessage()]
