"""The one bounded re-ask, as a model wrapper the normal `Runner` drives: each batch of judge prompts goes to
the judge; the replies that cannot be read go back once more, as a second round over the failures only,
in a follow-up turn that shows the judge its reply and what was wrong with it and asks for the format.
The reply returned (and cached, under a fingerprint that names this protocol) is the last one; the first
reply and its problem are kept in `Response.meta`. What still cannot be read is the task's judge error."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from assay.judges.parse import PARSER_VERSION, Parsed
from assay.models.base import Model, Tokenizer
from assay.types import (
    GenerateRequest,
    LoglikelihoodRequest,
    LoglikelihoodRollingRequest,
    Message,
    Response,
)


class ReaskingJudge:
    def __init__(self, judge: Model, parse: Callable[[str | None], Parsed], reask: Callable[[str], str],
                 protocol: dict[str, Any]) -> None:
        self.judge = judge
        self.spec = judge.spec
        self.max_context = judge.max_context
        self.concurrency = getattr(judge, "concurrency", 1)  # the Runner sizes its chunks by it
        self.parse = parse
        self.reask = reask
        self.protocol = {**protocol, "parser_version": PARSER_VERSION}
        self.reasked = 0

    def fingerprint(self) -> dict[str, Any]:
        return {**self.judge.fingerprint(), "judge_protocol": self.protocol}

    def tokenizer(self) -> Tokenizer | None:
        return self.judge.tokenizer()

    def generate(self, requests: Sequence[GenerateRequest]) -> list[Response]:
        first = self.judge.generate(requests)
        retry: list[tuple[int, GenerateRequest, str]] = []
        for position, (request, response) in enumerate(zip(requests, first, strict=True)):
            if response.error is not None or request.messages is None:
                continue
            problem = self.parse(response.text).error
            if problem is not None:
                messages = (*request.messages, Message("assistant", response.text or ""),
                            Message("user", self.reask(problem)))
                retry.append((position, GenerateRequest(messages=messages, until=request.until,
                                                        max_tokens=request.max_tokens,
                                                        temperature=request.temperature, seed=request.seed), problem))
        if not retry:
            return first
        self.reasked += len(retry)
        second = self.judge.generate([request for _, request, _ in retry])
        out = list(first)
        for (position, _, problem), response in zip(retry, second, strict=True):
            earlier = first[position]
            # A failed re-ask request is a request failure (not cached: a rerun asks again), not a judge error.
            out[position] = Response(text=response.text, logprob=response.logprob, n_tokens=response.n_tokens,
                                     error=response.error,
                                     meta={**response.meta, "reasked": True, "first_output": earlier.text,
                                           "first_error": problem})
        return out

    def loglikelihood(self, requests: Sequence[LoglikelihoodRequest]) -> list[Response]:
        return self.judge.loglikelihood(requests)

    def loglikelihood_rolling(self, requests: Sequence[LoglikelihoodRollingRequest]) -> list[Response]:
        return self.judge.loglikelihood_rolling(requests)

    def close(self) -> None:
        self.judge.close()
