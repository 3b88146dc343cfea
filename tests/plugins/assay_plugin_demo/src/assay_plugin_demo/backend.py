"""The model backend `demo:` (entry point group `assay.models`): answers from a table, deterministically.

`demo:capitals` knows the capitals of `demo_task`'s countries; `demo:echo` repeats the prompt. Log-likelihoods
prefer the continuation that equals the table's answer. The option `unknown` (`--model-args unknown=TEXT`) is
what it answers when the table has nothing."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from assay.errors import AssayError
from assay.models.model_args import ModelOption
from assay.models.scripted import WhitespaceTokenizer
from assay.types import GenerateRequest, LoglikelihoodRequest, LoglikelihoodRollingRequest, Response
from assay_plugin_demo.task import CAPITALS

# The --model-args this backend takes, checked by assay before `load` is called.
OPTIONS = {"unknown": ModelOption(str, "any text")}
TABLES = {"capitals": {f"capital of {country}?": capital for country, capital in CAPITALS.items()}, "echo": {}}


class TableModel:
    max_context: int | None = 100_000

    def __init__(self, table_name: str, unknown: str) -> None:
        self.spec = f"demo:{table_name}"
        self.table_name = table_name
        self.table = TABLES[table_name]
        self.unknown = unknown
        self._tokenizer = WhitespaceTokenizer()

    def fingerprint(self) -> dict[str, Any]:
        return {"backend": "demo", "spec": self.spec, "table": sorted(self.table.items()), "unknown": self.unknown}

    def tokenizer(self) -> WhitespaceTokenizer:
        return self._tokenizer

    def _answer(self, prompt: str) -> str:
        if self.table_name == "echo":
            return prompt
        return next((answer for key, answer in self.table.items() if key in prompt), self.unknown)

    def generate(self, requests: Sequence[GenerateRequest]) -> list[Response]:
        out = []
        for request in requests:
            prompt = request.prompt if request.prompt is not None else (request.messages or ())[-1].content
            text = self._answer(prompt)
            for stop in request.until:
                if stop and stop in text:
                    text = text[: text.index(stop)]
            out.append(Response(text=text))
        return out

    def loglikelihood(self, requests: Sequence[LoglikelihoodRequest]) -> list[Response]:
        return [Response(logprob=-0.1 if request.continuation.strip() == self._answer(request.context) else -5.0,
                         is_greedy=False, n_tokens=len(request.continuation.split())) for request in requests]

    def loglikelihood_rolling(self, requests: Sequence[LoglikelihoodRollingRequest]) -> list[Response]:
        return [Response(logprob=-1.0 * len(request.text.split()), n_tokens=len(request.text.split()))
                for request in requests]

    def close(self) -> None:
        pass


def load(rest: str, **options: Any) -> TableModel:
    """demo:capitals | demo:echo — answers from a table (an example plugin backend)"""
    if rest not in TABLES:
        raise AssayError(f"--model demo:{rest}: expected demo:capitals or demo:echo")
    return TableModel(rest, options.get("unknown", "I don't know"))
