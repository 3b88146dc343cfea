"""Order sensitivity: a model that memorised the canonical order of a benchmark (its items, or each item's
options) is flagged with a small p-value; a model blind to order shows no difference."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from assay.contamination.items import Item
from assay.contamination.order import example_order_test, option_order_test, options_text
from assay.models.scripted import ScriptedModel
from assay.types import LoglikelihoodRollingRequest, Response, Sample


class MemorisedModel(ScriptedModel):
    """Rolling log-likelihood: -1 per word for a memorised text, -3 per word otherwise."""

    def __init__(self, memorised: set[str]) -> None:
        super().__init__("echo", None)
        self.memorised = memorised

    def loglikelihood_rolling(self, requests: Sequence[LoglikelihoodRollingRequest]) -> list[Response]:
        return [Response(logprob=-(1.0 if r.text in self.memorised else 3.0) * len(r.text.split()),
                         n_tokens=len(r.text.split())) for r in requests]


ITEMS = [Item(str(i), f"Question {i}: what is {i} plus {i + 1}?" + " Explain." * (i % 4)) for i in range(30)]


def test_memorised_item_order_is_flagged_and_order_blind_is_not() -> None:
    shards = {"\n\n".join(item.text for item in ITEMS[start:start + 5]) for start in range(0, 30, 5)}
    flagged = example_order_test(MemorisedModel(shards), ITEMS, shard_size=5, permutations=6)
    assert flagged["n"] == 6 and flagged["share_canonical_more_likely"] == 1.0 and flagged["p_value"] < 0.001
    words = [len(" ".join(i.text for i in ITEMS[start:start + 5]).split()) for start in range(0, 30, 5)]
    assert flagged["mean_difference_nats"] == pytest.approx(2.0 * sum(words) / len(words))
    blind = example_order_test(MemorisedModel(set()), ITEMS, shard_size=5, permutations=6)
    assert blind["mean_difference_nats"] == 0.0 and blind["share_canonical_more_likely"] == 0.0


def test_memorised_option_order_is_flagged() -> None:
    samples = [Sample(id=str(i), input=f"What is {i} + 1?", choices=[str(i + 1), str(i + 2), str(i), str(i + 3)])
               for i in range(12)]
    memorised = {options_text(str(s.input), list(s.choices or ())) for s in samples}
    result = option_order_test(MemorisedModel(memorised), samples, permutations=5)
    assert result["n"] == 12 and result["p_value"] < 0.001 and result["n_without_options"] == 0
    assert option_order_test(MemorisedModel(set()), samples, permutations=5)["mean_difference_nats"] == 0.0
