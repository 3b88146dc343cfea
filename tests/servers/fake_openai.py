"""A small OpenAI-compatible server with switchable faults, for tests and benchmarks over real HTTP.

Serves POST /v1/completions and /v1/chat/completions. Answers are deterministic: `answer_fn(prompt)`
(default: echo the prompt). Echoed completions carry prompt logprobs over pseudo-tokens (a word with
its leading whitespace), with `token_logprob(token)` a fixed function of the token text, so tests
can compute the expected log-likelihood independently.

Faults (per request, first match wins): `fault` for every request; the first `flaky_attempts`
attempts of each distinct payload fail with `flaky_fault`; `fault_rule(prompt)` for chosen prompts.
Kinds: "429", "500", "slow" (sleep `slow_s` before answering), "malformed" (invalid JSON body),
"drop" (close the connection mid-body).

In-process: `with FakeOpenAIServer(behaviour) as server: server.base_url`. As a subprocess (benchmarks,
so the server does not share the client's GIL): `python tests/servers/fake_openai.py --latency 0.1`
prints `PORT <n>` once it listens. The subprocess runs uvicorn's lean stack (httptools parser, uvloop)
by default: on a small machine the server's CPU per request is taken from the client under test.
`--stack plain` is uvicorn's pure-Python one (h11, asyncio), as the benchmark's first figures used.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import re
import socket
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import uvicorn

_PSEUDO_TOKEN = re.compile(r"\s*\S+|\s+")
# The token that wins at positions where the real token is not the greedy choice.
_DECOY = " the"


def pseudo_tokens(text: str) -> list[str]:
    return _PSEUDO_TOKEN.findall(text)


def token_logprob(token: str) -> float:
    """Deterministic logprob in (-5, 0] for a token; tokens above -2.5 are the greedy choice."""
    return -(int(hashlib.sha256(token.encode()).hexdigest()[:8], 16) % 500) / 100.0


def is_greedy_token(token: str) -> bool:
    return token_logprob(token) > -2.5 or token == _DECOY


@dataclass
class Behaviour:
    latency_s: float = 0.0
    fault: str | None = None
    flaky_attempts: int = 0
    flaky_fault: str = "500"
    fault_rule: Callable[[str], str | None] | None = None
    slow_s: float = 30.0
    retry_after: str | None = None
    answer_fn: Callable[[str], str] | None = None
    require_api_key: str | None = None
    # Servers that ignore echo/logprobs (most chat-only APIs) or refuse max_tokens=0.
    support_echo: bool = True
    reject_max_tokens_zero: bool = False
    # Tests read stats.payloads; a benchmark server would only grow a list for the garbage collector to walk.
    record_payloads: bool = True


@dataclass
class ServerStats:
    requests: int = 0
    by_path: Counter[str] = field(default_factory=Counter)
    faults: Counter[str] = field(default_factory=Counter)
    in_flight: int = 0
    max_in_flight: int = 0
    authorizations: Counter[str] = field(default_factory=Counter)
    payloads: list[dict[str, Any]] = field(default_factory=list)
    # (host, port) of each client connection seen: keep-alive reuse shows as few ports for many requests.
    connections: set[tuple[str, int]] = field(default_factory=set)


def _prompt_text(payload: dict[str, Any]) -> str:
    if "messages" in payload:
        messages = payload.get("messages") or [{}]
        return str(messages[-1].get("content", ""))
    return str(payload.get("prompt", ""))


def _generate(answer: str, max_tokens: int, stops: list[str]) -> tuple[str, str]:
    tokens = pseudo_tokens(answer)
    text = "".join(tokens[:max_tokens])
    finish = "length" if len(tokens) > max_tokens else "stop"
    for stop in stops:
        if stop and stop in text:
            text, finish = text[: text.index(stop)], "stop"
    return text, finish


def _echo_logprobs(prompt: str, generated: str) -> dict[str, Any]:
    tokens = pseudo_tokens(prompt) + pseudo_tokens(generated)
    offsets, position = [], 0
    for token in tokens:
        offsets.append(position)
        position += len(token)
    logprobs: list[float | None] = [token_logprob(t) for t in tokens]
    top: list[dict[str, float] | None] = [
        {t: token_logprob(t)} if is_greedy_token(t) else {_DECOY: -0.01, t: token_logprob(t)} for t in tokens]
    # The first token has nothing before it to condition on, as in OpenAI's answers.
    logprobs[0], top[0] = None, None
    return {"tokens": tokens, "token_logprobs": logprobs, "top_logprobs": top, "text_offset": offsets}


class FakeOpenAIApp:
    """A bare ASGI app: full control over the bytes on the wire (needed for malformed bodies and drops)."""

    def __init__(self, behaviour: Behaviour) -> None:
        self.behaviour = behaviour
        self.stats = ServerStats()
        self._attempts: Counter[str] = Counter()
        self._lock = threading.Lock()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                pass
            await send({"type": "lifespan.shutdown.complete"})
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        self.stats.requests += 1
        self.stats.by_path[scope["path"]] += 1
        self.stats.authorizations[headers.get("authorization", "")] += 1
        if scope.get("client"):
            self.stats.connections.add(tuple(scope["client"]))
        self.stats.in_flight += 1
        self.stats.max_in_flight = max(self.stats.max_in_flight, self.stats.in_flight)
        try:
            await self._handle(scope["path"], headers, body, send)
        finally:
            self.stats.in_flight -= 1

    async def _handle(self, path: str, headers: dict[str, str], body: bytes, send: Any) -> None:
        b = self.behaviour
        if b.require_api_key and headers.get("authorization") != f"Bearer {b.require_api_key}":
            await _json(send, 401, {"error": {"message": "invalid api key"}})
            return
        if path not in ("/v1/completions", "/v1/chat/completions"):
            await _json(send, 404, {"error": {"message": f"no route {path}"}})
            return
        try:
            payload = json.loads(body)
        except ValueError:
            await _json(send, 400, {"error": {"message": "body is not JSON"}})
            return
        if b.record_payloads:
            self.stats.payloads.append(payload)
        if b.latency_s:
            await asyncio.sleep(b.latency_s)
        fault = self._fault_for(payload)
        if fault is not None:
            self.stats.faults[fault] += 1
            if await self._inject(fault, send):
                return
        await self._answer(path, payload, send)

    def _fault_for(self, payload: dict[str, Any]) -> str | None:
        b = self.behaviour
        if b.fault:
            return b.fault
        if b.flaky_attempts:
            key = json.dumps(payload, sort_keys=True)
            with self._lock:
                self._attempts[key] += 1
                attempt = self._attempts[key]
            if attempt <= b.flaky_attempts:
                return b.flaky_fault
        if b.fault_rule is not None:
            return b.fault_rule(_prompt_text(payload))
        return None

    async def _inject(self, fault: str, send: Any) -> bool:
        """Send the fault; False when the request should still be answered (after a slow sleep)."""
        if fault == "429":
            extra = [(b"retry-after", self.behaviour.retry_after.encode())] if self.behaviour.retry_after else []
            await _json(send, 429, {"error": {"message": "rate limited"}}, extra)
        elif fault == "500":
            await _json(send, 500, {"error": {"message": "internal error"}})
        elif fault == "slow":
            await asyncio.sleep(self.behaviour.slow_s)
            return False
        elif fault == "malformed":
            await _raw(send, 200, b'{"choices": [{"text": "cut', [(b"content-type", b"application/json")])
        elif fault == "drop":
            await send({"type": "http.response.start", "status": 200,
                        "headers": [(b"content-type", b"application/json"), (b"content-length", b"500")]})
            await send({"type": "http.response.body", "body": b'{"choices": [', "more_body": True})
            # Returning without finishing the body makes uvicorn close the connection.
        else:
            raise ValueError(f"unknown fault {fault!r}")
        return True

    async def _answer(self, path: str, payload: dict[str, Any], send: Any) -> None:
        b = self.behaviour
        prompt = _prompt_text(payload)
        max_tokens = int(payload.get("max_tokens", 16))
        if max_tokens == 0 and b.reject_max_tokens_zero:
            await _json(send, 400, {"error": {"message": "max_tokens must be at least 1"}})
            return
        stops = payload.get("stop") or []
        stops = [stops] if isinstance(stops, str) else list(stops)
        answer = b.answer_fn(prompt) if b.answer_fn else prompt
        text, finish = _generate(answer, max_tokens, stops)
        usage = {"prompt_tokens": len(pseudo_tokens(prompt)), "completion_tokens": len(pseudo_tokens(text))}
        base = {"id": "cmpl-fake", "created": int(time.time()), "model": payload.get("model"), "usage": usage}
        if path == "/v1/chat/completions":
            choice = {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": finish}
            await _json(send, 200, {**base, "object": "chat.completion", "choices": [choice]})
            return
        choice = {"index": 0, "text": text, "finish_reason": finish, "logprobs": None}
        if payload.get("echo") and b.support_echo:
            choice["text"] = prompt + text
            if payload.get("logprobs") is not None:
                choice["logprobs"] = _echo_logprobs(prompt, text)
        await _json(send, 200, {**base, "object": "text_completion", "choices": [choice]})


async def _raw(send: Any, status: int, body: bytes, headers: list[tuple[bytes, bytes]]) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [*headers, (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


async def _json(send: Any, status: int, value: Any, extra: list[tuple[bytes, bytes]] | None = None) -> None:
    await _raw(send, status, json.dumps(value).encode(), [(b"content-type", b"application/json"), *(extra or [])])


def listening_socket() -> socket.socket:
    """A loopback socket on a free port. TCP_NODELAY is set here because accepted sockets inherit it on
    Linux: uvicorn writes a response's headers and body separately, and with Nagle on, the body waits
    for the client's delayed ACK (~40 ms per request on a keep-alive connection, measured)."""
    sock = socket.socket()
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class FakeOpenAIServer:
    """Runs the app under uvicorn in a background thread on a free loopback port."""

    def __init__(self, behaviour: Behaviour | None = None) -> None:
        self.behaviour = behaviour or Behaviour()
        self.app = FakeOpenAIApp(self.behaviour)
        self._socket = listening_socket()
        self.port = int(self._socket.getsockname()[1])
        config = uvicorn.Config(self.app, log_level="critical", access_log=False, lifespan="off",
                                timeout_graceful_shutdown=1)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._socket]}, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def stats(self) -> ServerStats:
        return self.app.stats

    def __enter__(self) -> FakeOpenAIServer:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the fake OpenAI server did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *_: object) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._socket.close()


# --stack: uvicorn's (http, loop) settings.
SERVER_STACKS = {"lean": ("httptools", "uvloop"), "plain": ("h11", "asyncio")}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.0, help="seconds of (async) latency per request")
    parser.add_argument("--fault", default=None, help="fault for every request: 429, 500, slow, malformed, drop")
    parser.add_argument("--stack", choices=sorted(SERVER_STACKS), default="lean",
                        help="uvicorn's HTTP parser and event loop: lean (httptools, uvloop) or plain (h11, asyncio)")
    args = parser.parse_args(argv)
    sock = listening_socket()
    app = FakeOpenAIApp(Behaviour(latency_s=args.latency, fault=args.fault, record_payloads=False))
    http, loop = SERVER_STACKS[args.stack]
    server = uvicorn.Server(uvicorn.Config(app, http=http, loop=loop, log_level="warning", access_log=False,
                                           lifespan="off", backlog=4096, limit_concurrency=None))
    print(f"PORT {sock.getsockname()[1]}", flush=True)
    server.run(sockets=[sock])


if __name__ == "__main__":
    sys.exit(main())
