"""Text generation with shared-prefix KV reuse.

Long-context grids send many prompts that share long token prefixes (one haystack, the needle at
different depths). Prompts are run in token-id order so those sharing a prefix are neighbours;
the KV cache of the previous prompt is cropped to the longest common token prefix with the next
one and only the remainder is prefilled. Decoding itself is a plain loop: greedy (argmax) at
temperature 0, otherwise sampling from softmax(logits / T) with a torch.Generator seeded by the
request, so every output is reproducible and independent of batch order. Greedy prompts that share
no long prefix with their neighbours are instead decoded in continuous batches of at most
`batch_size` rows (hf_batch_generate.py); batch_size 1 turns that off. Both paths keep the KV cache
in buffers that grow in place (hf_kv.py) when the model's layers allow it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

from assay.models.base import report_backend_progress
from assay.models.hf_row_invariant import aligned, decoding_step
from assay.models.hf_scoring import Scorer, new_cache
from assay.models.hf_tokenizer import HFTokenizer


@dataclass(frozen=True)
class GenerationJob:
    prompt_tokens: tuple[int, ...]
    until: tuple[str, ...]
    max_tokens: int
    temperature: float
    seed: int | None


@dataclass
class GenerationResult:
    text: str
    n_tokens: int
    finish_reason: str  # "stop" (an `until` string), "eos", or "length" (max_tokens / context full)


def common_prefix_length(a: Sequence[int], b: Sequence[int]) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def _first_stop(text: str, until: Sequence[str]) -> int | None:
    positions = [text.find(stop) for stop in until if stop]
    found = [p for p in positions if p >= 0]
    return min(found) if found else None


def advance(tokenizer: HFTokenizer, eos_token_ids: set[int], until: Sequence[str], generated: list[int], token: int,
            budget: int) -> GenerationResult | None:
    """Append one new token to a sequence: its result once it stops (EOS, a stop string, the budget), else None."""
    if token in eos_token_ids:
        return GenerationResult(tokenizer.decode_output(generated), len(generated), "eos")
    generated.append(token)
    text = tokenizer.decode_output(generated)
    stop_at = _first_stop(text, until)
    if stop_at is not None:
        return GenerationResult(text[:stop_at], len(generated), "stop")
    if len(generated) >= budget:
        return GenerationResult(text, len(generated), "length")
    return None


def _croppable(cache: Any) -> bool:
    """Only plain full-attention layers can be cropped back to a prefix (sliding-window and
    linear-attention layers forget what they would need)."""
    from transformers.cache_utils import DynamicLayer

    from assay.models.hf_kv import GrowingLayer

    layers = getattr(cache, "layers", None)
    return bool(layers) and all(type(layer) in (DynamicLayer, GrowingLayer) for layer in layers)


class PrefixCachingGenerator:
    def __init__(self, scorer: Scorer, tokenizer: HFTokenizer, eos_token_ids: set[int], reuse_prefix: bool = True,
                 batch_size: int = 8) -> None:
        self.scorer = scorer
        self.tokenizer = tokenizer
        self.eos_token_ids = eos_token_ids
        self.reuse_prefix = reuse_prefix
        self.batch_size = batch_size
        self._cache: Any = None
        self._cached_tokens: list[int] = []  # the tokens whose keys/values are in _cache, in order
        self._prompt_tokens = 0  # how many of them were prefilled as a prompt (the rest were generated)
        self.stats = {"computed": 0, "naive": 0}

    def release(self) -> None:
        self._cache, self._cached_tokens = None, []

    def run(self, jobs: Sequence[GenerationJob]) -> list[GenerationResult]:
        from assay.models.hf_batch_generate import BatchedGreedyDecoder, batch_groups

        results: dict[int, GenerationResult] = {}
        decoder = BatchedGreedyDecoder(self.scorer, self.tokenizer, self.eos_token_ids, self.batch_size,
                                       self.reuse_prefix)
        # Row-invariant, batch_size 1 still decodes through the batched path (one row at a time): the same passes.
        for batch in batch_groups(jobs, self.scorer.budget) if self.batch_size > 1 or self.scorer.invariant else []:
            prompts = [jobs[i].prompt_tokens for i in batch if decoder.budget(jobs[i]) > 0]
            shared = decoder.shared_tokens(prompts)
            self.stats["naive"] += sum(len(p) for p in prompts)
            self.stats["computed"] += shared + sum(len(p) - shared for p in prompts)
            results.update(zip(batch, decoder.run([jobs[i] for i in batch]), strict=True))
        order = sorted((i for i in range(len(jobs)) if i not in results), key=lambda i: (jobs[i].prompt_tokens, i))
        for index in order:
            results[index] = self._generate(jobs[index])
            report_backend_progress(requests=1)
        return [results[i] for i in range(len(jobs))]

    def _prefill(self, prompt: Sequence[int]) -> torch.Tensor:
        from assay.models.hf_kv import growing_cache

        self.stats["naive"] += len(prompt)
        reused = 0
        if self.reuse_prefix and self._cache is not None and _croppable(self._cache):
            # Keep at least one prompt token to run: its logits start the generation.
            reused = min(common_prefix_length(self._cached_tokens, prompt), len(prompt) - 1)
            if self.scorer.invariant:  # only keys computed as a prompt's, cut where sharing changes no number
                reused = aligned(min(reused, self._prompt_tokens))
        if reused == 0:
            self._cache, self._cached_tokens = growing_cache(self.scorer.model) or new_cache(self.scorer.model), []
        elif reused < len(self._cached_tokens):
            self._cache.crop(reused - len(self._cached_tokens))  # negative: tokens to drop from the end
            del self._cached_tokens[reused:]
        self.stats["computed"] += len(prompt) - reused
        self._prompt_tokens = len(prompt)
        logits = self.scorer.prefill(prompt[reused:], self._cache)
        self._cached_tokens.extend(prompt[reused:])
        return logits

    def _step(self, token: int) -> torch.Tensor:
        with decoding_step():  # row-invariant: one query, as the batched decoder's steps run theirs
            logits = self.scorer.prefill([token], self._cache)
        self._cached_tokens.append(token)
        return logits

    def _generate(self, job: GenerationJob) -> GenerationResult:
        budget = min(job.max_tokens, self.scorer.max_length - len(job.prompt_tokens))
        if budget <= 0:
            return GenerationResult("", 0, "length")
        logits = self._prefill(job.prompt_tokens)
        sampler = None
        if job.temperature > 0:
            sampler = torch.Generator(device="cpu").manual_seed(job.seed if job.seed is not None else 0)
        generated: list[int] = []
        while True:
            if sampler is None:
                token = int(logits.argmax().item())
            else:
                probs = torch.softmax(logits.float().cpu() / job.temperature, dim=-1)
                token = int(torch.multinomial(probs, 1, generator=sampler).item())
            result = advance(self.tokenizer, self.eos_token_ids, job.until, generated, token, budget)
            if result is not None:
                return result
            logits = self._step(token)
