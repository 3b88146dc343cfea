"""Batch invariance, as a property: a request's log-likelihood (to the last bit), greedy flag and greedy text do
not depend on what else shares its forward passes (hf_row_invariant.py).

The kernel facts the construction rests on are checked first on the installed torch; then 40 real requests
(short multiple-choice contexts on the two-pass path, long shared contexts, single contexts, direct and
3-shot chain-of-thought generation sharing a few-shot prefix) run on the embedded model under batch sizes 1,
3, 8 and 32, shuffled and cut into calls of different sizes, with prefix reuse off, and are compared byte for
byte with one call holding them all. tests/executors/test_ray_executor.py checks the same across --limit and
1-3 Ray workers.
"""

from __future__ import annotations

import dataclasses
import itertools
import random
from collections.abc import Iterator, Sequence
from typing import Any

import pytest
import torch
import torch.nn.functional as F

from assay.data_paths import default_data_dir
from assay.models.hf_row_invariant import MIN_QUERIES, ROW_MULTIPLE
from assay.tasks import get_task
from assay.tasks.base import TaskContext
from assay.types import GenerateRequest, LoglikelihoodRequest, Request


@pytest.mark.parametrize("threads", [1, 2])
def test_linear_rows_do_not_depend_on_how_many_rows_share_the_product(threads: int) -> None:
    """The first fact: a product's row is the same at any multiple of ROW_MULTIPLE rows (fewer than four rows,
    or five or seven on two threads, take other kernels, which is why rows are padded)."""
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        generator = torch.Generator().manual_seed(0)
        for n_in, n_out in ((576, 1536), (1536, 576), (576, 4096)):
            weight = torch.randn(n_out, n_in, generator=generator)
            x = torch.randn(512, n_in, generator=generator)
            whole = F.linear(x, weight)
            for rows in range(ROW_MULTIPLE, 513, ROW_MULTIPLE):
                assert torch.equal(F.linear(x[:rows], weight), whole[:rows]), (n_in, n_out, rows)
    finally:
        torch.set_num_threads(previous)


def test_attention_queries_do_not_depend_on_how_many_queries_share_the_call() -> None:
    """The second fact: with its keys fixed, a query's attention is the same in a block of MIN_QUERIES or more."""
    generator = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(1, 9, 300, 64, generator=generator) for _ in range(3))
    keys = 300
    for last in (63, 150, 299):
        outputs = []
        for n in (MIN_QUERIES, MIN_QUERIES + 1, 16, 64):
            positions = torch.arange(last - n + 1, last + 1)
            mask = torch.arange(keys).unsqueeze(0) <= positions.unsqueeze(1)
            out = F.scaled_dot_product_attention(q[:, :, last - n + 1:last + 1], k, v, attn_mask=mask)
            outputs.append(out[:, :, -1])
        assert all(torch.equal(out, outputs[0]) for out in outputs)


@pytest.fixture(scope="module")
def embedded() -> Iterator[Any]:
    from assay.models import load_model

    model = load_model("embedded")
    yield model
    model.close()


def _requests(model: Any) -> list[list[Request]]:
    """40 requests in samples (a sample's requests always travel together, as the runner sends them)."""
    ctx = TaskContext(data_dir=default_data_dir())
    ctx.tokenizer, ctx.max_context = model.tokenizer(), model.max_context

    def take(name: str, start: int, count: int) -> list[list[Request]]:
        task = get_task(name)
        return [task.requests(sample) for sample in itertools.islice(task.samples(ctx), start, start + count)]

    mc = take("arith_mc", 0, 6)  # 24 choices, contexts under 64 tokens: the two-pass path
    singles = [[sample[0]] for sample in take("arith_mc", 6, 4)]  # one choice each: a context of its own
    musr = take("musr:murder_mysteries", 0, 1)  # a long context shared by its 2 choices
    direct = take("bbh_direct:boolean_expressions", 0, 8)
    # Two 3-shot chains of thought share their few-shot prefix (prefix reuse); shortened to keep the test quick.
    cot = [[dataclasses.replace(r, max_tokens=48) for r in sample]
           for sample in take("bbh_cot:boolean_expressions", 0, 2)]
    samples = mc + singles + musr + direct + cot
    assert sum(len(s) for s in samples) == 40
    assert all(isinstance(r, LoglikelihoodRequest) for s in mc + singles + musr for r in s)
    return samples


def _answer(model: Any, samples: Sequence[list[Request]]) -> dict[Request, tuple[Any, ...]]:
    requests = [r for sample in samples for r in sample]
    scored = [r for r in requests if isinstance(r, LoglikelihoodRequest)]
    generated = [r for r in requests if isinstance(r, GenerateRequest)]
    out: dict[Request, tuple[Any, ...]] = {}
    if scored:
        out.update((r, ("ll", a.logprob.hex() if a.logprob is not None else None, a.is_greedy, a.error))
                   for r, a in zip(scored, model.loglikelihood(scored), strict=True))
    if generated:
        out.update((r, ("gen", a.text, a.error)) for r, a in zip(generated, model.generate(generated), strict=True))
    return out


@pytest.mark.slow
def test_forty_requests_give_the_same_bytes_whatever_shares_their_batch(embedded: Any) -> None:
    model = embedded
    samples = _requests(model)
    budget, batch_size = model.scorer.budget, model.generator.batch_size
    assert budget.batch_invariant and budget.shared_context_tokens > 2, "the CPU budget's two-pass path is on"
    reference = _answer(model, samples)
    assert all(answer[1] not in (None, "") and answer[-1] is None for answer in reference.values())
    rng = random.Random(7)
    try:
        for size in (1, 3, 8, 32):
            model.scorer.budget = dataclasses.replace(budget, max_batch=size)
            model.generator.batch_size = size
            order = list(samples)
            rng.shuffle(order)
            got: dict[Request, tuple[Any, ...]] = {}
            start = 0
            while start < len(order):  # calls of 1 to `size` samples: any --limit, any chunk
                step = rng.randint(1, size)
                got.update(_answer(model, order[start:start + step]))
                start += step
            assert got == reference, f"batch size {size}: {sum(got[r] != reference[r] for r in reference)} differ"
        model.scorer.share_document_prefix = model.generator.reuse_prefix = False  # the KV prefix cache off
        assert _answer(model, samples[::-1]) == reference
    finally:
        model.scorer.budget, model.generator.batch_size = budget, batch_size
        model.scorer.share_document_prefix = model.generator.reuse_prefix = True
