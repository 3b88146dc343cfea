"""The contract every model backend meets.

Backends implement the three request kinds over a *batch* and return one Response per request,
in order. Batching policy, caching, dedupe, retries and streaming to the store live in the
runner, not here. A backend that cannot serve a kind raises `UnsupportedRequest` with a clear
message (e.g. an API without logprobs).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from contextvars import ContextVar
from typing import Any, Protocol, runtime_checkable

from assay.types import (
    GenerateRequest,
    LoglikelihoodRequest,
    LoglikelihoodRollingRequest,
    Message,
    Response,
)


class BackendUnavailable(Exception):
    """The backend cannot be reached at all (server down after every retry): the run stops."""


class UnsupportedRequest(Exception):
    """The backend cannot serve this request kind (reported to the user as a one-line error)."""


@runtime_checkable
class Tokenizer(Protocol):
    """What long-context generators need from a model's tokenizer."""

    name: str

    def encode(self, text: str) -> list[int]: ...

    def decode(self, token_ids: Sequence[int]) -> str: ...

    def render_chat(self, messages: Sequence[Message]) -> str:
        """The exact prompt text the model sees for these messages (chat template applied,
        generation prompt added)."""
        ...


@runtime_checkable
class Model(Protocol):
    spec: str
    # Largest prompt + generation the model accepts, in tokens (None if unknown).
    max_context: int | None

    def fingerprint(self) -> dict[str, Any]:
        """Stable identity for cache keys and the manifest: file hash or endpoint + model name,
        chat-template hash. Never secrets."""
        ...

    def tokenizer(self) -> Tokenizer | None: ...

    def generate(self, requests: Sequence[GenerateRequest]) -> list[Response]: ...

    def loglikelihood(self, requests: Sequence[LoglikelihoodRequest]) -> list[Response]: ...

    def loglikelihood_rolling(self, requests: Sequence[LoglikelihoodRollingRequest]) -> list[Response]: ...

    def close(self) -> None: ...


# Progress from inside a call: the runner binds a sink around each backend call (assay.progress.RunProgress), and
# a backend reports requests answered and tokens run as it goes, so a call of minutes does not look hung.
_progress_sink: ContextVar[Callable[[int, int], None] | None] = ContextVar("assay_backend_progress", default=None)


def _ignore(requests: int, tokens: int) -> None:
    pass


def report_backend_progress(requests: int = 0, tokens: int = 0) -> None:
    """For backends, from inside a call: `requests` more answered, `tokens` more run through the model. Does
    nothing outside a run's backend call."""
    sink = _progress_sink.get()
    if sink is not None:
        sink(requests, tokens)


def backend_progress_reporter() -> Callable[[int, int], None]:
    """`report_backend_progress` bound to the call's sink now, for a backend that answers on another thread (the
    context this reads does not follow work onto other threads)."""
    return _progress_sink.get() or _ignore


@contextlib.contextmanager
def backend_progress_sink(sink: Callable[[int, int], None]) -> Iterator[None]:
    """Around a backend call: what the backend reports goes to `sink(requests, tokens)`."""
    token = _progress_sink.set(sink)
    try:
        yield
    finally:
        _progress_sink.reset(token)
