"""Reading a judge's verdict from its output, strictly: a JSON object ({"verdict": "A"|"B"|"tie", ...} or
{"score": N, ...}) or a tagged verdict ([[A]], [[B]], [[tie]], [[7]]). Anything else — prose, broken JSON,
an out-of-scale or fractional score, two different verdicts, an empty output — is a `Parsed` with
`error` set: the caller counts it as a judge error, never as a score."""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass

_DECODER = json.JSONDecoder()
_TAG = re.compile(r"\[\[\s*([^\[\]\n]{1,12}?)\s*\]\]")
# Pairwise verdicts as written by the judge (the presented positions), to a|b|tie; [[C]] is the MT-Bench tie tag.
_VERDICTS = {"a": "a", "b": "b", "tie": "tie", "c": "tie"}
PARSER_VERSION = 1


class _Tag(str):
    """The text inside a [[...]] tag (a JSON string value is not one: {"score": "7"} is not a number)."""


@dataclass(frozen=True)
class Parsed:
    """`verdict`: a|b|tie in the presented positions (a = the answer shown first); `score`: a rubric score.
    Exactly one of (verdict or score) and error is set."""

    verdict: str | None = None
    score: float | None = None
    reason: str | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def _json_objects(text: str) -> tuple[list[dict[str, object]], str | None]:
    """Every top-level JSON object in `text`, and the first decoding error when a '{' began none."""
    found: list[dict[str, object]] = []
    broken: str | None = None
    position = text.find("{")
    while position != -1:
        try:
            value, end = _DECODER.raw_decode(text, position)
        except json.JSONDecodeError as exc:
            broken = broken or exc.msg
            position = text.find("{", position + 1)
            continue
        if isinstance(value, dict):
            found.append(value)
        position = text.find("{", end)
    return found, broken


def _candidates(text: str | None, key: str) -> tuple[list[object], str | None, str | None]:
    """(values of `key` in JSON objects and tags, the reason if any, an error when nothing was found)."""
    if text is None or not text.strip():
        return [], None, "empty output"
    objects, broken = _json_objects(text)
    values: list[object] = [obj[key] for obj in objects if key in obj]
    reasons = [obj["reason"] for obj in objects if key in obj and isinstance(obj.get("reason"), str)]
    values.extend(_Tag(match.group(1)) for match in _TAG.finditer(text))
    if values:
        return values, (reasons[0] if reasons else None), None
    if objects:
        return [], None, f"JSON object without a {key!r} field"
    if broken is not None:
        return [], None, f"broken JSON ({broken})"
    return [], None, f"no verdict found (prose without a JSON object or a [[...]] tag): {_excerpt(text)}"


def _excerpt(text: str, size: int = 60) -> str:
    flat = " ".join(text.split())
    return repr(flat if len(flat) <= size else flat[:size] + "…")


def parse_pairwise(text: str | None) -> Parsed:
    values, reason, error = _candidates(text, "verdict")
    if error is not None:
        return Parsed(error=error)
    verdicts = set()
    for value in values:
        if not isinstance(value, str) or value.strip().lower() not in _VERDICTS:
            return Parsed(error=f"verdict {value!r} is not A, B or tie")
        verdicts.add(_VERDICTS[value.strip().lower()])
    if len(verdicts) > 1:
        return Parsed(error=f"two different verdicts ({', '.join(sorted(verdicts))})")
    return Parsed(verdict=verdicts.pop(), reason=reason)


def _as_score(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, _Tag):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None


def parse_score(text: str | None, low: int, high: int) -> Parsed:
    values, reason, error = _candidates(text, "score")
    if error is not None:
        return Parsed(error=error)
    scores = set()
    for value in values:
        number = _as_score(value)
        if number is None or not math.isfinite(number):
            return Parsed(error=f"score {value!r} is not a number")
        if not number.is_integer():
            return Parsed(error=f"score {value!r} is not a whole number on the scale {low}..{high}")
        if not low <= number <= high:
            return Parsed(error=f"score {value!r} is outside the scale {low}..{high}")
        scores.add(number)
    if len(scores) > 1:
        return Parsed(error=f"two different scores ({', '.join(str(int(s)) for s in sorted(scores))})")
    return Parsed(score=scores.pop(), reason=reason)
