from __future__ import annotations

import pytest

from assay.scoring.ruler import (
    exact_match,
    is_abstention,
    needle_recall,
    normalize_answer,
    string_match_all,
    string_match_part,
    token_f1,
)
from assay.tasks.longctx.grading import grade

# Unit tests of the answer rules: no prompt, so nothing can be copied from one.
NO_PROMPT: list[dict[str, str]] = []


def test_string_match_all_is_fraction_found_case_insensitive() -> None:
    assert string_match_all("The values are 123 and ABC.", ["123", "abc", "999"]) == pytest.approx(2 / 3)
    assert string_match_part("nothing here", ["123", "abc"]) == 0.0
    assert string_match_part("x abc", ["123", "abc"]) == 1.0
    assert needle_recall("only 123", ["123", "456"]) == [True, False]


def test_em_and_f1_normalise_like_squad() -> None:
    assert normalize_answer("The  Toravesi!") == "toravesi"
    assert exact_match("the Toravesi.", ["Toravesi"]) == 1.0
    assert exact_match("Toravesi town", ["Toravesi"]) == 0.0
    assert token_f1("Toravesi town", ["Toravesi"]) == pytest.approx(2 * 0.5 * 1 / 1.5)


@pytest.mark.parametrize("text", ["The answer is not in the document.", "I cannot find that in the text.",
                                  "The document does not mention it.", "Unknown.", "I don't know.",
                                  "There is no special magic number for amber-lantern."])
def test_abstentions_detected(text: str) -> None:
    assert is_abstention(text)


@pytest.mark.parametrize("text", ["The special magic number is 1234567.", "Toravesi", "It was founded in Lyon."])
def test_answers_are_not_abstentions(text: str) -> None:
    assert not is_abstention(text)


def test_empty_output_is_an_error_and_counted() -> None:
    scored = grade({"scorer": "match_all", "references": ["1"]}, "   ", NO_PROMPT)
    assert scored.error == "empty output"
    assert scored.scores["score"] == 0.0 and scored.scores["empty_output"] == 1.0


def test_twin_labels() -> None:
    answerable = {"scorer": "twin_answerable", "references": ["1234567"]}
    unanswerable = {"scorer": "twin_unanswerable", "references": ["1234567"]}
    assert grade(answerable, "It is 1234567", NO_PROMPT).metadata["label"] == "correct"
    assert grade(answerable, "The answer is not in the document.", NO_PROMPT).metadata["label"] == "false_refusal"
    assert grade(answerable, "It is 42", NO_PROMPT).metadata["label"] == "wrong"
    assert grade(unanswerable, "The answer is not in the document.", NO_PROMPT).scores["hallucination"] == 0.0
    hallucinated = grade(unanswerable, "It is 7654321", NO_PROMPT)
    assert hallucinated.metadata["label"] == "hallucination" and hallucinated.scores["hallucination"] == 1.0


def test_counterfactual_scores_doc_and_prior_separately() -> None:
    doc = grade({"scorer": "counterfactual_doc", "references": ["Lyon"], "prior_answers": ["Paris"]}, "Lyon", NO_PROMPT)
    closed = grade({"scorer": "counterfactual_closed", "references": ["Lyon"], "prior_answers": ["Paris"]}, "Paris", NO_PROMPT)
    assert doc.scores["doc_answer"] == 1.0 and doc.scores["prior_answer_in_doc"] == 0.0
    assert closed.scores["closed_book_prior"] == 1.0 and "score" not in closed.scores
