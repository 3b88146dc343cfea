"""Offset arithmetic of echoed logprobs (pure function, hand-built blocks)."""

from __future__ import annotations

import pytest

from assay.models.openai_logprobs import LogprobsMissing, parse_echo_logprobs


def block(tokens: list[str], logprobs: list[float | None], top: list[dict[str, float] | None] | None = None) -> dict:
    offsets, position = [], 0
    for token in tokens:
        offsets.append(position)
        position += len(token)
    return {"tokens": tokens, "token_logprobs": logprobs, "text_offset": offsets, "top_logprobs": top}


def test_only_continuation_tokens_are_summed_and_generated_tokens_ignored() -> None:
    # prompt "Q: A: yes" = context "Q: A:" (5 chars) + continuation " yes"; " more" was generated.
    data = block(["Q:", " A:", " yes", " more"], [None, -1.0, -0.5, -9.0],
                 [None, {" A:": -1.0}, {" yes": -0.5}, {" x": -0.1}])
    score = parse_echo_logprobs(data, start=5, end=9)
    assert (score.logprob, score.n_tokens, score.is_greedy) == (-0.5, 1, True)


def test_non_greedy_token_and_missing_top_logprobs() -> None:
    data = block(["a", " b", " c"], [None, -2.0, -1.0], [None, {" z": -0.1, " b": -2.0}, {" c": -1.0}])
    assert parse_echo_logprobs(data, 1, 5).is_greedy is False
    data["top_logprobs"] = None
    assert parse_echo_logprobs(data, 1, 5).is_greedy is None


def test_a_token_straddling_the_boundary_is_counted_and_flagged() -> None:
    # context "ab" + continuation "cd": the server merged "bc" into one token.
    score = parse_echo_logprobs(block(["a", "bc", "d"], [None, -1.0, -2.0]), start=2, end=4)
    assert score.logprob == -3.0 and score.meta["boundary_token_straddles_context"] is True


@pytest.mark.parametrize("logprobs", [None, {}, {"tokens": ["a"], "token_logprobs": None, "text_offset": [0]},
                                      {"tokens": ["x"], "token_logprobs": [-1.0], "text_offset": [10]}])
def test_missing_or_unechoed_logprobs_raise(logprobs: object) -> None:
    with pytest.raises(LogprobsMissing):
        parse_echo_logprobs(logprobs, 2, 4)


def test_an_echoed_bos_token_shifts_offsets_and_the_prompt_aligns_them() -> None:
    # vLLM's echo for a model that adds BOS: "<s>" is a token of its own and every offset counts it.
    # prompt "Q: A: yes" = context "Q: A:" + continuation " yes"; " more" was generated.
    data = block(["<s>", "Q:", " A:", " yes", " more"], [None, -3.0, -1.0, -0.5, -9.0])
    assert parse_echo_logprobs(data, start=5, end=9).logprob == -1.5  # unaligned: " A:" taken for the continuation
    aligned = parse_echo_logprobs(data, start=5, end=9, prompt="Q: A: yes")
    assert (aligned.logprob, aligned.n_tokens, aligned.meta["echo_offset_shift"]) == (-0.5, 1, 3)
    rolling = parse_echo_logprobs(data, start=0, end=9, prompt="Q: A: yes")  # BOS no longer eats the first token
    assert (rolling.logprob, rolling.n_tokens, "tokens_without_logprob" in rolling.meta) == (-4.5, 3, False)
    plain = parse_echo_logprobs(block(["Q:", " A:", " yes"], [None, -1.0, -0.5]), 5, 9, prompt="Q: A: yes")
    assert plain.logprob == -0.5 and "echo_offset_shift" not in plain.meta
    odd = parse_echo_logprobs(block(["Q", "x", " yes"], [None, -1.0, -0.5]), 2, 6, prompt="Q: yes")
    assert odd.meta["echo_does_not_spell_the_prompt"] is True
