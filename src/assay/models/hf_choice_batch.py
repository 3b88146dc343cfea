"""Short shared contexts in two batched passes (multiple choice with contexts under shared_context_tokens).

Hundreds of short questions with a few choices each (arith_mc, MMLU-style tasks) would otherwise run
either one small shared-context pass per question or every choice with its whole question repeated.
Here a chunk of questions runs in two passes. First each question's head: its context and the tokens
all its choices start with (arith_mc's leading space), with logits kept for those tokens and for the
head's last position, which predicts every choice's next token. Then the rest of each choice but its
last token, on its head's KV rows, one row per distinct input (a choice whose input starts another's
reads that row; a one-token rest needs no row). Heads are left-padded with a mask on CPU (the
row-invariant budget), right-padded without one on a GPU (the causal kernel). Same numbers as the
other paths (float32, tested to 1e-3; lm-eval parity to 1e-4).
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import torch

from assay.models.hf_scoring import TokenItem, TokenScore, common_prefix_length, new_cache, score_block

if TYPE_CHECKING:
    from assay.models.hf_scoring import Scorer

Group = tuple[tuple[int, ...], list[int]]  # a context (at least two tokens) and the indices of its items


def score_shared_contexts(scorer: Scorer, groups: Sequence[Group], items: Sequence[TokenItem]) -> dict[int, TokenScore]:
    budget = scorer.budget
    out: dict[int, TokenScore] = {}
    chunk: list[Group] = []
    rows = tokens = widest = 0
    for context, indices in sorted(groups, key=lambda group: -len(group[0])):
        longest = max(len(items[i].continuation) for i in indices)
        cost = len(context) + len(indices) * longest
        if chunk and (rows + len(indices) > budget.max_batch or tokens + cost > budget.batch_tokens
                      or (rows + len(indices)) * max(widest, longest) > budget.logit_rows):
            out.update(_run(scorer, chunk, items))
            chunk, rows, tokens, widest = [], 0, 0, 0
        chunk.append((context, indices))
        rows, tokens, widest = rows + len(indices), tokens + cost, max(widest, longest)
    if chunk:
        out.update(_run(scorer, chunk, items))
    return out


def _common_start(continuations: Sequence[Sequence[int]]) -> tuple[int, ...]:
    """The tokens every choice starts with (" 143", " 4930": the space), leaving each at least one of its own."""
    shared = min(common_prefix_length(continuations[0], c) for c in continuations)
    return tuple(continuations[0][:min(shared, min(len(c) for c in continuations) - 1)])


# The first pass keeps logits for each question's shared choice tokens and its last position; past this many kept
# positions per row (right-padded heads of very different lengths in one chunk), the shared tokens run with each choice.
MAX_SHARED_LOGITS = 16


def _run(scorer: Scorer, chunk: list[Group], items: Sequence[TokenItem]) -> dict[int, TokenScore]:
    """First pass: each question's context and the tokens all its choices start with (its head), logits kept for
    those shared tokens and for the head's last position (which predicts every choice's next token). Second pass:
    each distinct rest of a choice but its last token, on the head's KV rows. A choice's log-likelihood is the
    exact sum of its head part and its rest."""
    pad, device = scorer.pad_token_id, scorer.device
    shared = [_common_start([items[i].continuation for i in indices]) for _, indices in chunk]
    heads = [[*context, *common] for (context, _), common in zip(chunk, shared, strict=True)]
    width = max(len(head) for head in heads)
    lengths = torch.tensor([len(head) for head in heads]).unsqueeze(1)
    # Left padding on the row-invariant budget (each row's scored positions end the block), else right padding
    # without a mask (the causal kernel), each row's scored positions where its head ends.
    left = scorer.invariant or not scorer.budget.right_padding
    keep = max(len(common) for common in shared) + 1 if left else \
        width - min(len(head) - len(common) - 1 for head, common in zip(heads, shared, strict=True))
    if keep > MAX_SHARED_LOGITS:
        shared = [() for _ in chunk]
        heads = [list(context) for context, _ in chunk]
        lengths = torch.tensor([len(head) for head in heads]).unsqueeze(1)
        keep = 1 if left else width - min(len(head) - 1 for head in heads)
    cache = new_cache(scorer.model)
    columns = torch.arange(width).unsqueeze(0)
    extra = {}
    if left:
        ids = torch.tensor([[pad] * (width - len(head)) + head for head in heads], dtype=torch.long)
        head_mask = (columns >= width - lengths).long()
        extra = {"attention_mask": head_mask.to(device), "position_ids": (columns - (width - lengths)).clamp(min=0).to(device)}
        head_starts = [keep - len(common) - 1 for common in shared]
    else:
        ids = torch.tensor([head + [pad] * (width - len(head)) for head in heads], dtype=torch.long)
        head_mask = (columns < lengths).long()
        head_starts = [len(head) - len(common) - 1 - (width - keep) for head, common in zip(heads, shared, strict=True)]
    head_logits = scorer._forward(ids, int(lengths.sum()), use_cache=True, logits_to_keep=keep, **extra,
                                  **{scorer.cache_kw: cache})
    owner_of = {index: owner for owner, (_, indices) in enumerate(chunk) for index in indices}
    order = [index for _, indices in chunk for index in indices]
    rests = {index: items[index].continuation[len(shared[owner_of[index]]):] for index in order}
    # Head part: the shared tokens and the rest's first token, from the first pass's logits.
    head_scores = score_block(head_logits, [(*shared[owner_of[i]], rests[i][0]) for i in order],
                              [head_starts[owner_of[i]] for i in order], [owner_of[i] for i in order])
    # One row per distinct input: a rest whose input (its tokens but the last) starts another's reads that row
    # (" 143" and " 144" both read " 14").
    owners: list[int] = []
    suffixes: list[list[int]] = []
    tails: list[int] = []
    rows_of: list[int] = []
    for owner, (_, indices) in enumerate(chunk):
        first_row = len(suffixes)
        for index in sorted((i for i in indices if len(rests[i]) > 1), key=lambda i: -len(rests[i])):
            wanted = list(rests[index][:-1])
            row = next((r for r in range(first_row, len(suffixes)) if suffixes[r][:len(wanted)] == wanted), None)
            if row is None:
                row = len(suffixes)
                owners.append(owner)
                suffixes.append(wanted)
            tails.append(index)
            rows_of.append(row)
    tail_scores: dict[int, TokenScore] = {}
    if suffixes:
        cache.batch_select_indices(torch.tensor(owners, device=device))
        suffix_width = max(len(suffix) for suffix in suffixes)
        ids = torch.tensor([suffix + [pad] * (suffix_width - len(suffix)) for suffix in suffixes], dtype=torch.long)
        head_lengths = lengths[owners]
        suffix_lengths = torch.tensor([len(suffix) for suffix in suffixes]).unsqueeze(1)
        mask = torch.cat([head_mask[owners], (torch.arange(suffix_width).unsqueeze(0) < suffix_lengths).long()], dim=1)
        positions = head_lengths + torch.arange(suffix_width).unsqueeze(0)
        logits = scorer._forward(ids, int(suffix_lengths.sum()), attention_mask=mask.to(device),
                                 position_ids=positions.to(device), use_cache=True, **{scorer.cache_kw: cache})
        tail_scores = dict(zip(tails, score_block(logits, [rests[i][1:] for i in tails], [0] * len(tails), rows_of),
                               strict=True))
    out = {}
    for index, head in zip(order, head_scores, strict=True):
        tail = tail_scores.get(index, TokenScore(0.0, True, 0))
        out[index] = TokenScore(math.fsum([head.logprob, tail.logprob]), head.is_greedy and tail.is_greedy,
                                len(items[index].continuation))
    return out
