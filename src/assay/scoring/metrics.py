"""Per-sample metrics: exact match (with named normalisers), token F1, contains, and the
multiple-choice pair acc / acc_norm. Corpus-level aggregation lives in assay.aggregate."""

from __future__ import annotations

import math
import re
import string
from collections import Counter
from collections.abc import Callable, Sequence

from assay.scoring.extraction import normalize_number

_ARTICLES = re.compile(r"\b(a|an|the)\b", re.IGNORECASE)
_PUNCTUATION = str.maketrans("", "", string.punctuation)


def _number_or_text(text: str) -> str:
    return normalize_number(text) or text


# Named answer normalisers a YAML task can list; applied in order to both answer and reference.
NORMALIZERS: dict[str, Callable[[str], str]] = {
    "strip": str.strip,
    "lower": str.lower,
    "punctuation": lambda text: text.translate(_PUNCTUATION),
    "articles": lambda text: _ARTICLES.sub(" ", text),
    "whitespace": lambda text: " ".join(text.split()),
    "number": _number_or_text,
}

# SQuAD's answer normalisation (its evaluation script's order: lower case, delete punctuation, drop
# articles, squeeze whitespace), used by F1 and by the long-context EM/F1. Punctuation is deleted,
# not replaced by a space: "don't" -> "dont", "Toravesi-Town" -> "toravesitown", as SQuAD does.
SQUAD_NORMALIZATION = ("lower", "punctuation", "articles", "whitespace")


def normalize(text: str, steps: Sequence[str]) -> str:
    for step in steps:
        text = NORMALIZERS[step](text)
    return text


def normalize_answer(text: str) -> str:
    """SQuAD normalisation; the one implementation every EM/F1 in assay uses."""
    return normalize(text, SQUAD_NORMALIZATION)


def exact_match(prediction: str | None, reference: str, steps: Sequence[str] = ("strip",)) -> float:
    if prediction is None:
        return 0.0
    return float(normalize(prediction, steps) == normalize(reference, steps))


def contains(prediction: str | None, reference: str, steps: Sequence[str] = ("strip",)) -> float:
    if prediction is None:
        return 0.0
    return float(normalize(reference, steps) in normalize(prediction, steps))


def token_f1(prediction: str | None, reference: str) -> float:
    """SQuAD token-overlap F1 after SQuAD normalisation."""
    if prediction is None:
        return 0.0
    predicted = normalize_answer(prediction).split()
    expected = normalize_answer(reference).split()
    if not predicted or not expected:
        return float(predicted == expected)
    overlap = sum((Counter(predicted) & Counter(expected)).values())
    if overlap == 0:
        return 0.0
    precision = overlap / len(predicted)
    recall = overlap / len(expected)
    return 2 * precision * recall / (precision + recall)


def argmax(values: Sequence[float]) -> int:
    # Ties go to the first choice, as numpy.argmax does (lm-eval's rule).
    best = 0
    for index, value in enumerate(values):
        if value > values[best]:
            best = index
    return best


def choice_byte_lengths(continuations: Sequence[str]) -> list[int]:
    return [max(len(c.encode("utf-8")), 1) for c in continuations]


def mc_scores(logprobs: Sequence[float], continuations: Sequence[str], target_index: int) -> dict[str, float]:
    """acc: the most likely continuation is the target. acc_norm: the same after dividing each
    log-probability by its continuation's length in UTF-8 bytes (lm-eval's acc_norm counts
    characters; the two agree on ASCII)."""
    normalised = [lp / n for lp, n in zip(logprobs, choice_byte_lengths(continuations), strict=True)]
    return {"acc": float(argmax(logprobs) == target_index),
            "acc_norm": float(argmax(normalised) == target_index)}


def rolling_scores(logprob: float, text: str) -> dict[str, float]:
    """Per-document pieces of the perplexity metrics (corpus values are ratios of sums)."""
    n_bytes = max(len(text.encode("utf-8")), 1)
    return {"logprob": logprob, "bits_per_byte": -logprob / (n_bytes * math.log(2))}


# Known metric names per output type (a YAML task naming anything else is rejected).
METRICS_BY_OUTPUT_TYPE: dict[str, tuple[str, ...]] = {
    "generate_until": ("exact_match", "f1", "contains"),
    "multiple_choice": ("acc", "acc_norm"),
    "loglikelihood_rolling": ("word_perplexity", "byte_perplexity", "bits_per_byte"),
}
