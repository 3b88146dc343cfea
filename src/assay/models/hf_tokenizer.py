"""The Tokenizer protocol over a transformers tokenizer, and lm-eval's token-boundary rules.

Token boundaries follow lm-evaluation-harness so log-likelihoods are comparable with it:
- text is encoded without special tokens;
- trailing whitespace of a context moves onto the continuation, then the continuation's tokens
  are `encode(context + continuation)[len(encode(context)):]`;
- an empty context conditions on the BOS token (EOS when the model has no BOS);
- rolling log-likelihood scores the text in non-overlapping windows of the model's context, each
  window conditioned on the token just before it (the first on BOS/EOS); the last, partial window
  keeps as much preceding text as fits as context (lm-eval's disjoint rolling windows).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from assay.types import GenerateRequest, Message, Response, sha256_hex


def plain_chat_text(messages: Sequence[Message]) -> str:
    """The fallback prompt for models without a chat template: one 'role: content' line per
    message, then 'assistant:' for the model to continue."""
    return "".join(f"{m.role}: {m.content}\n" for m in messages) + "assistant:"


class HFTokenizer:
    """Wraps a transformers tokenizer; `name` is the model's name."""

    def __init__(self, name: str, tokenizer: Any) -> None:
        self.name = name
        self.hf = tokenizer
        template = getattr(tokenizer, "chat_template", None)
        self.chat_template: str | None = template if isinstance(template, str) and template else None
        self.chat_template_sha256 = sha256_hex(self.chat_template) if self.chat_template else None
        self.bos_token_id: int | None = tokenizer.bos_token_id
        self.eos_token_id: int | None = tokenizer.eos_token_id

    def encode(self, text: str) -> list[int]:
        return list(self.hf.encode(text, add_special_tokens=False)) if text else []

    def decode(self, token_ids: Sequence[int]) -> str:
        return self.hf.decode(list(token_ids), skip_special_tokens=False)

    def decode_output(self, token_ids: Sequence[int]) -> str:
        """Generated text as a user reads it: special tokens left out."""
        return self.hf.decode(list(token_ids), skip_special_tokens=True)

    def render_chat(self, messages: Sequence[Message]) -> str:
        if self.chat_template is None:
            return plain_chat_text(messages)
        as_dicts = [{"role": m.role, "content": m.content} for m in messages]
        return self.hf.apply_chat_template(as_dicts, tokenize=False, add_generation_prompt=True)

    @property
    def prefix_token_id(self) -> int:
        """What an empty context conditions on (lm-eval: BOS, else EOS)."""
        token = self.bos_token_id if self.bos_token_id is not None else self.eos_token_id
        if token is None:
            raise ValueError(f"tokenizer of {self.name} has neither a BOS nor an EOS token to condition an empty context on")
        return token

    def encode_many(self, texts: Sequence[str]) -> list[list[int]]:
        """encode() of each text, in one call of the tokenizer's batch encoder (several times faster than one
        call per text when a task sends hundreds of short requests)."""
        distinct = sorted({text for text in texts if text})
        encoded = dict(zip(distinct, self.hf(distinct, add_special_tokens=False)["input_ids"], strict=True)) if distinct else {}
        return [list(encoded[text]) if text else [] for text in texts]

    def encode_pair(self, context: str, continuation: str) -> tuple[list[int], list[int]]:
        """(context tokens, continuation tokens) with lm-eval's boundary rules."""
        return self.encode_pairs([(context, continuation)])[0]

    def encode_pairs(self, pairs: Sequence[tuple[str, str]]) -> list[tuple[list[int], list[int]]]:
        """encode_pair for each (context, continuation), with one batched tokenizer call for them all."""
        moved: list[tuple[str, str]] = []
        for context, continuation in pairs:
            n_spaces = len(context) - len(context.rstrip())
            # An empty context keeps its continuation whole; trailing whitespace moves onto the continuation.
            moved.append((context[:-n_spaces], context[-n_spaces:] + continuation) if n_spaces else (context, continuation))
        texts = [context + continuation if context else continuation for context, continuation in moved]
        encoded = self.encode_many(texts + [context for context, _ in moved])
        out = []
        for (original, _), whole, context_tokens in zip(pairs, encoded[:len(pairs)], encoded[len(pairs):], strict=True):
            if original == "":
                out.append(([self.prefix_token_id], whole))
                continue
            # A whitespace-only context leaves nothing to condition on: use the BOS/EOS token as lm-eval
            # does for an empty one, so the first continuation token is still scored.
            out.append((context_tokens or [self.prefix_token_id], whole[len(context_tokens):]))
        return out


def encode_prompt(tokenizer: HFTokenizer, request: GenerateRequest,
                  max_context: int) -> tuple[list[int], dict[str, Any], Response | None]:
    """A generation prompt's tokens (chat template applied) and its response meta, or the error response of a
    prompt that leaves no room in the model's context (the hf and vllm backends)."""
    is_chat = request.messages is not None
    text = tokenizer.render_chat(request.messages or ()) if is_chat else (request.prompt or "")
    # An empty prompt conditions on BOS/EOS, like an empty log-likelihood context.
    tokens = tokenizer.encode(text) or [tokenizer.prefix_token_id]
    meta: dict[str, Any] = {"chat_template_sha256": tokenizer.chat_template_sha256 if is_chat else None,
                            "prompt_tokens": len(tokens)}
    if len(tokens) >= max_context:
        return tokens, meta, Response(error=f"prompt of {len(tokens)} tokens exceeds the model's context of "
                                            f"{max_context}", meta=meta)
    return tokens, meta, None


def rolling_windows(tokens: Sequence[int], prefix_token: int, max_length: int) -> Iterator[tuple[list[int], list[int]]]:
    """(context, scored tokens) pairs covering every token exactly once; each window's context +
    scored tokens minus the last fits in `max_length` inputs."""
    if not tokens:
        return
    first = min(max_length, len(tokens))
    yield [prefix_token], list(tokens[:first])
    done = first
    while done < len(tokens):
        scored = min(len(tokens) - done, max_length)
        end = done + scored
        # Inputs are tokens[end - max_length - 1 : end - 1]; the ones before `done` are context.
        start = max(end - max_length - 1, 0)
        yield list(tokens[start:done]), list(tokens[done:end])
        done = end
