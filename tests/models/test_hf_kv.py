"""The in-place growing KV cache layer (hf_kv.py) holds exactly what transformers' DynamicLayer holds, through
appends, crops, row selection and repeats, and its row appends / column compaction keep each row's attended
keys and values in order."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from transformers.cache_utils import DynamicLayer  # noqa: E402

from assay.models import hf_kv  # noqa: E402
from assay.models.hf_kv import GrowingLayer, compact  # noqa: E402


def states(rows: int, columns: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    return (torch.randn((rows, 2, columns, 3), generator=generator),
            torch.randn((rows, 2, columns, 3), generator=generator))


def test_growing_layer_matches_dynamic_layer(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hf_kv, "GROW_TOKENS", 4)  # enlarge the buffers often
    mine, theirs = GrowingLayer(), DynamicLayer()
    seed = 0

    def step(columns: int) -> None:
        nonlocal seed
        seed += 1
        keys, values = states(mine.keys.shape[0] if mine.is_initialized else 1, columns, seed)
        got, want = mine.update(keys, values), theirs.update(keys, values)
        assert torch.equal(got[0], want[0]) and torch.equal(got[1], want[1])

    step(5)
    mine.batch_repeat_interleave(3)
    theirs.batch_repeat_interleave(3)
    for columns in (1, 1, 7, 1, 1, 1, 1, 1, 1):
        step(columns)
    mine.crop(-4)
    theirs.crop(-4)
    step(2)
    keep = torch.tensor([2, 0])
    mine.batch_select_indices(keep)
    theirs.batch_select_indices(keep)
    for _ in range(6):
        step(1)
    assert mine.get_seq_length() == theirs.get_seq_length() == 5 + 7 + 8 - 4 + 2 + 6
    assert torch.equal(mine.keys, theirs.keys) and torch.equal(mine.values, theirs.values)


def test_append_rows_and_compact_keep_attended_columns_in_order() -> None:
    layer = GrowingLayer()
    keys, values = states(2, 6, seed=1)
    layer.update(keys, values)
    new_keys, new_values = states(1, 4, seed=2)
    layer.append_rows(new_keys, new_values)  # a shorter row: zero-filled after its 4 columns
    assert layer.keys.shape == (3, 2, 6, 3)
    assert torch.equal(layer.keys[2, :, :4], new_keys[0]) and not layer.keys[2, :, 4:].any()
    layer.pad_columns(8)
    assert layer.get_seq_length() == 8 and not layer.values[:, :, 6:].any()

    mask = torch.tensor([[0, 1, 1, 0, 1, 1, 0, 0],
                         [1, 1, 1, 1, 1, 1, 0, 0],
                         [1, 0, 1, 1, 0, 0, 0, 0]])

    class Cache:
        layers = [layer]

    before = layer.keys.clone()
    new_mask = compact(Cache(), mask)
    assert new_mask.tolist() == [[0, 0, 1, 1, 1, 1], [1, 1, 1, 1, 1, 1], [0, 0, 0, 1, 1, 1]]
    for row in range(3):
        attended = before[row][:, mask[row].bool()]
        assert torch.equal(layer.keys[row][:, new_mask[row].bool()], attended)
    # The compacted layer still grows in place.
    more_keys, more_values = states(3, 1, seed=3)
    layer.update(more_keys, more_values)
    assert torch.equal(layer.keys[:, :, -1], more_keys[:, :, 0])
