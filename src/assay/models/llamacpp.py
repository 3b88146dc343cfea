"""`llamacpp:PATH.gguf` — llama-cpp-python in process (optional extra `assay[llamacpp]`).

Generation uses llama.cpp's own completion / chat-completion code (chat template from the GGUF).
Log-likelihoods are computed here from the logits of every position (`logits_all=True`), so token
alignment is ours and exact: log P(token j) = log_softmax(logits after token j-1)[token j].
Options: n_ctx (default 2048; logits_all reserves n_ctx × vocab floats), n_threads.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from scipy.special import log_softmax

from assay.errors import AssayError
from assay.models.base import Tokenizer, report_backend_progress
from assay.models.hf_files import file_sha256
from assay.types import GenerateRequest, LoglikelihoodRequest, LoglikelihoodRollingRequest, Message, Response

DEFAULT_N_CTX = 2048


class LlamaCppTokenizer:
    def __init__(self, llm: Any, name: str) -> None:
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        self._llm = llm
        self.name = name
        template = llm.metadata.get("tokenizer.chat_template")
        self._formatter = None
        if template:
            eos = llm.detokenize([llm.token_eos()], special=True).decode("utf-8", errors="ignore")
            bos = llm.detokenize([llm.token_bos()], special=True).decode("utf-8", errors="ignore")
            self._formatter = Jinja2ChatFormatter(template=template, eos_token=eos, bos_token=bos)

    def encode(self, text: str) -> list[int]:
        return list(self._llm.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    def decode(self, token_ids: Sequence[int]) -> str:
        return self._llm.detokenize(list(token_ids)).decode("utf-8", errors="replace")

    def render_chat(self, messages: Sequence[Message]) -> str:
        if self._formatter is None:
            return "\n".join(f"{m.role}: {m.content}" for m in messages) + "\nassistant:"
        return self._formatter(messages=[{"role": m.role, "content": m.content} for m in messages]).prompt


class LlamaCppModel:
    def __init__(self, path: Path, n_ctx: int = DEFAULT_N_CTX, n_threads: int | None = None) -> None:
        from llama_cpp import Llama

        self.path = path
        self.spec = f"llamacpp:{path}"
        self.llm = Llama(model_path=str(path), n_ctx=n_ctx, logits_all=True, n_threads=n_threads, verbose=False)
        self.max_context = n_ctx
        self._sha256: str | None = None
        self._tokenizer = LlamaCppTokenizer(self.llm, f"llamacpp:{path.name}")
        # Prompts start with BOS only where the model asks for it (as llama.cpp's own completion does);
        # an empty context or a rolling text is conditioned on BOS (else EOS, as lm-eval does).
        bos = self.llm.token_bos()
        self._prefix_token = bos if bos >= 0 else self.llm.token_eos()
        adds_bos = getattr(getattr(self.llm, "_model", None), "add_bos_token", lambda: True)()
        self._prompt_prefix = [bos] if bos >= 0 and adds_bos else []

    def fingerprint(self) -> dict[str, Any]:
        if self._sha256 is None:
            self._sha256 = file_sha256(self.path)
        template = self.llm.metadata.get("tokenizer.chat_template") or ""
        return {"backend": "llamacpp", "file_sha256": self._sha256, "n_ctx": self.max_context,
                "chat_template_sha256": hashlib.sha256(template.encode()).hexdigest()}

    def tokenizer(self) -> Tokenizer:
        return self._tokenizer

    def close(self) -> None:
        self.llm.close()

    # ---- generate ---------------------------------------------------------------------------
    def generate(self, requests: Sequence[GenerateRequest]) -> list[Response]:
        out = []
        for request in requests:
            out.append(self._generate_one(request))
            report_backend_progress(requests=1)
        return out

    def _generate_one(self, request: GenerateRequest) -> Response:
        settings: dict[str, Any] = {"max_tokens": request.max_tokens, "temperature": request.temperature,
                                    "stop": list(request.until) or None}
        if request.seed is not None:
            settings["seed"] = request.seed
        try:
            if request.messages is not None:
                out = self.llm.create_chat_completion(
                    messages=[{"role": m.role, "content": m.content} for m in request.messages], **settings)
                text = out["choices"][0]["message"]["content"] or ""
                meta = {"endpoint": "chat", "chat_template": "gguf"}
            else:
                out = self.llm.create_completion(prompt=request.prompt or "", **settings)
                text = out["choices"][0]["text"]
                meta = {"endpoint": "completion"}
        except ValueError as exc:  # prompt longer than the context, mostly
            return Response(error=f"llama.cpp: {exc}")
        meta["finish_reason"] = out["choices"][0].get("finish_reason")
        return Response(text=text, n_tokens=out.get("usage", {}).get("completion_tokens"), meta=meta)

    # ---- log-likelihood ---------------------------------------------------------------------
    def _score_tokens(self, tokens: list[int], first_scored: int) -> tuple[float, bool, int]:
        """Sum log P(tokens[j] | tokens[:j]) for j >= first_scored (first_scored >= 1)."""
        self.llm.reset()
        self.llm.eval(tokens)
        logits = np.asarray(self.llm.scores[first_scored - 1: len(tokens) - 1], dtype=np.float32)
        logprobs = log_softmax(logits, axis=-1)
        targets = np.asarray(tokens[first_scored:])
        picked = logprobs[np.arange(len(targets)), targets]
        greedy = bool(np.all(logprobs.argmax(axis=-1) == targets))
        return float(picked.sum()), greedy, len(targets)

    def loglikelihood(self, requests: Sequence[LoglikelihoodRequest]) -> list[Response]:
        out = []
        for request in requests:
            prefix = self._prompt_prefix if request.context else [self._prefix_token]
            context = [*prefix, *self._tokenizer.encode(request.context)]
            whole = [*prefix, *self._tokenizer.encode(request.context + request.continuation)]
            # Continuation tokens: what the joint tokenisation adds after the shared prefix with the context.
            shared = 0
            while shared < min(len(context), len(whole)) and context[shared] == whole[shared]:
                shared += 1
            if shared == len(whole):
                out.append(Response(error="continuation adds no tokens"))
                continue
            if shared == 0:  # the context merged into the continuation's first token: condition on BOS
                whole, shared = [self._prefix_token, *whole], 1
            meta: dict[str, Any] = {}
            if len(whole) > self.max_context:
                # Keep the continuation and the latest context, as lm-eval does.
                cut = len(whole) - self.max_context
                whole, shared = whole[cut:], max(1, shared - cut)
                meta["truncated_context_tokens"] = cut
            logprob, greedy, count = self._score_tokens(whole, shared)
            out.append(Response(logprob=logprob, is_greedy=greedy, n_tokens=count, meta=meta))
            report_backend_progress(requests=1)
        return out

    def loglikelihood_rolling(self, requests: Sequence[LoglikelihoodRollingRequest]) -> list[Response]:
        out = []
        block = max(1, self.max_context // 2)
        for request in requests:
            tokens = [self._prefix_token, *self._tokenizer.encode(request.text)]
            total, count = 0.0, 0
            # Score `block` new tokens at a time, each block conditioned on up to max_context - block earlier tokens.
            for start in range(1, len(tokens), block):
                end = min(start + block, len(tokens))
                window_start = max(0, end - self.max_context)
                logprob, _, scored = self._score_tokens(tokens[window_start:end], start - window_start)
                total += logprob
                count += scored
            out.append(Response(logprob=total, n_tokens=count))
        return out


def load(rest: str, **options: Any) -> LlamaCppModel:
    path = Path(rest).expanduser()
    if not path.is_file():
        raise AssayError(f"--model llamacpp:{rest}: no such file; expected llamacpp:PATH.gguf")
    return LlamaCppModel(path, n_ctx=int(options.get("n_ctx") or DEFAULT_N_CTX), n_threads=options.get("n_threads"))
