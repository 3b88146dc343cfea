"""Draft tokens for greedy decoding, looked up in the sequence itself (prompt lookup).

Few-shot chain-of-thought answers copy long stretches of their exemplars, and a small model that
never reaches its answer repeats itself until max_tokens. Both are predictable from the text so
far: find the latest earlier occurrence of the sequence's last n tokens (n = 3, then 2, then 1) and
propose the tokens that followed it. The decoder feeds the drafts with the real next-token input in
one forward pass and keeps the drafts only as far as each equals the model's own argmax, so the
greedy output is the one token-by-token decoding gives; a pass then costs about one decoding step
on CPU while it yields up to 1 + len(draft) tokens.
"""

from __future__ import annotations

from collections.abc import Iterable

MAX_NGRAM = 3


class DraftIndex:
    """The tokens of one sequence, indexed by their last 1..MAX_NGRAM tokens' latest earlier occurrence."""

    def __init__(self, tokens: Iterable[int]) -> None:
        self.tokens: list[int] = []
        # follows[n - 1][ngram]: the index of the token after the latest occurrence of that n-gram
        self.follows: list[dict[tuple[int, ...], int]] = [{} for _ in range(MAX_NGRAM)]
        for token in tokens:
            self.append(token)

    def append(self, token: int) -> None:
        end = len(self.tokens)  # the n-grams ending just before `token` are followed by it
        for n in range(1, min(MAX_NGRAM, end) + 1):
            self.follows[n - 1][tuple(self.tokens[end - n:end])] = end
        self.tokens.append(token)

    def draft(self, limit: int) -> list[int]:
        """Up to `limit` tokens that followed the latest earlier occurrence of the longest matching tail."""
        if limit <= 0:
            return []
        for n in range(min(MAX_NGRAM, len(self.tokens)), 0, -1):
            start = self.follows[n - 1].get(tuple(self.tokens[-n:]))
            if start is not None:
                return self.tokens[start:start + limit]
        return []
