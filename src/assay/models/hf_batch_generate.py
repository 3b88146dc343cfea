"""Batched greedy decoding.

One-at-a-time decoding (hf_generate.py) leaves the matrix units idle while it produces one token
per forward pass. Here greedy (temperature 0) jobs are decoded together: left padded with an
attention mask and per-row position ids, one KV cache, argmax per row. Each row stops on its own,
on EOS, on the first `until` string in its decoded continuation (truncated there), on max_tokens or
when the model's context is full; finished rows are dropped from the batch so the others do not
pay for them. The stop rules are those of the one-at-a-time path, so only the arithmetic of padded
attention differs from it.

Which jobs are batched and with whom (`batch_groups`): greedy jobs whose prompt fits in one prefill
segment, in token-sorted order, cut into runs wherever two neighbours share less than half of the
shorter prompt. A run of prompts sharing a long prefix (few-shot prompts, one document asked several
questions) is batched in token order and its common prefix is prefilled once, then copied to every
row, so batching keeps what prefix reuse saves. The remaining unrelated prompts are pooled and
batched longest first (as lm-evaluation-harness does) to keep padding small. A batch is at most
`batch_size` rows and rows x padded width <= the device budget's batch_tokens (hf_budget.py); a group
of one stays on the one-at-a-time path, which can still reuse the KV cache it kept from the previous prompt.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from assay.models.hf_budget import CPU_BUDGET, DeviceBudget
from assay.models.hf_generate import GenerationJob, GenerationResult, advance, common_prefix_length
from assay.models.hf_scoring import Scorer, new_cache
from assay.models.hf_tokenizer import HFTokenizer

SHARED_PREFIX_FRACTION = 0.5  # a neighbour sharing this much of the shorter prompt keeps a job on the prefix path


def shared_prefix(prompts: Sequence[Sequence[int]]) -> int:
    """Tokens all prompts share, leaving each at least one token to run (its logits start decoding)."""
    shared = min(common_prefix_length(prompts[0], p) for p in prompts)
    return min(shared, min(len(p) for p in prompts) - 1)


def _chunk(indices: list[int], jobs: Sequence[GenerationJob], batch_size: int, budget: DeviceBudget) -> list[list[int]]:
    batches: list[list[int]] = []
    for index in indices:
        batch = batches[-1] if batches else []
        candidate = [*batch, index]
        prompts = [jobs[i].prompt_tokens for i in candidate]
        width = max(len(p) for p in prompts) - shared_prefix(prompts)
        padded = max(len(p) for p in prompts) * budget.min_fill > len(jobs[index].prompt_tokens)
        if batch and len(batch) < batch_size and len(candidate) * width <= budget.batch_tokens and not padded:
            batch.append(index)
        else:
            batches.append([index])
    return batches


def batch_groups(jobs: Sequence[GenerationJob], batch_size: int, budget: DeviceBudget = CPU_BUDGET) -> list[list[int]]:
    """Indices of the jobs to decode together, batch by batch (see the module docstring)."""
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
    batches = [batch for run in runs if len(run) > 1 for batch in _chunk(run, jobs, batch_size, budget)]
    batches += _chunk(unrelated, jobs, batch_size, budget)
    return [batch for batch in batches if len(batch) > 1]


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
            else:
                runnable.append(index)
        if runnable:
            for index, result in zip(runnable, self._decode([jobs[i] for i in runnable]), strict=True):
                results[index] = result
        return [r for r in results if r is not None]

    def shared_tokens(self, prompts: Sequence[Sequence[int]]) -> int:
        """Prompt tokens prefilled once for the whole batch."""
        return shared_prefix(prompts) if self.reuse_prefix and len(prompts) > 1 else 0

    def budget(self, job: GenerationJob) -> int:
        return min(job.max_tokens, self.scorer.max_length - len(job.prompt_tokens))

    def _forward(self, ids: torch.Tensor, mask: torch.Tensor, positions: torch.Tensor, cache: Any) -> torch.Tensor:
        device = self.scorer.device
        logits = self.scorer._forward(ids, int(ids.numel()), attention_mask=mask.to(device), position_ids=positions.to(device),
                                      use_cache=True, logits_to_keep=1, **{self.scorer.cache_kw: cache})
        return logits[:, -1]

    def _decode(self, jobs: list[GenerationJob]) -> list[GenerationResult]:
        shared = self.shared_tokens([job.prompt_tokens for job in jobs])
        cache = new_cache(self.scorer.model)
        if shared > 0:  # prefilled once, then copied to every row
            self.scorer.prefill(jobs[0].prompt_tokens[:shared], cache)
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
        budgets = [self.budget(job) for job in jobs]
        generated: list[list[int]] = [[] for _ in jobs]
        results: list[GenerationResult | None] = [None] * len(jobs)
        live = list(range(len(jobs)))  # job index of each row still in the batch
        while True:
            tokens = logits.argmax(dim=-1).tolist()
            keep_rows: list[int] = []
            for row, (index, token) in enumerate(zip(live, tokens, strict=True)):
                result = advance(self.tokenizer, self.eos_token_ids, jobs[index].until, generated[index], int(token),
                                 budgets[index])
                if result is None:
                    keep_rows.append(row)
                else:
                    results[index] = result
            if not keep_rows:
                break
            if len(keep_rows) < len(live):
                selected = torch.tensor(keep_rows, dtype=torch.long)
                cache.batch_select_indices(selected.to(self.scorer.device))
                mask, lengths = mask[selected], lengths[selected]
                live = [live[row] for row in keep_rows]
            step = torch.tensor([[generated[index][-1]] for index in live], dtype=torch.long)
            mask = torch.cat([mask, torch.ones((len(live), 1), dtype=torch.long)], dim=1)
            logits = self._forward(step, mask, lengths.unsqueeze(1), cache)
            lengths = lengths + 1
        del cache
        return [r if r is not None else GenerationResult("", 0, "length") for r in results]

