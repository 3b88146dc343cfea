"""A KV cache for decoding loops that grows in place and takes new rows.

transformers' DynamicLayer concatenates each layer's whole cache with every new token, a copy of
all keys and values per step (a fifth of CPU decoding time on a 530-token few-shot prompt). Here a
layer's keys and values are views of buffers with spare room, so a step writes one column and the
buffers are copied only every GROW_TOKENS steps. For continuous batching, rows can be dropped
(`batch_select_indices`) and appended (`append_rows`, the keys and values of newly prefilled
prompts), and columns masked out in every row can be squeezed out (`compact`). Which columns a row
attends to is its attention-mask row; positions are explicit, so the columns' order does not matter.
"""

from __future__ import annotations

from typing import Any

import torch
from transformers.cache_utils import DynamicLayer

GROW_TOKENS = 64  # spare columns reserved each time a buffer is enlarged


class GrowingLayer(DynamicLayer):
    """A DynamicLayer whose keys/values are views [:, :, :length] of larger buffers."""

    def __init__(self) -> None:
        super().__init__()
        self._key_buffer: torch.Tensor | None = None
        self._value_buffer: torch.Tensor | None = None
        self._length = 0

    def lazy_initialization(self, key_states: torch.Tensor, value_states: torch.Tensor) -> None:
        self.device = key_states.device
        self.is_initialized = True

    def _views(self) -> None:
        assert self._key_buffer is not None and self._value_buffer is not None
        self.keys = self._key_buffer[:, :, :self._length]
        self.values = self._value_buffer[:, :, :self._length]

    def _set(self, keys: torch.Tensor, values: torch.Tensor) -> None:
        self._key_buffer, self._value_buffer, self._length = keys, values, keys.shape[-2]
        self.is_initialized = True
        self.device = keys.device
        self._views()

    def reserve(self, columns: int, like: torch.Tensor) -> None:
        """Room for `columns` columns in all; new room is zero (never NaN under a zero attention weight)."""
        if self._key_buffer is not None and self._key_buffer.shape[-2] >= columns:
            return
        rows, heads, _, dim = like.shape
        keys = torch.zeros((rows, heads, columns + GROW_TOKENS, dim), dtype=like.dtype, device=like.device)
        values = torch.zeros_like(keys)
        if self._length:
            assert self._key_buffer is not None and self._value_buffer is not None
            keys[:, :, :self._length] = self._key_buffer[:, :, :self._length]
            values[:, :, :self._length] = self._value_buffer[:, :, :self._length]
        self._key_buffer, self._value_buffer = keys, values

    def update(self, key_states: torch.Tensor, value_states: torch.Tensor, *args: Any,
               **kwargs: Any) -> tuple[torch.Tensor, torch.Tensor]:
        if not self.is_initialized:
            self.lazy_initialization(key_states, value_states)
        n = key_states.shape[-2]
        self.reserve(self._length + n, key_states)
        assert self._key_buffer is not None and self._value_buffer is not None
        self._key_buffer[:, :, self._length:self._length + n] = key_states
        self._value_buffer[:, :, self._length:self._length + n] = value_states
        self._length += n
        self._views()
        return self.keys, self.values

    def get_seq_length(self) -> int:
        return self._length if self.is_initialized else 0

    def crop(self, tokens_to_remove: int) -> None:
        if tokens_to_remove > 0:
            raise ValueError(f"crop takes a negative count of tokens to remove, got {tokens_to_remove}")
        if tokens_to_remove and self._length:
            self._length = max(self._length + tokens_to_remove, 0)
            self._views()

    def batch_repeat_interleave(self, repeats: int) -> None:
        if self._length:
            self._set(self.keys.repeat_interleave(repeats, dim=0), self.values.repeat_interleave(repeats, dim=0))

    def batch_select_indices(self, indices: torch.Tensor) -> None:
        if self._length:
            assert self._key_buffer is not None and self._value_buffer is not None
            self._key_buffer, self._value_buffer = self._key_buffer[indices], self._value_buffer[indices]
            self._views()

    def reorder_cache(self, beam_idx: torch.LongTensor) -> None:
        self.batch_select_indices(beam_idx.to(self.device))

    def pad_columns(self, columns: int) -> None:
        """Lengthen every row to `columns` columns; the new ones are zero (to be masked out)."""
        if columns > self._length:
            self.reserve(columns, self.keys)
            assert self._key_buffer is not None and self._value_buffer is not None
            self._key_buffer[:, :, self._length:columns] = 0
            self._value_buffer[:, :, self._length:columns] = 0
            self._length = columns
            self._views()

    def append_rows(self, keys: torch.Tensor, values: torch.Tensor) -> None:
        """New rows at the bottom; their keys/values are at most as long as this layer, zero-filled after."""
        n = keys.shape[-2]
        pad = (0, 0, 0, self._length - n)
        self._set(torch.cat([self.keys, torch.nn.functional.pad(keys, pad)], dim=0),
                  torch.cat([self.values, torch.nn.functional.pad(values, pad)], dim=0))

    def gather_columns(self, index: torch.Tensor) -> None:
        """index (rows, width): the columns each row keeps, in order."""
        expanded = index[:, None, :, None].expand(-1, self.keys.shape[1], -1, self.keys.shape[-1])
        self._set(self.keys.gather(2, expanded), self.values.gather(2, expanded))


def growing_cache(model: Any) -> Any | None:
    """A cache whose layers grow in place, or None when the model needs other layer kinds (sliding
    windows, linear attention): those keep transformers' own cache."""
    from assay.models.hf_scoring import new_cache

    cache = new_cache(model)
    layers = getattr(cache, "layers", None)
    if not layers or any(type(layer) is not DynamicLayer for layer in layers):
        return None
    cache.layers = [GrowingLayer() for _ in layers]
    return cache


def layers_of(cache: Any) -> list[GrowingLayer]:
    return list(cache.layers)


def compact(cache: Any, mask: torch.Tensor) -> torch.Tensor:
    """Drop the columns no row attends to beyond the longest row: each row's attended columns move,
    in order, to the right end (left padding). Returns the new mask; `mask` is (rows, columns)."""
    counts = mask.sum(dim=1)
    width = int(counts.max())
    # Stable sort puts masked columns first and keeps attended ones in order; the last `width` are kept.
    order = torch.sort(mask, dim=1, stable=True).indices[:, -width:]
    for layer in layers_of(cache):
        layer.gather_columns(order.to(layer.device))
    return (torch.arange(width) >= (width - counts).unsqueeze(1)).long()
