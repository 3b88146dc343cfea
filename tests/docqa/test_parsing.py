"""The strict readers of generator and judge replies: what they accept, and the error for what they don't."""

from __future__ import annotations

import pytest

from assay.docqa.parsing import read_answer, read_claims, read_question, read_verdict, read_yes_no


@pytest.mark.parametrize(("text", "value"), [
    ("What broke the weir in 1869?", "What broke the weir in 1869?"),
    ('Question: "Who built the mill?"\nAnswer: Edith.', "Who built the mill?"),
    ("\n\n  When did the mill close?  ", "When did the mill close?"),
])
def test_questions(text: str, value: str) -> None:
    assert read_question(text).value == value


@pytest.mark.parametrize(("text", "error"), [
    ("", "empty output"), ("Sure, here is one.", "not a question ending with '?'"),
    ("Why?", "a question of 1 words"), ("Here it is:\nWhy did it close?", "not a question"),
])
def test_bad_questions(text: str, error: str) -> None:
    read = read_question(text)
    assert read.value is None and error in (read.error or "")


def test_answers_and_yes_no() -> None:
    assert read_answer("Answer: Edith Calloway.\nMore text.").value == "Edith Calloway."
    assert "a question instead of an answer" in (read_answer("Why do you ask?").error or "")
    assert read_yes_no("No, it does not.").value is False and read_yes_no("YES.").value is True
    assert read_yes_no("Nope").error and read_yes_no("Perhaps yes").error


def test_claims() -> None:
    assert read_claims("Claim: The mill is old.\nClaim: It has a wheel.\n\nThis is all.").value == [
        "The mill is old.", "It has a wheel."]
    assert read_claims("Claims:\n- A.\n- B.\nSome prose after.\n- C.").value == ["A.", "B."]
    assert read_claims('{"claims": ["A.", "B."]}').value == ["A.", "B."]
    assert read_claims("1. A.\n2) B.").value == ["A.", "B."]
    assert "no list of claims" in (read_claims("The mill is old and has a wheel.").error or "")
    assert "not a list of non-empty strings" in (read_claims('{"claims": "A."}').error or "")
    assert "21 claims" in (read_claims("\n".join(f"- c{i}" for i in range(21))).error or "")


@pytest.mark.parametrize(("text", "value"), [
    ("The claim is true.", "supported"), ("False", "contradicted"), ("The claim is unknown. It is not said.", "not_found"),
    ('{"verdict": "not found"}', "not_found"), ("I think [[contradicted]].", "contradicted"), ("Supported.", "supported"),
])
def test_verdicts(text: str, value: str) -> None:
    assert read_verdict(text).value == value


@pytest.mark.parametrize(("text", "error"), [
    ("The claim is not supported by the text.", "does not start with"), ("[[true]] or [[false]]", "not exactly one"),
    ('{"verdict": "maybe"}', "is not one of"), ("   ", "empty output"),
])
def test_bad_verdicts(text: str, error: str) -> None:
    read = read_verdict(text)
    assert read.value is None and error in (read.error or "")
