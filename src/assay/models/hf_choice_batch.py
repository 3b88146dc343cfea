"""Short shared contexts in two batched passes (multiple choice with contexts under shared_context_tokens).

Hundreds of short questions with a few choices each (arith_mc, MMLU-style tasks) would otherwise run
either one small shared-context pass per question or every choice with its whole question repeated.
Here all contexts of a chunk run once, right-padded without a mask (the causal kernel), their KV
rows are repeated for their choices, and all continuations run in one second pass whose mask hides
each context's padding. Same numbers as the other paths (float32, tested to 1e-3).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import torch

from assay.models.hf_scoring import TokenItem, TokenScore, new_cache, score_block

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


def _run(scorer: Scorer, chunk: list[Group], items: Sequence[TokenItem]) -> dict[int, TokenScore]:
    pad, device = scorer.pad_token_id, scorer.device
    heads = [list(context[:-1]) for context, _ in chunk]  # each continuation reads the context's last token itself
    head_width = max(len(head) for head in heads)
    cache = new_cache(scorer.model)
    ids = torch.tensor([head + [pad] * (head_width - len(head)) for head in heads], dtype=torch.long)
    scorer._forward(ids, sum(len(head) for head in heads), use_cache=True, logits_to_keep=1, **{scorer.cache_kw: cache})
    owners = [row for row, (_, indices) in enumerate(chunk) for _ in indices]
    order = [index for _, indices in chunk for index in indices]
    cache.batch_select_indices(torch.tensor(owners, device=device))
    suffixes = [[chunk[owner][0][-1], *items[index].continuation[:-1]] for owner, index in zip(owners, order, strict=True)]
    width = max(len(suffix) for suffix in suffixes)
    ids = torch.tensor([suffix + [pad] * (width - len(suffix)) for suffix in suffixes], dtype=torch.long)
    head_lengths = torch.tensor([len(heads[owner]) for owner in owners]).unsqueeze(1)
    suffix_lengths = torch.tensor([len(suffix) for suffix in suffixes]).unsqueeze(1)
    mask = torch.cat([torch.arange(head_width).unsqueeze(0) < head_lengths,
                      torch.arange(width).unsqueeze(0) < suffix_lengths], dim=1).long()
    positions = head_lengths + torch.arange(width).unsqueeze(0)
    logits = scorer._forward(ids, int(suffix_lengths.sum()), attention_mask=mask.to(device),
                             position_ids=positions.to(device), use_cache=True, **{scorer.cache_kw: cache})
    scores = score_block(logits, [items[index].continuation for index in order], [0] * len(order))
    return dict(zip(order, scores, strict=True))
