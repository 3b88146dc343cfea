"""`openai:BASE_URL#MODEL` — any OpenAI-compatible server (vLLM, llama.cpp server, TGI, OpenAI, ...).

Chat requests go to /chat/completions, raw prompts to /completions. Log-likelihoods use the legacy
completions trick: echo the prompt with logprobs and one new token (ignored), then sum the logprobs of
the tokens whose text offsets fall in the continuation. One token, not zero: llama-cpp-python's server
reads max_tokens=0 as "no limit" and would generate until the context is full.

Requests run concurrently (asyncio + aiohttp, at most `concurrency` in flight), each with bounded retries
(exponential backoff with jitter) on 429, 5xx, timeouts, dropped connections and malformed JSON. A
request that still fails comes back as Response(error=...) — one bad request never stops a run. A
server that refuses every connection raises BackendUnavailable within one retry cycle, so the runner
stops instead of hanging.

The API key comes from ASSAY_API_KEY (else OPENAI_API_KEY) and lives only in the request header:
never in the spec, fingerprint, responses, errors or logs.
"""

from __future__ import annotations

import asyncio
import os
import random
import re
import threading
import time
import weakref
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import aiohttp
import orjson
import yarl
from multidict import CIMultiDictProxy

from assay.errors import AssayError
from assay.models.base import BackendUnavailable, Tokenizer, UnsupportedRequest, backend_progress_reporter
from assay.models.openai_logprobs import LogprobsMissing, parse_echo_logprobs
from assay.types import GenerateRequest, LoglikelihoodRequest, LoglikelihoodRollingRequest, Response

API_KEY_ENVS = ("ASSAY_API_KEY", "OPENAI_API_KEY")
CHAT_PATH = "/chat/completions"
COMPLETIONS_PATH = "/completions"
# OpenAI accepts at most 4 stop sequences; the rest are applied client-side (all of them are, anyway).
MAX_SERVER_STOPS = 4
BACKOFF_CAP_S = 8.0
# Tokens generated after an echoed prompt (see the module docstring); they are ignored.
ECHO_MAX_TOKENS = 1
ERROR_BODY_CHARS = 200

Item = TypeVar("Item")


def display_url(url: str) -> str:
    """The base URL without userinfo, query or fragment: safe for fingerprints, specs and messages."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    netloc = host + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))


def api_key_from_env() -> str | None:
    for name in API_KEY_ENVS:
        if value := os.environ.get(name):
            return value
    return None


class _RequestFailed(Exception):
    """A request gave up after its retries; `connection_only` when every attempt was refused."""

    def __init__(self, message: str, connection_only: bool) -> None:
        super().__init__(message)
        self.connection_only = connection_only


# How servers word a prompt longer than their context (vLLM, OpenAI, llama.cpp's server).
_OVER_CONTEXT = re.compile(r"maximum context length|context length|context size|max_model_len", re.IGNORECASE)


class _Rejected(Exception):
    """The server answered 4xx (not 429): retrying the same request cannot help."""

    def __init__(self, status: int, body: str) -> None:
        super().__init__(f"HTTP {status}: {body}")
        self.status = status


@dataclass
class _BatchState:
    last_success: float = float("-inf")


def _truncate_at_stops(text: str, stops: Sequence[str]) -> str:
    cut = len(text)
    for stop in stops:
        if stop and (position := text.find(stop)) != -1:
            cut = min(cut, position)
    return text[:cut]


class _LoopThread:
    """One event loop on a daemon thread for the model's lifetime, with the HTTP session that lives on it:
    keep-alive connections survive from one batch (runner chunk) to the next, and sync callers may
    themselves run inside an event loop."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.session: aiohttp.ClientSession | None = None
        self._thread = threading.Thread(target=self.loop.run_forever, name="assay-openai-loop", daemon=True)
        self._thread.start()

    def run(self, coroutine: Coroutine[Any, Any, Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result()

    def close(self) -> None:
        """Close the session, then stop the loop. Also the model's finalizer: a model dropped without
        close() leaves no "unclosed client session" warning behind."""
        if threading.current_thread() is self._thread:
            return  # collected on the loop itself, which cannot wait on itself; the daemon thread ends with the process
        if self.session is not None:
            self.run(self.session.close())
            self.session = None
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)
        self.loop.close()


class OpenAICompatModel:
    # Unknown for a remote server; long-context tasks fall back to their own limits.
    max_context: int | None = None

    def __init__(self, base_url: str, model_name: str, *, concurrency: int = 8, max_retries: int = 4,
                 timeout: float = 120.0, backoff_s: float = 0.25, max_context: int | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.model_name = model_name
        self.spec = f"openai:{display_url(base_url)}#{model_name}"
        self.concurrency = max(1, int(concurrency))
        self.max_retries = max(0, int(max_retries))
        self.timeout = float(timeout)
        self.backoff_s = float(backoff_s)
        self.max_context = max_context
        self._echo_works = False  # set once a server has answered an echo=true log-likelihood request
        self._api_key = api_key_from_env()
        self._loop: _LoopThread | None = None
        self._close_loop: weakref.finalize | None = None
        self._session: aiohttp.ClientSession | None = None
        self._headers = {"content-type": "application/json", "accept": "application/json"}
        if self._api_key:
            self._headers["authorization"] = f"Bearer {self._api_key}"
        base = yarl.URL(self.base_url)
        self._urls = {path: base.with_path(base.path.rstrip("/") + path).with_query(base.query)
                      for path in (CHAT_PATH, COMPLETIONS_PATH)}

    # ---- identity ---------------------------------------------------------------------------
    def fingerprint(self) -> dict[str, Any]:
        return {"backend": "openai", "base_url": display_url(self.base_url), "model": self.model_name}

    def tokenizer(self) -> Tokenizer | None:
        return None

    def close(self) -> None:
        if self._close_loop is not None:
            self._close_loop()
            self._loop, self._close_loop, self._session = None, None, None

    def _run(self, coroutine: Coroutine[Any, Any, list[Response]]) -> list[Response]:
        if self._loop is None:
            self._loop = _LoopThread()
            self._close_loop = weakref.finalize(self, self._loop.close)
        return self._loop.run(coroutine)

    # ---- the three request kinds ------------------------------------------------------------
    def generate(self, requests: Sequence[GenerateRequest]) -> list[Response]:
        return self._run(self._batch(requests, self._generate_one, backend_progress_reporter()))

    def loglikelihood(self, requests: Sequence[LoglikelihoodRequest]) -> list[Response]:
        return self._run(self._batch(requests, lambda state, r: self._echo_logprobs(state, r.context, r.continuation),
                                     backend_progress_reporter()))

    def loglikelihood_rolling(self, requests: Sequence[LoglikelihoodRollingRequest]) -> list[Response]:
        return self._run(self._batch(requests, lambda state, r: self._echo_logprobs(state, "", r.text),
                                     backend_progress_reporter()))

    # ---- batch machinery --------------------------------------------------------------------
    def _open_session(self) -> aiohttp.ClientSession:
        """One session (connection pool) per model, made on the loop thread. Measured with
        bench/bench_openai_concurrency.py at concurrency 256: ~0.25 ms of client CPU per request, against
        ~1.3 ms for the httpx transports this replaced (which capped throughput at about a third of ideal)."""
        # The pool holds as many keep-alive connections as requests may be in flight; aiohttp sets
        # TCP_NODELAY on every connection. Proxies from the environment are ignored (trust_env=False), and
        # cookies are neither kept nor sent: one answer never depends on what an earlier one set.
        connector = aiohttp.TCPConnector(limit=self.concurrency, limit_per_host=0)
        timeout = aiohttp.ClientTimeout(total=self.timeout, connect=self.timeout)
        return aiohttp.ClientSession(connector=connector, timeout=timeout, headers=self._headers, trust_env=False,
                                     cookie_jar=aiohttp.DummyCookieJar(), skip_auto_headers=("User-Agent",))

    async def _send(self, path: str, payload: dict[str, Any]) -> tuple[int, CIMultiDictProxy[str], bytes]:
        assert self._session is not None
        async with self._session.post(self._urls[path], data=orjson.dumps(payload)) as response:
            return response.status, response.headers, await response.read()

    async def _batch(self, items: Sequence[Item], one: Callable[[_BatchState, Item], Awaitable[Response]],
                     report: Callable[[int, int], None]) -> list[Response]:
        """`report` (from backend_progress_reporter, taken on the caller's thread) counts each answered request."""
        if not items:
            return []
        if self._session is None:
            assert self._loop is not None
            self._session = self._loop.session = self._open_session()
        # `concurrency` workers take the requests in order: at most that many in flight, and no task or
        # semaphore per request (a fifth less client CPU per request than one task each, measured). A
        # request waiting out its backoff keeps its worker, so a rate-limited server gets fewer requests.
        state = _BatchState()
        results: list[Response | None] = [None] * len(items)
        pending = iter(enumerate(items))

        async def worker() -> None:
            for index, item in pending:
                results[index] = await one(state, item)
                report(1, 0)

        try:
            async with asyncio.TaskGroup() as group:
                for _ in range(min(self.concurrency, len(items))):
                    group.create_task(worker())
        except BaseExceptionGroup as group_error:
            # BackendUnavailable / UnsupportedRequest stop the batch (the TaskGroup cancelled the rest).
            raise group_error.exceptions[0] from None
        answered = [r for r in results if r is not None]
        assert len(answered) == len(items), "a worker left a request unanswered"
        return answered

    def _backoff_delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(BACKOFF_CAP_S, max(0.0, retry_after))
        base = min(BACKOFF_CAP_S, self.backoff_s * (2 ** (attempt - 1)))
        return base * (0.5 + random.random() / 2)

    async def _post(self, state: _BatchState, path: str, payload: dict[str, Any]) -> tuple[dict[str, Any], int]:
        """POST with bounded retries; returns (parsed JSON, attempts). Raises _RequestFailed or _Rejected."""
        started: float | None = None  # first time this request got on the wire
        last_error = ""
        connection_only = True
        retry_after: float | None = None
        attempts = 0
        for attempt in range(self.max_retries + 1):
            if attempt:
                await asyncio.sleep(self._backoff_delay(attempt, retry_after))
            retry_after = None
            attempts += 1
            try:
                started = time.monotonic() if started is None else started
                status, headers, body = await self._send(path, payload)
            except (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError) as exc:
                last_error = f"cannot connect ({exc.__class__.__name__}: {exc})"
                continue
            except TimeoutError:
                connection_only = False
                last_error = f"no answer within {self.timeout:g} s"
                continue
            except aiohttp.ClientError as exc:  # dropped connection, protocol error
                connection_only = False
                last_error = f"connection dropped ({exc.__class__.__name__})"
                continue
            connection_only = False
            if status == 429 or status >= 500:
                last_error = f"HTTP {status}: {body[:ERROR_BODY_CHARS].decode('utf-8', 'replace')}"
                retry_after = _parse_retry_after(headers.get("retry-after"))
                continue
            if status >= 400:
                raise _Rejected(status, body[:ERROR_BODY_CHARS].decode("utf-8", "replace"))
            try:
                data = orjson.loads(body)
                if not isinstance(data, dict) or not isinstance(data.get("choices"), list) or not data["choices"]:
                    raise ValueError("no choices in the answer")
            except ValueError as exc:
                last_error = f"malformed answer ({str(exc)[:ERROR_BODY_CHARS]})"
                continue
            state.last_success = time.monotonic()
            return data, attempts
        message = f"{path} failed after {attempts} attempts: {last_error}"
        if connection_only and started is not None and state.last_success < started:
            # Nothing in this batch got through since this request began: the server is down.
            raise BackendUnavailable(f"server {display_url(self.base_url)} is unreachable ({last_error}, "
                                     f"{attempts} attempts)")
        raise _RequestFailed(message, connection_only)

    # ---- generate ---------------------------------------------------------------------------
    async def _generate_one(self, state: _BatchState, request: GenerateRequest) -> Response:
        payload: dict[str, Any] = {"model": self.model_name, "max_tokens": request.max_tokens,
                                   "temperature": request.temperature}
        if request.seed is not None:
            payload["seed"] = request.seed
        if request.until:
            payload["stop"] = list(request.until[:MAX_SERVER_STOPS])
        if request.messages is not None:
            path = CHAT_PATH
            payload["messages"] = [{"role": m.role, "content": m.content} for m in request.messages]
        else:
            path = COMPLETIONS_PATH
            payload["prompt"] = request.prompt
        try:
            data, attempts = await self._post(state, path, payload)
        except (_RequestFailed, _Rejected) as exc:
            return Response(error=str(exc), meta={"endpoint": path})
        choice = data["choices"][0]
        text = (choice.get("message") or {}).get("content") if path == CHAT_PATH else choice.get("text")
        if not isinstance(text, str):
            return Response(error=f"{path}: the answer has no text", meta={"endpoint": path})
        usage = data.get("usage") or {}
        return Response(text=_truncate_at_stops(text, request.until), n_tokens=usage.get("completion_tokens"),
                        meta={"endpoint": path, "finish_reason": choice.get("finish_reason"), "attempts": attempts})

    # ---- log-likelihood ---------------------------------------------------------------------
    def _unsupported(self, detail: str) -> UnsupportedRequest:
        return UnsupportedRequest(
            f"server {display_url(self.base_url)} does not return prompt logprobs ({detail}); log-likelihood tasks "
            "need a server whose /completions endpoint accepts echo=true with logprobs (vLLM, llama-cpp-python's "
            "server); use a generate task with this server instead")

    async def _echo_logprobs(self, state: _BatchState, context: str, continuation: str) -> Response:
        prompt = context + continuation
        payload: dict[str, Any] = {"model": self.model_name, "prompt": prompt, "echo": True, "logprobs": 1,
                                   "temperature": 0.0, "max_tokens": ECHO_MAX_TOKENS}
        try:
            data, attempts = await self._post(state, COMPLETIONS_PATH, payload)
        except _Rejected as exc:
            # A prompt over the server's context (vLLM: 400 "maximum context length"), or any rejection
            # once echo has worked on this server, is this request's error; otherwise echo is unsupported.
            if self._echo_works or _OVER_CONTEXT.search(str(exc)):
                return Response(error=str(exc), meta={"endpoint": COMPLETIONS_PATH})
            raise self._unsupported(f"it rejected echo=true, logprobs=1 with {exc}") from None
        except _RequestFailed as exc:
            return Response(error=str(exc), meta={"endpoint": COMPLETIONS_PATH})
        try:
            # prompt=: vLLM echoes a BOS token's text first and counts it in every offset.
            scored = parse_echo_logprobs(data["choices"][0].get("logprobs"), len(context), len(prompt), prompt=prompt)
        except LogprobsMissing as exc:
            raise self._unsupported(str(exc)) from None
        self._echo_works = True
        return Response(logprob=scored.logprob, is_greedy=scored.is_greedy, n_tokens=scored.n_tokens,
                        meta={"endpoint": COMPLETIONS_PATH, "finish_reason": data["choices"][0].get("finish_reason"),
                              "attempts": attempts, **scored.meta})


def _parse_retry_after(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        return None  # an HTTP date: use our own backoff


def load(rest: str, **options: Any) -> OpenAICompatModel:
    base_url, sep, model_name = rest.rpartition("#")
    if not sep or not base_url or not model_name:
        raise AssayError(f"--model openai:{display_url(rest)}: expected openai:BASE_URL#MODEL, "
                         "e.g. openai:http://127.0.0.1:8000/v1#my-model")
    if urlsplit(base_url).scheme not in ("http", "https"):
        raise AssayError(f"--model openai:{display_url(base_url)}#{model_name}: BASE_URL must start with http:// or https://")
    known = {"concurrency", "max_retries", "timeout", "backoff_s", "max_context"}
    return OpenAICompatModel(base_url, model_name, **{k: v for k, v in options.items() if k in known and v is not None})
