"""One SQuAD EM/F1: the general metrics and the long-context scorers share the normalisation (the
SQuAD evaluation script's: lower case, delete punctuation, drop articles, squeeze whitespace)."""

from __future__ import annotations

import pytest

from assay.scoring import metrics, ruler


@pytest.mark.parametrize("text, normalised", [
    ("The  Toravesi!", "toravesi"),
    ("Don't stop, an Apple.", "dont stop apple"),  # punctuation is deleted, not turned into a space
    ("Toravesi-Town", "toravesitown"),
    ("A theatre, the end", "theatre end"),  # whole-word articles only
    ("  ", ""),
])
def test_squad_normalisation(text: str, normalised: str) -> None:
    assert metrics.normalize_answer(text) == normalised
    assert metrics.normalize(text, metrics.SQUAD_NORMALIZATION) == normalised


def test_longctx_scorers_use_the_same_implementation() -> None:
    assert ruler.normalize_answer is metrics.normalize_answer
    # Before the merge the long-context EM turned "-" into a space and missed this match.
    assert ruler.exact_match("Toravesi-Town", ["ToravesiTown"]) == 1.0
    assert metrics.exact_match("Toravesi-Town", "ToravesiTown", metrics.SQUAD_NORMALIZATION) == 1.0
    for prediction, references in [("the cat's hat", ["cats hat", "a dog"]), ("Lyon", ["Paris"]),
                                   ("can't find it", ["cant find"])]:
        expected = max(metrics.token_f1(prediction, ref) for ref in references)
        assert ruler.token_f1(prediction, references) == pytest.approx(expected)


def test_multi_reference_em_and_f1_take_the_best_reference() -> None:
    assert ruler.exact_match("Lyon.", ["Paris", "lyon"]) == 1.0
    assert ruler.exact_match("Lyon", []) == 0.0
    assert ruler.token_f1("Toravesi town", ["Toravesi", "Bagodu"]) == pytest.approx(2 * 0.5 * 1 / 1.5)
    assert ruler.token_f1("anything", []) == 0.0
