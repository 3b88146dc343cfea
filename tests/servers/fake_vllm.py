"""A loopback server shaped like `vllm serve`'s OpenAI-compatible API, over a seeded bigram model and a real
transformers tokenizer: what assay sends is checked the way vLLM checks it, and answers have vLLM's shape.

Mirrored from vLLM's `CompletionRequest` / `OpenAIServingCompletion` (v0.10 to main):
- requests: `model` must be the served name (404 otherwise); `prompt` non-empty; `logprobs` an integer
  ≥ 0 and at most `max_logprobs` (20 by default); `max_tokens` ≥ 0, and prompt + max_tokens within
  max_model_len (400 otherwise); `echo` returns the prompt's tokens with their prompt logprobs,
  `max_tokens=0` with echo returns the prompt alone;
- prompts are tokenized with special tokens added (`add_special_tokens=True`: BOS when the model adds it);
- `logprobs` block: `tokens` are the token ids decoded one by one (special tokens kept), `text_offset` the
  running sum of their lengths from 0, the first prompt token has logprob None, `top_logprobs` maps the
  chosen token and the top ones (decoded) to logprobs; `text` = prompt + generated text;
- stop strings are left out of the text (`stop_reason` names the one met); `finish_reason` stop / length.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import uvicorn
from scipy.special import log_softmax

from assay.models.hf_tokenizer import HFTokenizer
from servers.fake_openai import listening_socket

MAX_LOGPROBS = 20


class BadRequest(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class FakeVLLM:
    tokenizer: HFTokenizer
    served_name: str = "fake-model"
    adds_bos: bool = False
    max_model_len: int = 256
    payloads: list[dict[str, Any]] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        size = len(self.tokenizer.hf)
        self.table = log_softmax(np.random.default_rng(1).normal(scale=3.0, size=(size, size)), axis=-1)

    # ---- the model ---------------------------------------------------------------------------
    def prompt_ids(self, text: str) -> list[int]:
        ids = self.tokenizer.encode(text)
        return [self.tokenizer.prefix_token_id, *ids] if self.adds_bos else ids

    def logprob(self, previous: int, token: int) -> float:
        return float(self.table[previous, token])

    def _generate(self, prompt: list[int], max_tokens: int, stops: list[str]) -> tuple[list[int], str, str, Any]:
        generated: list[int] = []
        while len(generated) < max_tokens:
            token = int(self.table[(prompt + generated)[-1]].argmax())
            if token == self.tokenizer.eos_token_id:
                return generated, self.tokenizer.decode_output(generated), "stop", None
            generated.append(token)
            text = self.tokenizer.decode_output(generated)
            for stop in stops:
                if stop and stop in text:
                    return generated, text[: text.index(stop)], "stop", stop
        return generated, self.tokenizer.decode_output(generated), "length", None

    # ---- the API -----------------------------------------------------------------------------
    def _check(self, payload: dict[str, Any], prompt_tokens: int) -> int:
        if payload.get("model") != self.served_name:
            raise BadRequest(404, f"The model `{payload.get('model')}` does not exist.")
        logprobs = payload.get("logprobs")
        if logprobs is not None and (not isinstance(logprobs, int) or isinstance(logprobs, bool) or logprobs < 0):
            raise BadRequest(400, "`logprobs` must be a positive value or -1.")
        if isinstance(logprobs, int) and logprobs > MAX_LOGPROBS:
            raise BadRequest(400, f"Requested sample logprobs of {logprobs}, which is greater than max allowed: "
                                  f"{MAX_LOGPROBS}")
        max_tokens = payload.get("max_tokens", 16)
        if not isinstance(max_tokens, int) or max_tokens < 0:
            raise BadRequest(400, "max_tokens must be at least 0")
        if prompt_tokens + max_tokens > self.max_model_len:
            raise BadRequest(400, f"This model's maximum context length is {self.max_model_len} tokens.")
        return max_tokens

    def _stops(self, payload: dict[str, Any]) -> list[str]:
        stop = payload.get("stop") or []
        if isinstance(stop, str):
            return [stop]
        if not isinstance(stop, list) or not all(isinstance(s, str) for s in stop):
            raise BadRequest(400, "stop must be a string or a list of strings")
        return stop

    def _logprobs_block(self, ids: list[int], top_n: int, previous: int | None = None) -> dict[str, Any]:
        """The block for `ids` (offsets from 0); `previous` is the token before them, if any."""
        tokens, values, tops, offsets = [], [], [], []
        position = 0
        for index, token in enumerate(ids):
            text = self.tokenizer.decode([token])
            tokens.append(text)
            offsets.append(position)
            position += len(text)
            before = ids[index - 1] if index else previous
            if before is None:
                values.append(None)
                tops.append(None)
                continue
            row = self.table[before]
            values.append(max(float(row[token]), -9999.0))
            best = [int(t) for t in np.argsort(-row)[:top_n]]
            tops.append({self.tokenizer.decode([t]): max(float(row[t]), -9999.0) for t in [token, *best]})
        return {"text_offset": offsets, "token_logprobs": values, "tokens": tokens, "top_logprobs": tops}

    def completions(self, payload: dict[str, Any]) -> dict[str, Any]:
        prompt = payload.get("prompt")
        if not isinstance(prompt, str) or not prompt:
            raise BadRequest(400, "Either prompt or prompt_embeds must be provided and non-empty.")
        ids = self.prompt_ids(prompt)
        max_tokens = self._check(payload, len(ids))
        echo_only = bool(payload.get("echo")) and max_tokens == 0
        generated, text, finish, stop_reason = self._generate(ids, 0 if echo_only else max_tokens, self._stops(payload))
        echoed = bool(payload.get("echo"))
        logprobs = payload.get("logprobs")
        block = None
        if logprobs is not None:
            block = (self._logprobs_block(ids + generated, logprobs) if echoed else
                     self._logprobs_block(generated, logprobs, previous=ids[-1]))
        choice = {"index": 0, "text": (prompt + text) if echoed else text, "logprobs": block,
                  "finish_reason": "length" if echo_only else finish, "stop_reason": stop_reason,
                  "prompt_logprobs": None}
        return {"id": "cmpl-fake", "object": "text_completion", "created": int(time.time()), "model": self.served_name,
                "choices": [choice], "usage": {"prompt_tokens": len(ids), "completion_tokens": len(generated),
                                               "total_tokens": len(ids) + len(generated)}}

    def chat(self, payload: dict[str, Any]) -> dict[str, Any]:
        messages = payload.get("messages")
        if not isinstance(messages, list) or not messages:
            raise BadRequest(400, "messages must be a non-empty list")
        rendered = self.tokenizer.hf.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        ids = self.tokenizer.encode(rendered)  # chat prompts: the template carries its own special tokens
        max_tokens = payload.get("max_tokens") or self.max_model_len - len(ids)
        self._check({**payload, "max_tokens": max_tokens}, len(ids))
        generated, text, finish, stop_reason = self._generate(ids, max_tokens, self._stops(payload))
        choice = {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": finish,
                  "stop_reason": stop_reason}
        return {"id": "chatcmpl-fake", "object": "chat.completion", "created": int(time.time()),
                "model": self.served_name, "choices": [choice],
                "usage": {"prompt_tokens": len(ids), "completion_tokens": len(generated)}}

    # ---- ASGI --------------------------------------------------------------------------------
    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        routes: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
            "/v1/completions": self.completions, "/v1/chat/completions": self.chat}
        status, answer = 200, {}
        try:
            route = routes.get(scope["path"])
            if route is None:
                raise BadRequest(404, f"no route {scope['path']}")
            payload = json.loads(body)
            self.payloads.append(payload)
            answer = route(payload)
        except (BadRequest, ValueError) as exc:
            status = exc.status if isinstance(exc, BadRequest) else 400
            self.rejected.append(str(exc))
            answer = {"error": {"message": str(exc), "type": "BadRequestError", "code": status}}
        data = json.dumps(answer).encode()
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]})
        await send({"type": "http.response.body", "body": data})


class FakeVLLMServer:
    """`with FakeVLLMServer(app) as server:` serves the app on a free loopback port (uvicorn, a thread)."""

    def __init__(self, app: FakeVLLM) -> None:
        self.app = app
        self._socket = listening_socket()
        self.port = int(self._socket.getsockname()[1])
        config = uvicorn.Config(app, log_level="critical", access_log=False, lifespan="off", timeout_graceful_shutdown=1)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._socket]}, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def __enter__(self) -> FakeVLLMServer:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the vLLM-shaped server did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *_: object) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._socket.close()
