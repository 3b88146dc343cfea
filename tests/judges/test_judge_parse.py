"""Verdicts are read strictly: a JSON object or a [[tag]]; prose, broken JSON, out-of-scale or fractional
scores, two different verdicts and empty output are errors, never a score."""

from __future__ import annotations

import pytest

from assay.judges.parse import parse_pairwise, parse_score


@pytest.mark.parametrize(("text", "verdict"), [
    ('{"verdict": "A", "reason": "more complete"}', "a"),
    ('{"verdict": "b"}', "b"),
    ('{"verdict": "tie", "reason": "same"}', "tie"),
    ("After comparing both: [[B]]", "b"),
    ("[[C]]", "tie"),
    ('```json\n{"verdict": "A", "reason": "x"}\n```', "a"),
    ('Verdict: {"verdict": "B", "reason": "{nested} braces"} [[B]]', "b"),
])
def test_pairwise_verdicts_are_read(text: str, verdict: str) -> None:
    parsed = parse_pairwise(text)
    assert parsed.ok and parsed.verdict == verdict


def test_pairwise_reason_is_kept() -> None:
    assert parse_pairwise('{"verdict": "A", "reason": "more complete"}').reason == "more complete"


@pytest.mark.parametrize(("text", "problem"), [
    ("", "empty output"),
    ("   \n", "empty output"),
    (None, "empty output"),
    ("Assistant A is clearly better because it is correct.", "prose"),
    ('{"verdict": "A", "reason": "cut off', "broken JSON"),
    ('{"reason": "no verdict"}', "without a 'verdict' field"),
    ('{"verdict": "maybe"}', "is not A, B or tie"),
    ("[[A]] ... on reflection [[B]]", "two different verdicts"),
    ('{"verdict": 1}', "is not A, B or tie"),
])
def test_pairwise_failures_are_errors(text: str | None, problem: str) -> None:
    parsed = parse_pairwise(text)
    assert not parsed.ok and parsed.verdict is None and problem in (parsed.error or "")


@pytest.mark.parametrize(("text", "score"), [
    ('{"score": 7, "reason": "good"}', 7.0),
    ('{"score": 10}', 10.0),
    ('{"score": 1.0}', 1.0),
    ("Rating: [[3]]", 3.0),
])
def test_scores_are_read(text: str, score: float) -> None:
    parsed = parse_score(text, 1, 10)
    assert parsed.ok and parsed.score == score


@pytest.mark.parametrize(("text", "problem"), [
    ('{"score": 11}', "outside the scale 1..10"),
    ('{"score": 0}', "outside the scale 1..10"),
    ("[[42]]", "outside the scale 1..10"),
    ('{"score": 6.5}', "not a whole number"),
    ('{"score": true}', "not a number"),
    ('{"score": "high"}', "not a number"),
    ('{"score": "7"}', "not a number"),
    ('{"score": NaN}', "not a number"),
    ("I would give this answer a seven.", "prose"),
    ('{"score": 7, "reason": "unterminated', "broken JSON"),
    ('{"score": 7} and also {"score": 8}', "two different scores"),
    ("", "empty output"),
])
def test_score_failures_are_errors(text: str, problem: str) -> None:
    parsed = parse_score(text, 1, 10)
    assert not parsed.ok and parsed.score is None and problem in (parsed.error or "")
