"""Batched greedy decoding.

One-at-a-time decoding (hf_generate.py) leaves the matrix units idle while it produces one token
per forward pass. Here greedy (temperature 0) jobs are decoded together: left padded with an
attention mask and per-row position ids, one KV cache, argmax per row. Each row stops on its own,
on EOS, on the first `until` string in its decoded continuation (truncated there), on max_tokens or
when the model's context is full. Batching is continuous: a finished row leaves the batch at once
and the next waiting job is prefilled and takes its place, so a few long generations (a 3-shot
chain of thought that never says its answer runs to max_tokens) do not hold up the rest, as they do
when each batch waits for its longest row. The cache grows in place (hf_kv.py). The stop rules are
those of the one-at-a-time path, so only the arithmetic of padded attention differs from it.

Which jobs are batched and with whom (`batch_groups`): greedy jobs whose prompt fits in one prefill
segment, in token-sorted order, cut into runs wherever two neighbours share less than half of the
shorter prompt. A run of prompts sharing a long prefix (few-shot prompts, one document asked several
questions) is one group, in token order; its common prefix is prefilled once, then copied to every
row, so batching keeps what prefix reuse saves. The remaining unrelated prompts are pooled into one
group, longest first (as lm-evaluation-harness does) to keep padding small. At most `batch_size` rows
decode at once, and the jobs prefilled together have rows x padded width <= the device budget's
prefill_batch_tokens (hf_budget.py); a group of one stays on the one-at-a-time path, which can still reuse the
KV cache it kept from the previous prompt.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

import torch

from assay.models.base import report_backend_progress
from assay.models.hf_budget import CPU_BUDGET, DeviceBudget
from assay.models.hf_generate import GenerationJob, GenerationResult, advance, common_prefix_length
from assay.models.hf_row_invariant import aligned, decoding_step
from assay.models.hf_scoring import Scorer, new_cache
from assay.models.hf_tokenizer import HFTokenizer

SHARED_PREFIX_FRACTION = 0.5  # a neighbour sharing this much of the shorter prompt keeps a job on the prefix path


def shared_prefix(prompts: Sequence[Sequence[int]]) -> int:
    """Tokens all prompts share, leaving each at least one token to run (its logits start decoding)."""
    shared = min(common_prefix_length(prompts[0], p) for p in prompts)
    return min(shared, min(len(p) for p in prompts) - 1)


def batch_groups(jobs: Sequence[GenerationJob], budget: DeviceBudget = CPU_BUDGET) -> list[list[int]]:
    """Indices of the jobs to decode in one continuous batch, group by group (see the module docstring). On a
    batch-invariant budget a job left alone is a group of one too: every greedy job then takes the same forward
    passes whoever else is in the request."""
    greedy = sorted((i for i, job in enumerate(jobs) if job.temperature <= 0
                     and len(job.prompt_tokens) <= budget.segment_tokens), key=lambda i: (jobs[i].prompt_tokens, i))
    runs: list[list[int]] = []
    for index in greedy:
        if runs:
            a, b = jobs[runs[-1][-1]].prompt_tokens, jobs[index].prompt_tokens
            if common_prefix_length(a, b) >= SHARED_PREFIX_FRACTION * min(len(a), len(b)):
                runs[-1].append(index)
                continue
        runs.append([index])
    unrelated = sorted((run[0] for run in runs if len(run) == 1), key=lambda i: (-len(jobs[i].prompt_tokens), i))
    return [run for run in runs if len(run) > 1] + ([unrelated] if len(unrelated) > 1 or budget.batch_invariant
                                                     and unrelated else [])


class BatchedGreedyDecoder:
    def __init__(self, scorer: Scorer, tokenizer: HFTokenizer, eos_token_ids: set[int], batch_size: int = 8,
                 reuse_prefix: bool = True) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        self.scorer = scorer
        self.tokenizer = tokenizer
        self.eos_token_ids = eos_token_ids
        self.batch_size = batch_size
        self.reuse_prefix = reuse_prefix  # False: every row prefills its whole prompt

    def run(self, jobs: Sequence[GenerationJob]) -> list[GenerationResult]:
        """Decode one batch; returns results in the order of `jobs`."""
        results: list[GenerationResult | None] = [None] * len(jobs)
        runnable = []
        for index, job in enumerate(jobs):
            if self.budget(job) <= 0:
                results[index] = GenerationResult("", 0, "length")
                report_backend_progress(requests=1)
            else:
                runnable.append(index)
        if runnable:
            for index, result in zip(runnable, self._decode([jobs[i] for i in runnable]), strict=True):
                results[index] = result
        return [r for r in results if r is not None]

    def shared_tokens(self, prompts: Sequence[Sequence[int]]) -> int:
        """Prompt tokens prefilled once for the whole batch."""
        shared = shared_prefix(prompts) if self.reuse_prefix and len(prompts) > 1 else 0
        return aligned(shared) if self.scorer.invariant else shared

    def budget(self, job: GenerationJob) -> int:
        return min(job.max_tokens, self.scorer.max_length - len(job.prompt_tokens))

    def _forward(self, ids: torch.Tensor, mask: torch.Tensor, positions: torch.Tensor, cache: Any,
                 keep: int = 1) -> torch.Tensor:
        """The logits of the last `keep` inputs of each row, (rows, vocab) when keep is 1, else (rows, keep, vocab)."""
        device = self.scorer.device
        logits = self.scorer._forward(ids, int(ids.numel()), attention_mask=mask.to(device), position_ids=positions.to(device),
                                      use_cache=True, logits_to_keep=keep, **{self.scorer.cache_kw: cache})
        return logits[:, -1] if keep == 1 else logits[:, -keep:]

    def _new_cache(self) -> Any:
        from assay.models.hf_kv import growing_cache

        return growing_cache(self.scorer.model) or new_cache(self.scorer.model)

    def _take(self, waiting: list[int], jobs: Sequence[GenerationJob], shared: int, free: int, running_rows: int = 0,
              running_columns: int = 0) -> list[int]:
        """The next waiting jobs to prefill together: at most `free` rows and the budget's prefill_batch_tokens, and with the
        `running_rows` x `running_columns` cache already decoding, at most the budget's decode_kv_tokens (a first row
        always); on a budget with min_fill, none much shorter than the first (the waiting pool is sorted longest first)."""
        budget = self.scorer.budget
        taken: list[int] = []
        width = 0
        for index in waiting[:free]:
            length = len(jobs[index].prompt_tokens)
            candidate = max(width, length - shared)
            held = (running_rows + len(taken) + 1) * max(running_columns, shared + candidate)
            if (taken or running_rows) and held > budget.decode_kv_tokens:
                break
            if taken and ((len(taken) + 1) * candidate > budget.prefill_batch_tokens
                          or len(jobs[taken[0]].prompt_tokens) * budget.min_fill > length):
                break
            taken.append(index)
            width = candidate
        return taken

    def _admit(self, jobs: list[GenerationJob], shared: int, prefix: Any) -> tuple[Any, torch.Tensor, torch.Tensor,
                                                                                     torch.Tensor]:
        """Prefill `jobs` as new rows; `prefix` is a one-row cache of their first `shared` tokens (None when 0).
        Returns their cache, mask, the position of each row's next token and its last-token logits."""
        cache = self._new_cache()
        if shared > 0:  # prefilled once, then copied to every row
            cache = copy.deepcopy(prefix)
            cache.batch_repeat_interleave(len(jobs))
        suffixes = [list(job.prompt_tokens[shared:]) for job in jobs]
        if self.scorer.budget.right_padding:  # GPU: no mask at prefill; the pads sit after each prompt, masked later
            logits, mask = self.scorer.prefill_rows(suffixes, cache, shared)
            lengths = torch.tensor([len(job.prompt_tokens) for job in jobs])
        else:
            width = max(len(p) for p in suffixes)
            ids = torch.full((len(jobs), width), self.scorer.pad_token_id, dtype=torch.long)
            mask = torch.zeros((len(jobs), width), dtype=torch.long)
            for row, tokens in enumerate(suffixes):
                ids[row, width - len(tokens):] = torch.tensor(tokens)
                mask[row, width - len(tokens):] = 1
            positions = (shared + mask.cumsum(dim=1) - 1).clamp(min=0)
            mask = torch.cat([torch.ones((len(jobs), shared), dtype=torch.long), mask], dim=1)
            lengths = mask.sum(dim=1)  # real tokens per row: the position of each row's next token
            logits = self._forward(ids, mask, positions, cache)
        return cache, mask, lengths, logits

    def _decode(self, jobs: list[GenerationJob]) -> list[GenerationResult]:
        """Continuous batching: up to batch_size rows decode together; a finished row's place goes to the next
        waiting job, prefilled and appended to the running cache (with transformers' own cache, when the model
        needs it, only once the whole batch has finished). Each step also checks draft tokens (hf_draft.py)."""
        from assay.models.hf_draft import DraftIndex
        from assay.models.hf_kv import GrowingLayer, compact

        shared = self.shared_tokens([job.prompt_tokens for job in jobs])
        prefix = None
        if shared > 0:
            prefix = self._new_cache()
            self.scorer.prefill(jobs[0].prompt_tokens[:shared], prefix)
        budgets = [self.budget(job) for job in jobs]
        generated: list[list[int]] = [[] for _ in jobs]
        drafts: dict[int, DraftIndex] = {}
        results: list[GenerationResult | None] = [None] * len(jobs)
        waiting = list(range(len(jobs)))
        live: list[int] = []  # job index of each row in the batch
        emitted: list[list[int]] = []  # per row: the tokens its last forward pass produced, not yet checked
        cache: Any = None
        mask = lengths = torch.empty(0)
        while True:
            growing = cache is not None and all(isinstance(layer, GrowingLayer) for layer in cache.layers)
            taken = []
            if waiting and len(live) < self.batch_size and (not live or growing):
                taken = self._take(waiting, jobs, shared, self.batch_size - len(live), len(live),
                                   mask.shape[-1] if live else 0)
            if taken:
                del waiting[:len(taken)]
                rows = self._admit([jobs[i] for i in taken], shared, prefix)
                if not live:
                    cache, mask, lengths = rows[:3]
                else:
                    cache, mask = _merge(cache, mask, rows[0], rows[1])
                    lengths = torch.cat([lengths, rows[2]])
                    if mask.shape[1] > COMPACT_FACTOR * int(mask.sum(dim=1).max()) + COMPACT_SLACK:
                        mask = compact(cache, mask)
                live += taken
                emitted += [[token] for token in rows[3].argmax(dim=-1).tolist()]
                drafts.update((index, DraftIndex(jobs[index].prompt_tokens)) for index in taken)
            keep_rows: list[int] = []
            for row, index in enumerate(live):
                result = None
                for token in emitted[row]:
                    result = advance(self.tokenizer, self.eos_token_ids, jobs[index].until, generated[index], token,
                                     budgets[index])
                    if result is not None:
                        break
                    drafts[index].append(token)
                if result is None:
                    keep_rows.append(row)
                else:
                    results[index] = result
                    del drafts[index]
                    report_backend_progress(requests=1)
            if not keep_rows:
                live, emitted, cache = [], [], None
                if not waiting:
                    break
                continue
            if len(keep_rows) < len(live):
                selected = torch.tensor(keep_rows, dtype=torch.long)
                cache.batch_select_indices(selected.to(self.scorer.device))
                mask, lengths = mask[selected], lengths[selected]
                live = [live[row] for row in keep_rows]
            emitted, width = self._step(live, generated, budgets, drafts, cache, mask, lengths)
            mask = mask_after_step(mask, emitted, width)
            lengths = lengths + torch.tensor([len(tokens) for tokens in emitted])
        del cache, prefix
        return [r if r is not None else GenerationResult("", 0, "length") for r in results]

    def _step(self, live: list[int], generated: list[list[int]], budgets: list[int], drafts: dict[int, Any],
              cache: Any, mask: torch.Tensor, lengths: torch.Tensor) -> tuple[list[list[int]], int]:
        """One forward pass: each row's last token and its draft. Returns the tokens each row gets (its draft as far
        as the model agrees, then the model's own next token) and the inputs per row the pass took."""
        per_row = max(1, DRAFT_TOKENS // len(live))
        proposals = [drafts[index].draft(min(per_row, MAX_DRAFT, budgets[index] - len(generated[index]) - 1))
                     for index in live]
        width = 1 + max(len(p) for p in proposals)
        ids = torch.full((len(live), width), self.scorer.pad_token_id, dtype=torch.long)
        step_mask = torch.zeros((len(live), width), dtype=torch.long)
        for row, (index, proposal) in enumerate(zip(live, proposals, strict=True)):
            inputs = [generated[index][-1], *proposal]
            ids[row, :len(inputs)] = torch.tensor(inputs)
            step_mask[row, :len(inputs)] = 1
        positions = lengths.unsqueeze(1) + torch.arange(width)
        with decoding_step():  # row-invariant: each query its own block, whatever the number of drafts
            logits = self._forward(ids, torch.cat([mask, step_mask], dim=1), positions, cache, keep=width)
        best = (logits.argmax(dim=-1) if width > 1 else logits.argmax(dim=-1, keepdim=True)).tolist()
        emitted = []
        for proposal, predicted in zip(proposals, best, strict=True):
            agreed = 0
            while agreed < len(proposal) and predicted[agreed] == proposal[agreed]:
                agreed += 1
            emitted.append(predicted[:agreed + 1])
        return emitted, width


# Draft tokens checked per forward pass, over all rows, and per row: on CPU a pass over a few more tokens costs
# about what one decoding step does, while a draft the model disagrees with costs its share of that pass.
DRAFT_TOKENS = 16
MAX_DRAFT = 8


def mask_after_step(mask: torch.Tensor, emitted: list[list[int]], width: int) -> torch.Tensor:
    """The mask once a step of `width` inputs per row ran: a row keeps its last token and the drafts it accepted
    (one fewer than the tokens it got); rejected drafts and pads stay in the cache, masked out."""
    accepted = torch.tensor([len(tokens) for tokens in emitted]).unsqueeze(1)
    return torch.cat([mask, (torch.arange(width).unsqueeze(0) < accepted).long()], dim=1)


# A running batch's cache is compacted once it is this much wider than its longest row (masked columns piling up
# as rows come and go).
COMPACT_FACTOR = 1.5
COMPACT_SLACK = 64


def _merge(cache: Any, mask: torch.Tensor, new: Any, new_mask: torch.Tensor) -> tuple[Any, torch.Tensor]:
    """Append the rows of `new` (a growing cache) below those of `cache`, padding the narrower with masked columns."""
    width = max(mask.shape[1], new_mask.shape[1])
    for layer, incoming in zip(cache.layers, new.layers, strict=True):
        layer.pad_columns(width)
        layer.append_rows(incoming.keys, incoming.values)
    mask = torch.nn.functional.pad(mask, (0, width - mask.shape[1]))
    return cache, torch.cat([mask, torch.nn.functional.pad(new_mask, (0, width - new_mask.shape[1]))])
