"""Order sensitivity as a memorisation signal (after Oren et al., 2023, "Proving test set contamination
in black box language models"): a model that saw a benchmark verbatim finds its canonical order more
likely than any shuffle of it, while for an unseen benchmark every order is exchangeable.

- examples: the task's items, in shards of `shard_size` consecutive items, scored as one text in the
  canonical order and in `permutations` random orders; per shard, canonical minus mean-shuffled
  log-likelihood.
- options: each multiple-choice item written with its options in the given order and in random orders.
Across shards (items), a one-sided one-sample t-test of the differences (H1: canonical more likely)."""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

import numpy as np

from assay.contamination.items import Item
from assay.errors import AssayError
from assay.models.base import Model
from assay.types import LoglikelihoodRollingRequest, Sample

_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def options_text(question: str, options: Sequence[str]) -> str:
    return question + "\n" + "\n".join(f"{_LETTERS[i]}. {text}" for i, text in enumerate(options))


def _orders(n: int, permutations: int, rng: random.Random) -> list[list[int]]:
    """Up to `permutations` distinct non-identity orders of n things."""
    identity, seen, out = list(range(n)), set(), []
    for _ in range(permutations * 20):
        order = identity[:]
        rng.shuffle(order)
        if order != identity and tuple(order) not in seen:
            seen.add(tuple(order))
            out.append(order)
            if len(out) == permutations:
                break
    return out


def _logprobs(model: Model, texts: list[str]) -> list[float]:
    responses = model.loglikelihood_rolling([LoglikelihoodRollingRequest(t) for t in texts])
    failed = [r.error for r in responses if r.error]
    if failed:
        raise AssayError(f"--model {model.spec}: {len(failed)} rolling request(s) failed, e.g. {failed[0]}")
    return [float(r.logprob or 0.0) for r in responses]


def _test(differences: list[float], unit: str, permutations: int) -> dict[str, Any]:
    from scipy.stats import ttest_1samp

    if len(differences) < 2:
        raise AssayError(f"order test: need at least 2 {unit}s, got {len(differences)}")
    values = np.asarray(differences)
    test = "one-sided one-sample t-test, H1: the canonical order is more likely"
    if np.ptp(values) == 0.0:
        # Identical differences: no spread, the t statistic is ±infinite (or undefined at 0).
        low = high = float(values[0])
        p_value = 0.0 if values[0] > 0 else 1.0
        test += " (every difference equal: p from the sign alone)"
    else:
        p_value = float(ttest_1samp(values, 0.0, alternative="greater").pvalue)
        interval = ttest_1samp(values, 0.0).confidence_interval(0.95)
        low, high = float(interval.low), float(interval.high)
    return {"unit": unit, "n": len(values), "permutations": permutations,
            "mean_difference_nats": round(float(values.mean()), 4), "ci_low": round(low, 4), "ci_high": round(high, 4),
            "p_value": p_value, "share_canonical_more_likely": round(float((values > 0).mean()), 4), "test": test}


def example_order_test(model: Model, items: Sequence[Item], shard_size: int = 5, permutations: int = 10,
                       seed: int = 1234) -> dict[str, Any]:
    rng = random.Random(seed)
    differences = []
    for start in range(0, len(items) - shard_size + 1, shard_size):
        shard = [item.text for item in items[start:start + shard_size]]
        orders = _orders(len(shard), permutations, rng)
        texts = ["\n\n".join(shard)] + ["\n\n".join(shard[i] for i in order) for order in orders]
        canonical, *shuffled = _logprobs(model, texts)
        differences.append(canonical - float(np.mean(shuffled)))
    return {"kind": "examples", "shard_size": shard_size, **_test(differences, "shard", permutations)}


def option_order_test(model: Model, samples: Sequence[Sample], permutations: int = 10, seed: int = 1234,
                      question: Any = None) -> dict[str, Any]:
    rng = random.Random(seed)
    differences = []
    with_options = [s for s in samples if s.choices and len(s.choices) >= 2]
    if not with_options:
        raise AssayError("--order options: the task's samples have no multiple-choice options")
    for sample in with_options:
        options = list(sample.choices or ())
        stem = question(sample) if question is not None else str(sample.input)
        orders = _orders(len(options), permutations, rng)
        texts = [options_text(stem, options)] + [options_text(stem, [options[i] for i in order]) for order in orders]
        canonical, *shuffled = _logprobs(model, texts)
        differences.append(canonical - float(np.mean(shuffled)))
    out = {"kind": "options", **_test(differences, "item", permutations)}
    out["n_without_options"] = len(samples) - len(with_options)
    return out
