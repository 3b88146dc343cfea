"""Log-likelihood from an OpenAI-style `logprobs` block of an echoed completion.

The server echoes the whole prompt (context + continuation) as tokens with text offsets; the
continuation's log-likelihood is the sum over the tokens that cover characters [start, end) of the
prompt. Tokens past `end` were generated (servers that refuse max_tokens=0) and are ignored.

Given the prompt text, offsets are first aligned with it: vLLM's server (checked against its
`_create_completion_logprobs`, v0.10 to main) counts text offsets over each echoed token decoded on its own,
special tokens included, so for a model that adds a BOS token every offset is shifted by the BOS text
("<s>", "<|begin_of_text|>") and the character range [start, end) would pick the wrong tokens.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# A token counts as the greedy choice when its logprob is the top one, up to float noise.
GREEDY_TOLERANCE = 1e-6


class LogprobsMissing(Exception):
    """The answer carries no usable prompt logprobs (server ignores echo or logprobs)."""


@dataclass
class EchoScore:
    logprob: float
    is_greedy: bool | None
    n_tokens: int
    meta: dict[str, Any] = field(default_factory=dict)


def echo_shift(tokens: list[Any], offsets: list[Any], prompt: str) -> int | None:
    """Characters the echo puts before `prompt` (a BOS token's text): 0 when the echoed tokens spell the prompt
    from offset 0, the offset of the token where they start spelling it, None when they never do."""
    joined = "".join(token if isinstance(token, str) else "" for token in tokens)
    if joined.startswith(prompt):
        return 0
    position = joined.find(prompt)
    return position if position > 0 and position in offsets else None


def parse_echo_logprobs(logprobs: Any, start: int, end: int, *, prompt: str | None = None) -> EchoScore:
    """Sum the logprobs of the echoed tokens that overlap characters [start, end) of the prompt (`prompt`, when
    given, aligns the echo's offsets with it first)."""
    if not isinstance(logprobs, dict):
        raise LogprobsMissing("the answer has no logprobs block")
    tokens = logprobs.get("tokens")
    token_logprobs = logprobs.get("token_logprobs")
    offsets = logprobs.get("text_offset")
    top = logprobs.get("top_logprobs")
    if not tokens or token_logprobs is None or offsets is None:
        raise LogprobsMissing("the logprobs block lacks tokens, token_logprobs or text_offset")
    if not len(tokens) == len(token_logprobs) == len(offsets):
        raise LogprobsMissing("tokens, token_logprobs and text_offset differ in length")
    meta: dict[str, Any] = {}
    if prompt is not None:
        shift = echo_shift(tokens, offsets, prompt)
        if shift is None:
            meta["echo_does_not_spell_the_prompt"] = True  # offsets used as given
        elif shift:
            start, end = start + shift, end + shift
            meta["echo_offset_shift"] = shift
    if all(offset >= end for offset in offsets) and end > 0:
        raise LogprobsMissing("the prompt was not echoed back")
    total = 0.0
    count = 0
    greedy: bool | None = True
    without_logprob = 0
    straddles = False
    for i, offset in enumerate(offsets):
        # A token ends where the next one starts (token strings of partial UTF-8 bytes have no usable length).
        token_end = offsets[i + 1] if i + 1 < len(offsets) else end
        if offset >= end or token_end <= start:
            continue
        if offset < start:
            # The continuation starts inside this token: its logprob is the closest we can get.
            straddles = True
        value = token_logprobs[i]
        if value is None:
            # First token of the prompt with no BOS before it: nothing to condition on.
            without_logprob += 1
            continue
        total += float(value)
        count += 1
        position_top = top[i] if isinstance(top, list) and i < len(top) else None
        if isinstance(position_top, dict) and position_top:
            if float(value) < max(float(v) for v in position_top.values()) - GREEDY_TOLERANCE:
                greedy = False
        else:
            greedy = None if greedy is not False else False
    if count == 0 and without_logprob == 0:
        raise LogprobsMissing("no echoed token falls in the continuation")
    if straddles:
        meta["boundary_token_straddles_context"] = True
    if without_logprob:
        meta["tokens_without_logprob"] = without_logprob
    return EchoScore(logprob=total, is_greedy=greedy, n_tokens=count, meta=meta)
