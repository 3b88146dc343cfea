"""Prompt-lookup drafts (hf_draft.py): the tokens after the latest earlier occurrence of the longest tail
n-gram, and the decoder's mask bookkeeping for drafts it accepted or rejected."""

from __future__ import annotations

import pytest

from assay.models.hf_draft import DraftIndex

torch = pytest.importorskip("torch")


def test_draft_follows_the_latest_occurrence_of_the_longest_tail() -> None:
    index = DraftIndex([5, 1, 2, 3, 9, 9, 1, 2, 3, 7, 8, 4, 2, 3])
    # Tail (4, 2, 3) never occurred before, (2, 3) did: last at 7..8, followed by 7, 8, 4, ...
    assert index.draft(3) == [7, 8, 4]
    assert index.draft(0) == []
    index.append(7)  # tail (2, 3, 7) occurred at 7..9, followed by 8, 4, 2, 3, 7 (the sequence itself)
    assert index.draft(10) == [8, 4, 2, 3, 7]
    assert DraftIndex([1, 2, 3]).draft(4) == []  # no earlier occurrence of any tail
    assert DraftIndex([]).draft(4) == []
    assert DraftIndex([6, 6]).draft(4) == [6]  # the one-token tail 6 occurred at 0, followed by the last token


def test_draft_matches_a_brute_force_search() -> None:
    import random

    rng = random.Random(3)
    tokens = [rng.randrange(4) for _ in range(300)]
    index = DraftIndex(tokens[:1])
    for end in range(2, len(tokens) + 1):
        index.append(tokens[end - 1])
        seq = tokens[:end]
        expected: list[int] = []
        for n in (3, 2, 1):
            if len(seq) < n:
                continue
            starts = [s for s in range(len(seq) - n) if seq[s:s + n] == seq[-n:]]
            if starts:
                expected = seq[starts[-1] + n:starts[-1] + n + 5]
                break
        assert index.draft(5) == expected, end


def test_mask_after_step_keeps_the_last_token_and_accepted_drafts() -> None:
    from assay.models.hf_batch_generate import mask_after_step

    mask = torch.tensor([[0, 1], [1, 1]])
    # Row 0 got 1 token (no draft accepted), row 1 got 3 (two drafts accepted) from a pass of 4 inputs per row.
    assert mask_after_step(mask, [[7], [4, 5, 6]], 4).tolist() == [[0, 1, 1, 0, 0, 0], [1, 1, 1, 1, 1, 0]]
