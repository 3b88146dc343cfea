"""Token-level log-likelihood scoring on a transformers causal LM.

Each item is (context tokens, continuation tokens); the model reads context + continuation[:-1]
and we sum log P(continuation token | everything before it) over the continuation's own tokens.

Three paths, all giving the same numbers (within float32 noise, tested to 1e-4):
- shared context: several items with the same context (a question and its choices) run the
  context once; its KV cache is copied for a right-padded batch of the continuations; contexts
  that share a long token prefix (several questions after one document, one few-shot block) run
  that prefix once too (`share_document_prefix`, the hf backend's reuse_prefix option);
- batched: the rest, sorted by length (longest first, so memory problems show up at once),
  left-padded with explicit position ids and attention masks, logits kept only for the tail;
- segmented: inputs too long for one pass (rolling windows at 8k) are fed in segments that
  extend one KV cache, so the logits tensor never holds more than a segment.
How many tokens, rows and logits one forward may take comes from the device's budget
(hf_budget.py): small on CPU, large on a GPU, where batches are right-padded without a mask (the
causal kernel runs). Short shared contexts (under the budget's shared_context_tokens) run all at
once, their choices in a second pass (hf_choice_batch.py), rather than as many small forwards. On
CPU every forward pass is row-invariant (hf_row_invariant.py): a request's numbers do not depend on
what else shares its batch.
"""

from __future__ import annotations

import contextlib
import copy
import inspect
import math
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import takewhile
from typing import Any

import torch

from assay.models.base import report_backend_progress
from assay.models.hf_budget import DeviceBudget, budget_for
from assay.models.hf_row_invariant import aligned, row_invariant
from assay.models.hf_row_invariant import prepare as prepare_row_invariant


def _attention_kernels(device: str) -> Any:
    """On CUDA, SDPA's flash, memory-efficient and math kernels only. cuDNN attention is left out: it plans per
    shape, every decoding step (one more cached token) is a new shape, and on an H200 (torch 2.11) batched
    decoding ran at ~88 ms a step before this; not yet re-measured with it (see docs/gpu.md)."""
    if not device.startswith("cuda"):
        return contextlib.nullcontext()
    from torch.nn.attention import SDPBackend, sdpa_kernel

    return sdpa_kernel([SDPBackend.FLASH_ATTENTION, SDPBackend.EFFICIENT_ATTENTION, SDPBackend.MATH])


# Contexts whose common token prefix is at least this long run that prefix once (a document, few-shot block).
MIN_SHARED_PREFIX = 256


@dataclass(frozen=True)
class TokenItem:
    context: tuple[int, ...]  # at least one token
    continuation: tuple[int, ...]


@dataclass
class TokenScore:
    logprob: float
    is_greedy: bool
    n_tokens: int


def common_prefix_length(a: Sequence[int], b: Sequence[int]) -> int:
    return sum(1 for _ in takewhile(lambda pair: pair[0] == pair[1], zip(a, b, strict=False)))


def cache_keyword(model: Any) -> str:
    """transformers 5 renamed `past_key_values` to `cache`; accept either version."""
    return "cache" if "cache" in inspect.signature(model.forward).parameters else "past_key_values"


def new_cache(model: Any) -> Any:
    from transformers import DynamicCache

    try:
        return DynamicCache(config=model.config)
    except TypeError:  # older transformers: no config argument
        return DynamicCache()


def _score_rows(logits: torch.Tensor, targets: torch.Tensor) -> tuple[float, bool]:
    """logits (n, vocab) predicting targets (n,): summed log-probability and all-argmax."""
    logprobs = torch.log_softmax(logits.float(), dim=-1)
    total = logprobs.gather(1, targets.unsqueeze(1)).sum().item()
    greedy = bool((logprobs.argmax(dim=-1) == targets).all().item())
    return total, greedy


def score_block(logits: torch.Tensor, continuations: Sequence[Sequence[int]], starts: Sequence[int],
                rows: Sequence[int] | None = None) -> list[TokenScore]:
    """logits (rows, width, vocab); item i scores continuations[i] at positions starts[i] onwards of row rows[i]
    (its own row by default). One pass over the whole block and one copy to the host, not one per item."""
    width = logits.shape[1]
    row_of = torch.tensor(list(rows) if rows is not None else range(len(continuations)), dtype=torch.long)
    padded = [[0] * start + list(c) + [0] * (width - start - len(c)) for c, start in zip(continuations, starts, strict=True)]
    first = torch.tensor(list(starts)).unsqueeze(1)
    last = first + torch.tensor([len(c) for c in continuations]).unsqueeze(1)
    columns = torch.arange(width).unsqueeze(0)
    valid = (columns >= first) & (columns < last)
    device = logits.device
    targets, valid, row_of = torch.tensor(padded, dtype=torch.long).to(device), valid.to(device), row_of.to(device)
    logprobs = torch.log_softmax(logits.float(), dim=-1)
    picked = logprobs[row_of.unsqueeze(1), columns.to(device), targets].tolist()
    greedy = ((logprobs.argmax(dim=-1)[row_of] == targets) | ~valid).all(dim=1).tolist()
    # fsum of each item's own terms: exact, so the total cannot depend on the block's width or padding.
    return [TokenScore(math.fsum(picked[i][starts[i]:starts[i] + len(c)]), bool(greedy[i]), len(c))
            for i, c in enumerate(continuations)]


class Scorer:
    def __init__(self, model: Any, device: str, max_length: int, pad_token_id: int,
                 budget: DeviceBudget | None = None) -> None:
        self.model = model
        self.device = device
        self.budget = budget or budget_for(device)
        self.max_length = max_length
        self.pad_token_id = pad_token_id
        self.cache_kw = cache_keyword(model)
        # Counters for tests and benchmarks: tokens fed to the model vs. the one-request-at-a-time count.
        self.stats = {"computed": 0, "naive": 0}
        self.share_document_prefix = True

    def _forward(self, input_ids: torch.Tensor, computed: int, **kwargs: Any) -> torch.Tensor:
        """One forward pass without autograd. `no_grad`, not `inference_mode`: the KV caches this pass fills are kept
        across passes and changed in place between them (continuous batching pads, appends, selects and compacts
        rows; hf_kv.py), and an inference-mode tensor may not be changed outside inference mode. With no_grad no
        tensor of the decoder is ever an inference tensor, whatever path touches it later."""
        self.stats["computed"] += computed
        with torch.no_grad(), _attention_kernels(self.device), row_invariant(self.invariant):
            logits = self.model(input_ids=input_ids.to(self.device), **kwargs).logits
        report_backend_progress(tokens=computed)
        return logits

    @property
    def invariant(self) -> bool:
        """Whether forward passes run row-invariant (the budget asks for it and the model's attention allows it)."""
        return self.budget.batch_invariant and prepare_row_invariant(self.model)

    def prefill_rows(self, rows: Sequence[Sequence[int]], cache: Any, offset: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
        """Right-padded prefill without an attention mask (the GPU budget's way: the causal flash kernel runs, and no
        real token ever attends to the pads after it). `cache` holds `offset` tokens for every row already. Returns
        each row's last-token logits (rows, vocab) and the 2-D mask of what the cache now holds (zeros at pads)."""
        width = max(len(row) for row in rows)
        ids = torch.tensor([list(row) + [self.pad_token_id] * (width - len(row)) for row in rows], dtype=torch.long)
        lengths = torch.tensor([len(row) for row in rows])
        keep = width - int(lengths.min()) + 1
        positions = (offset + torch.arange(width)).unsqueeze(0).expand(len(rows), -1)
        logits = self._forward(ids, int(lengths.sum()), position_ids=positions.to(self.device), use_cache=True,
                               logits_to_keep=keep, **{self.cache_kw: cache})
        last = logits[torch.arange(len(rows), device=logits.device), (lengths - 1 - (width - keep)).to(logits.device)]
        mask = torch.cat([torch.ones((len(rows), offset), dtype=torch.long),
                          (torch.arange(width).unsqueeze(0) < lengths.unsqueeze(1)).long()], dim=1)
        return last, mask

    def score(self, items: Sequence[TokenItem]) -> list[TokenScore]:
        results: list[TokenScore | None] = [None] * len(items)
        by_context: dict[tuple[int, ...], list[int]] = {}
        for index, item in enumerate(items):
            self.stats["naive"] += len(item.context) + len(item.continuation) - 1
            if not item.continuation:
                results[index] = TokenScore(0.0, True, 0)
                continue
            by_context.setdefault(item.context, []).append(index)
        singles: list[int] = []
        shared: list[tuple[int, ...]] = []
        short_shared: list[tuple[tuple[int, ...], list[int]]] = []  # short multiple-choice contexts: two passes
        for context, indices in by_context.items():
            longest = max(len(items[i].continuation) for i in indices)
            fits = len(indices) >= 2 and len(context) >= 2 and len(context) + longest - 1 <= self.max_length
            if fits and len(context) >= self.budget.shared_context_tokens:
                shared.append(context)
            elif fits:
                short_shared.append((context, indices))
            else:
                singles.extend(indices)
        if short_shared:
            from assay.models.hf_choice_batch import score_shared_contexts

            for index, score in score_shared_contexts(self, short_shared, items).items():
                results[index] = score
            report_backend_progress(requests=sum(len(indices) for _, indices in short_shared))
        for group, common in self._prefix_groups(shared):
            base = None
            if common:
                base = (new_cache(self.model), common)
                self.prefill(group[0][:common], base[0])
            for context in group:
                indices = by_context[context]
                for index, score in zip(indices, self._score_shared(context, [items[i].continuation for i in indices],
                                                                    base), strict=True):
                    results[index] = score
                report_backend_progress(requests=len(indices))
        for index, score in self._score_batched([(i, items[i]) for i in singles]).items():
            results[index] = score
        return [r for r in results if r is not None]

    # -- one input per item ------------------------------------------------------------------
    def _inputs(self, item: TokenItem) -> list[int]:
        # Left-truncate to the model's context, as lm-eval does.
        return list(item.context + item.continuation)[-(self.max_length + 1):][:-1]

    def _score_batched(self, indexed: list[tuple[int, TokenItem]]) -> dict[int, TokenScore]:
        out: dict[int, TokenScore] = {}
        budget = self.budget
        n_inputs = {index: min(len(item.context) + len(item.continuation) - 1, self.max_length) for index, item in indexed}
        indexed = sorted(indexed, key=lambda pair: (-n_inputs[pair[0]], pair[0]))
        batch: list[tuple[int, TokenItem]] = []
        # The batch's longest input (its first, longest first), longest continuation and earliest scored position.
        width = scored = first_scored = 0
        for index, item in indexed:
            n_scored = len(item.continuation)
            if n_inputs[index] > budget.segment_tokens or n_scored > budget.logit_rows:
                out[index] = self._score_segmented(item)
                report_backend_progress(requests=1)
                continue
            if batch:
                rows, scored = len(batch) + 1, max(scored, n_scored)
                first_scored = min(first_scored, n_inputs[index] - n_scored)
                # Right padding keeps logits from the earliest scored position of any row to the end.
                kept = width - first_scored if budget.right_padding else scored
                full = rows > budget.max_batch or rows * width > budget.batch_tokens or rows * kept > budget.logit_rows
                if full or n_inputs[index] < budget.min_fill * width:
                    out.update(self._run_left_padded(batch))
                    report_backend_progress(requests=len(batch))
                    batch = []
            if not batch:
                width, scored, first_scored = n_inputs[index], n_scored, n_inputs[index] - n_scored
            batch.append((index, item))
        if batch:
            out.update(self._run_left_padded(batch))
            report_backend_progress(requests=len(batch))
        return out

    def _run_left_padded(self, batch: list[tuple[int, TokenItem]]) -> dict[int, TokenScore]:
        inputs = [self._inputs(item) for _, item in batch]
        width = max(len(row) for row in inputs)
        if self.budget.right_padding:
            return self._run_right_padded(batch, inputs, width)
        # One tensor from padded lists: hundreds of short rows cost one conversion, not one per row.
        ids = torch.tensor([[self.pad_token_id] * (width - len(row)) + row for row in inputs], dtype=torch.long)
        lengths = torch.tensor([len(row) for row in inputs])
        mask = (torch.arange(width) >= (width - lengths).unsqueeze(1)).long()
        positions = (mask.cumsum(dim=1) - 1).clamp(min=0)
        keep = max(len(item.continuation) for _, item in batch)
        logits = self._forward(ids, int(mask.sum()), attention_mask=mask.to(self.device), position_ids=positions.to(self.device),
                               logits_to_keep=keep)
        scores = score_block(logits, [item.continuation for _, item in batch],
                              [keep - len(item.continuation) for _, item in batch])
        return {index: score for (index, _), score in zip(batch, scores, strict=True)}

    def _run_right_padded(self, batch: list[tuple[int, TokenItem]], inputs: list[list[int]], width: int) -> dict[int, TokenScore]:
        """No attention mask: each row's real tokens come first and never attend to the pads after them, so the
        causal kernel runs; logits are kept from the earliest position any row scores."""
        ids = torch.tensor([row + [self.pad_token_id] * (width - len(row)) for row in inputs], dtype=torch.long)
        starts = [len(row) - len(item.continuation) for row, (_, item) in zip(inputs, batch, strict=True)]
        keep = width - min(starts)
        logits = self._forward(ids, sum(len(row) for row in inputs), logits_to_keep=keep)
        scores = score_block(logits, [item.continuation for _, item in batch], [start - (width - keep) for start in starts])
        return {index: score for (index, _), score in zip(batch, scores, strict=True)}

    def _score_segmented(self, item: TokenItem) -> TokenScore:
        inputs = self._inputs(item)
        n = len(item.continuation)
        if n > len(inputs):
            raise ValueError(f"continuation of {n} tokens exceeds the model's context of {self.max_length}")
        first_scored = len(inputs) - n  # input position whose logits predict continuation[0]
        cache = new_cache(self.model)
        pieces = []
        for start in range(0, len(inputs), self.budget.segment_tokens):
            segment = inputs[start:start + self.budget.segment_tokens]
            keep = len(segment) - max(first_scored - start, 0)
            logits = self._forward(torch.tensor([segment]), len(segment), use_cache=True, logits_to_keep=max(keep, 1),
                                   **{self.cache_kw: cache})
            if keep > 0:
                pieces.append(logits[0, -keep:])
        total, greedy = _score_rows(torch.cat(pieces), torch.tensor(item.continuation, device=pieces[0].device))
        return TokenScore(total, greedy, n)

    def score_per_token(self, item: TokenItem) -> tuple[TokenScore, dict[str, list[float]]]:
        """One item scored segment by segment, with per-token values for membership tests (Min-K%,
        Min-K%++): the log-probability of each continuation token, and the mean and standard deviation of
        the log-probability under the model's next-token distribution at that position."""
        inputs = self._inputs(item)
        n = len(item.continuation)
        first_scored = len(inputs) - n
        cache = new_cache(self.model)
        columns: dict[str, list[float]] = {"token_logprobs": [], "token_mu": [], "token_sigma": []}
        total, greedy, offset = 0.0, True, 0
        for start in range(0, len(inputs), self.budget.segment_tokens):
            segment = inputs[start:start + self.budget.segment_tokens]
            keep = len(segment) - max(first_scored - start, 0)
            logits = self._forward(torch.tensor([segment]), len(segment), use_cache=True, logits_to_keep=max(keep, 1),
                                   **{self.cache_kw: cache})
            if keep <= 0:
                continue
            targets = torch.tensor(item.continuation[offset:offset + keep], device=logits.device)
            offset += keep
            logprobs = torch.log_softmax(logits[0, -keep:].float(), dim=-1)
            picked = logprobs.gather(1, targets.unsqueeze(1)).squeeze(1)
            probs = logprobs.exp()
            mu = (probs * logprobs).sum(dim=-1)
            sigma = ((probs * logprobs.square()).sum(dim=-1) - mu.square()).clamp(min=1e-12).sqrt()
            total += picked.sum().item()
            greedy = greedy and bool((logprobs.argmax(dim=-1) == targets).all().item())
            for name, values in (("token_logprobs", picked), ("token_mu", mu), ("token_sigma", sigma)):
                columns[name].extend(round(v, 5) for v in values.tolist())
        return TokenScore(total, greedy, n), columns

    # -- shared context ------------------------------------------------------------------------
    def prefill(self, tokens: Sequence[int], cache: Any) -> torch.Tensor:
        """Feed tokens into `cache` in segments; the logits of the last position."""
        logits = None
        for start in range(0, len(tokens), self.budget.segment_tokens):
            segment = list(tokens[start:start + self.budget.segment_tokens])
            logits = self._forward(torch.tensor([segment]), len(segment), use_cache=True, logits_to_keep=1,
                                   **{self.cache_kw: cache})
        assert logits is not None, "prefill needs at least one token"
        return logits[0, -1]

    def _prefix_groups(self, contexts: list[tuple[int, ...]]) -> list[tuple[list[tuple[int, ...]], int]]:
        """Contexts in token order, in runs sharing at least MIN_SHARED_PREFIX leading tokens, each run with the
        length of its common prefix (0: run each context on its own)."""
        if not self.share_document_prefix:
            return [([context], 0) for context in contexts]
        groups: list[tuple[list[tuple[int, ...]], int]] = []
        for context in sorted(contexts):
            if groups:
                group, common = groups[-1]
                # In token order, the run's common prefix is the smallest common prefix of neighbours.
                joint = min(common or len(group[0]) - 1, common_prefix_length(group[-1], context), len(context) - 1)
                if self.invariant:
                    joint = aligned(joint)
                if joint >= MIN_SHARED_PREFIX:
                    group.append(context)
                    groups[-1] = (group, joint)
                    continue
            groups.append(([context], 0))
        return groups

    def _score_shared(self, context: tuple[int, ...], continuations: list[tuple[int, ...]],
                      base: tuple[Any, int] | None = None) -> list[TokenScore]:
        """`base`: a KV cache holding the first n tokens of `context` (a prefix shared with other contexts)."""
        if base is None:
            prefix_cache = new_cache(self.model)
            self.prefill(context[:-1], prefix_cache)
        else:
            prefix_cache = copy.deepcopy(base[0])
            if len(context) - 1 > base[1]:
                self.prefill(context[base[1]:-1], prefix_cache)
        prefix_len = len(context) - 1
        # Each continuation reads the context's last token and its own tokens but the last.
        suffixes = [[context[-1], *cont[:-1]] for cont in continuations]
        scores: list[TokenScore] = []
        widest = max(len(s) for s in suffixes)
        budget = self.budget
        step = max(1, min(budget.max_batch, budget.logit_rows // widest, budget.batch_tokens // widest,
                          budget.kv_tokens // (prefix_len + widest)))
        for start in range(0, len(suffixes), step):
            chunk = suffixes[start:start + step]
            width = max(len(s) for s in chunk)
            ids = torch.full((len(chunk), width), self.pad_token_id, dtype=torch.long)
            mask = torch.zeros((len(chunk), prefix_len + width), dtype=torch.long)
            mask[:, :prefix_len] = 1
            for row, tokens in enumerate(chunk):
                ids[row, :len(tokens)] = torch.tensor(tokens)
                mask[row, prefix_len:prefix_len + len(tokens)] = 1
            # Right padding: real tokens never attend to the pads after them, so positions stay plain.
            cache = copy.deepcopy(prefix_cache)
            cache.batch_repeat_interleave(len(chunk))
            logits = self._forward(ids, sum(len(s) for s in chunk), attention_mask=mask.to(self.device), use_cache=True,
                                   **{self.cache_kw: cache})
            scores += score_block(logits, continuations[start:start + step], [0] * len(chunk))
        return scores
