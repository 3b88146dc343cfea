"""Deterministic fake models for tests and harness benchmarks.

- `scripted:echo`          generate returns the prompt (last user message for chat); log-likelihoods
                           are a deterministic function of the text.
- `scripted:constant=TEXT` generate always returns TEXT.
- `scripted:oracle=FILE`   FILE is JSON {"substring of prompt": "answer", ...}; the first key found in
                           the prompt decides the answer; log-likelihood prefers continuations that
                           equal the answer.
- `scripted:zero`          zero-latency: returns "0" / a hash-derived log-likelihood, for harness
                           throughput benchmarks.
- `scripted:slow=MS`       echo, sleeping MS milliseconds per request (crash/resume tests).
- `scripted:fail=K`        every K-th distinct request fails with an error (to test error paths).
- `scripted:judge=FILE`    FILE is JSON [{"match": "substring" or ["all", "of", "these"], "answer": "..."}, ...]
                           searched in order against the whole conversation (every message, so a re-ask that
                           shows the judge its reply can be told apart); the first rule that matches answers,
                           no match answers "" (a judge answering from a table, for judge tests).
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from difflib import get_close_matches
from pathlib import Path
from typing import Any

from assay.errors import AssayError
from assay.models.base import Tokenizer, report_backend_progress
from assay.types import (
    GenerateRequest,
    LoglikelihoodRequest,
    LoglikelihoodRollingRequest,
    Message,
    Response,
    request_hash,
    sha256_hex,
)


class WhitespaceTokenizer:
    """Tokens are whitespace-separated words; enough for tests of length control."""

    name = "whitespace"

    def __init__(self) -> None:
        self._vocab: dict[str, int] = {}
        self._words: list[str] = []

    def encode(self, text: str) -> list[int]:
        ids = []
        for word in text.split():
            if word not in self._vocab:
                self._vocab[word] = len(self._words)
                self._words.append(word)
            ids.append(self._vocab[word])
        return ids

    def decode(self, token_ids: Sequence[int]) -> str:
        return " ".join(self._words[i] for i in token_ids)

    def render_chat(self, messages: Sequence[Message]) -> str:
        return "\n".join(f"{m.role}: {m.content}" for m in messages) + "\nassistant:"


def _pseudo_logprob(text: str) -> float:
    # Deterministic, in (-10, 0]: stable across processes (no Python hash randomisation).
    return -(int(sha256_hex(text)[:8], 16) % 10_000) / 1000.0


def _pseudo_token_values(text: str) -> dict[str, list[float]]:
    """Per-word stand-ins for the per-token values a real backend returns with a rolling log-likelihood
    (they sum to the text's pseudo log-likelihood; mean and spread of the next-token distribution fixed)."""
    words = text.split()
    if not words:
        return {"token_logprobs": [], "token_mu": [], "token_sigma": []}
    raw = [_pseudo_logprob(f"{i}\x00{word}") for i, word in enumerate(words)]
    shift = (_pseudo_logprob(text) - sum(raw)) / len(raw)
    return {"token_logprobs": [round(v + shift, 5) for v in raw], "token_mu": [-5.0] * len(raw),
            "token_sigma": [2.0] * len(raw)}


class ScriptedModel:
    max_context: int | None = 1_000_000

    def __init__(self, name: str, argument: str | None, delay_s: float = 0.0) -> None:
        self.spec = f"scripted:{name}" + (f"={argument}" if argument is not None else "")
        self.name = name
        self.argument = argument
        self.delay_s = delay_s
        self.table: dict[str, str] = {}
        self.rules: list[tuple[tuple[str, ...], str]] = []
        self.fail_every = 0
        self.calls = 0
        if name == "oracle":
            if not argument:
                raise AssayError("--model scripted:oracle=FILE: expected a JSON file of {substring: answer}")
            path = Path(argument)
            try:
                self.table = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, json.JSONDecodeError) as exc:
                raise AssayError(f"--model {self.spec}: cannot read oracle table {path}: {exc}") from None
        elif name == "judge":
            self.rules = _judge_rules(self.spec, argument)
        elif name == "fail":
            try:
                self.fail_every = int(argument or "")
            except ValueError:
                raise AssayError(f"--model {self.spec}: expected scripted:fail=K with K a whole number") from None
        elif name == "slow":
            # echo with a fixed delay per request in milliseconds (for crash/resume tests)
            try:
                self.delay_s = float(argument or "") / 1000.0
            except ValueError:
                raise AssayError(f"--model {self.spec}: expected scripted:slow=MS with MS a number") from None
        elif name not in ("echo", "constant", "zero"):
            close = get_close_matches(name, ["echo", "constant", "oracle", "judge", "zero", "fail", "slow"], n=1)
            hint = f" (did you mean scripted:{close[0]}?)" if close else ""
            raise AssayError(f"--model {self.spec}: unknown scripted model {name!r}{hint}; "
                             "expected echo, constant=TEXT, oracle=FILE, judge=FILE, zero, fail=K or slow=MS")
        self._tokenizer = WhitespaceTokenizer()

    def fingerprint(self) -> dict[str, Any]:
        return {"backend": "scripted", "spec": self.spec,
                "table_hash": sha256_hex(json.dumps([self.table, self.rules] if self.rules else self.table, sort_keys=True))}

    def tokenizer(self) -> Tokenizer:
        return self._tokenizer

    def _maybe_fail(self, request: Any) -> str | None:
        if self.fail_every and int(request_hash(request)[:8], 16) % self.fail_every == 0:
            return "scripted failure"
        return None

    def _answer_for(self, prompt: str) -> str:
        if self.name == "constant":
            return self.argument or ""
        if self.name == "zero":
            return "0"
        if self.name == "judge":
            return next((answer for needles, answer in self.rules if all(n in prompt for n in needles)), "")
        if self.name == "oracle":
            for key, answer in self.table.items():
                if key in prompt:
                    return answer
            return ""
        return prompt  # echo and slow

    def generate(self, requests: Sequence[GenerateRequest]) -> list[Response]:
        out = []
        for request in requests:
            self.calls += 1
            if self.delay_s:
                time.sleep(self.delay_s)
            if error := self._maybe_fail(request):
                out.append(Response(error=error))
                continue
            prompt = request.prompt if request.prompt is not None else (request.messages or ())[-1].content
            if self.name == "judge":
                prompt = request.prompt if request.prompt is not None else "\n".join(m.content for m in request.messages or ())
            text = self._answer_for(prompt)
            for stop in request.until:
                if stop and stop in text:
                    text = text[: text.index(stop)]
            out.append(Response(text=text, meta={"chat_template": "scripted" if request.messages else None}))
            report_backend_progress(requests=1)
        return out

    def loglikelihood(self, requests: Sequence[LoglikelihoodRequest]) -> list[Response]:
        out = []
        for request in requests:
            self.calls += 1
            if error := self._maybe_fail(request):
                out.append(Response(error=error))
                continue
            logprob = _pseudo_logprob(request.context + "\x00" + request.continuation)
            if self.name == "oracle":
                answer = self._answer_for(request.context)
                logprob = -0.01 if request.continuation.strip() == answer.strip() else -5.0 + logprob / 100
            out.append(Response(logprob=logprob, is_greedy=False, n_tokens=len(request.continuation.split())))
            report_backend_progress(requests=1)
        return out

    def loglikelihood_rolling(self, requests: Sequence[LoglikelihoodRollingRequest]) -> list[Response]:
        out = []
        for request in requests:
            self.calls += 1
            out.append(Response(logprob=_pseudo_logprob(request.text), n_tokens=len(request.text.split()),
                                meta=_pseudo_token_values(request.text)))
        return out

    def close(self) -> None:
        pass


def _judge_rules(spec: str, argument: str | None) -> list[tuple[tuple[str, ...], str]]:
    expected = 'a JSON list of {"match": "text" or ["texts"], "answer": "text"}'
    try:
        raw = json.loads(Path(argument or "").read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise AssayError(f"--model {spec}: cannot read the judge rules ({exc}); expected {expected}") from None
    rules = []
    for index, rule in enumerate(raw if isinstance(raw, list) else [None]):
        match = rule.get("match") if isinstance(rule, dict) else None
        needles = (match,) if isinstance(match, str) else tuple(match) if isinstance(match, list) else ()
        if not needles or not all(isinstance(n, str) for n in needles) or not isinstance(rule.get("answer"), str):
            raise AssayError(f"--model {spec}: rule {index}: expected {expected}")
        rules.append((needles, rule["answer"]))
    return rules


def load(rest: str, **options: Any) -> ScriptedModel:
    name, sep, argument = rest.partition("=")
    return ScriptedModel(name or "echo", argument if sep else None, delay_s=float(options.get("delay_s", 0.0)))
