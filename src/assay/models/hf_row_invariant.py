"""Forward passes whose per-row numbers do not depend on the batch (the CPU budget's way).

A row's log-likelihoods and greedy tokens must be bit-identical whatever else shares its forward pass:
any batch size, --limit, order or Ray shard. Three things in a plain transformers forward break that on
CPU, each measured with torch 2.13's MKL/oneDNN kernels (tests/models/test_row_invariance.py re-checks
them on the installed torch):

- matrix products take another kernel for fewer than four rows (and, on two threads, for five or seven):
  every linear layer here gets a multiple of ROW_MULTIPLE rows, padded with zero rows;
- attention over a padded batch reduces over the batch's width, and SDPA's result for a query changes
  with the number of keys it is handed, even masked ones: here each row's attention runs on its own real
  tokens only (gathered through the mask), its queries in blocks aligned at absolute positions
  (QUERY_BLOCK), each block given exactly the keys up to its last query (in a decoding step each query is
  its own block). A query's numbers then depend on its row's tokens and on where the call that computed it
  ended, never on padding or other rows; a prefix computed once and shared (cut at a multiple of
  QUERY_BLOCK) gives the same numbers as computing it again;
- fewer than four queries in one SDPA call take another kernel as well: blocks are padded to MIN_QUERIES
  with copies of their last query (except a decoding step's, always one query, one kernel).

The switch is per call (`row_invariant()`), so the same in-memory model still runs plain SDPA elsewhere
(lm-evaluation-harness wraps it in the parity benchmark). On a GPU none of this is used: see docs/gpu.md.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

import torch
import torch.nn.functional as F

ATTENTION_NAME = "assay_row_invariant"
ROW_MULTIPLE = 8
QUERY_BLOCK = 64
MIN_QUERIES = 8

_state = threading.local()


def _active() -> bool:
    return bool(getattr(_state, "on", False))


@contextlib.contextmanager
def row_invariant(enabled: bool = True) -> Iterator[None]:
    """Within this block, forward passes of models prepared by `prepare` are row-invariant."""
    previous = _active()
    _state.on = enabled
    try:
        yield
    finally:
        _state.on = previous


@contextlib.contextmanager
def decoding_step() -> Iterator[None]:
    """Within this block every query gets exactly the keys up to itself: a decoding step's numbers then do not
    depend on how many draft tokens it checks (which depends on how many rows decode together)."""
    _state.per_query = True
    try:
        yield
    finally:
        _state.per_query = False


def aligned(tokens: int) -> int:
    """A shared-prefix length cut down to a query-block boundary, where sharing leaves every number unchanged."""
    return tokens - tokens % QUERY_BLOCK


def _blocks(first: int, end: int) -> Iterator[tuple[int, int]]:
    """Query blocks [start, stop) of positions first..end-1, each given the keys before `stop`: one query each in a
    decoding step (however many draft tokens the step checks), else blocks aligned at QUERY_BLOCK."""
    if getattr(_state, "per_query", False):
        yield from ((position, position + 1) for position in range(first, end))
        return
    stop = first
    while stop < end:
        start, stop = stop, min(end, (stop // QUERY_BLOCK + 1) * QUERY_BLOCK)
        yield start, stop


def _same_shape_attention(query: torch.Tensor, key: torch.Tensor, value: torch.Tensor, scaling: float | None,
                          groups: int) -> torch.Tensor:
    """Rows holding only real tokens, all of one shape: query (rows, heads, q, dim), key/value (rows, kv heads, k,
    dim), the queries being the last q tokens. SDPA computes each (row, head) on its own, so rows of one shape can
    share a call. Returns (rows, q, heads, dim)."""
    q_len, n_real = query.shape[2], key.shape[2]
    first = n_real - q_len  # absolute position of the first query
    out = query.new_empty(query.shape[0], q_len, query.shape[1], query.shape[3])
    per_query = getattr(_state, "per_query", False)
    for start, stop in _blocks(first, n_real):
        block = query[:, :, start - first:stop - first]
        allowed = None  # one query (a decoding step's): every key it is given is before it
        if not per_query:
            positions = torch.arange(start, stop, device=key.device)
            if stop - start < MIN_QUERIES:
                extra = MIN_QUERIES - (stop - start)
                block = torch.cat([block, block[:, :, -1:].expand(-1, -1, extra, -1)], dim=2)
                positions = torch.cat([positions, positions[-1:].expand(extra)])
            allowed = torch.arange(stop, device=key.device).unsqueeze(0) <= positions.unsqueeze(1)
        result = F.scaled_dot_product_attention(block, key[:, :, :stop], value[:, :, :stop], attn_mask=allowed,
                                                scale=scaling, enable_gqa=groups > 1)
        out[:, start - first:stop - first] = result[:, :, :stop - start].transpose(1, 2)
    return out


def _attention(module: Any, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor,
               attention_mask: torch.Tensor | None, dropout: float = 0.0, scaling: float | None = None,
               **kwargs: Any) -> tuple[torch.Tensor, None]:
    from transformers.integrations.sdpa_attention import sdpa_attention_forward

    if not _active():
        return sdpa_attention_forward(module, query, key, value, attention_mask, dropout=dropout, scaling=scaling,
                                      **kwargs)
    groups = query.shape[1] // key.shape[1]
    rows, q_len, k_len = query.shape[0], query.shape[2], key.shape[2]
    if attention_mask is None:  # every token real
        return _same_shape_attention(query, key, value, scaling, groups), None
    # The last query's mask row sees every real key (left padding: it is the newest token; right padding: a pad,
    # which transformers' mask lets see the real keys before it).
    key_is_real = attention_mask[:, 0, -1, :]
    query_is_real = key_is_real[:, k_len - q_len:]
    out = query.new_zeros(rows, q_len, query.shape[1], query.shape[3])
    by_shape: dict[tuple[int, int], list[int]] = {}
    for row, shape in enumerate(zip(key_is_real.sum(dim=1).tolist(), query_is_real.sum(dim=1).tolist(), strict=True)):
        if shape[1]:
            by_shape.setdefault(shape, []).append(row)
    for members in by_shape.values():
        real_keys = [key_is_real[row].nonzero().squeeze(1) for row in members]
        real_queries = [query_is_real[row].nonzero().squeeze(1) for row in members]
        keys = torch.stack([key[row].index_select(1, index) for row, index in zip(members, real_keys, strict=True)])
        values = torch.stack([value[row].index_select(1, index) for row, index in zip(members, real_keys, strict=True)])
        queries = torch.stack([query[row].index_select(1, index)
                               for row, index in zip(members, real_queries, strict=True)])
        result = _same_shape_attention(queries, keys, values, scaling, groups)
        for member, row in enumerate(members):
            out[row].index_copy_(0, real_queries[member], result[member])
    return out, None


def _padded_linear(forward: Any) -> Any:
    def run(x: torch.Tensor) -> torch.Tensor:
        if not _active():
            return forward(x)  # type: ignore[no-any-return]
        flat = x.reshape(-1, x.shape[-1])
        rows = flat.shape[0]
        target = max(ROW_MULTIPLE, -(-rows // ROW_MULTIPLE) * ROW_MULTIPLE)
        if target != rows:
            flat = torch.cat([flat, flat.new_zeros(target - rows, flat.shape[1])])
        out = forward(flat)[:rows]
        return out.reshape(*x.shape[:-1], out.shape[-1])  # type: ignore[no-any-return]
    return run


def prepare(model: Any) -> bool:
    """Route the model's attention and linear layers through the row-invariant versions (used only inside
    `row_invariant()`). False when the model's attention is not the standard kind this can replace."""
    if getattr(model, "_assay_row_invariant", False):
        return True
    if getattr(model.config, "_attn_implementation", None) != "sdpa":
        return False
    from transformers import AttentionInterface, AttentionMaskInterface
    from transformers.masking_utils import sdpa_mask

    AttentionInterface.register(ATTENTION_NAME, _attention)
    AttentionMaskInterface.register(ATTENTION_NAME, sdpa_mask)
    model.set_attn_implementation(ATTENTION_NAME)
    for module in model.modules():
        if isinstance(module, torch.nn.Linear):
            module.forward = _padded_linear(module.forward)
    model._assay_row_invariant = True
    return True
