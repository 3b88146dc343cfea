"""How values are shown to people, the same way on the command line and the web: counts and token
lengths as integers, context lengths as 1k/2k/4k, and a multiple-choice target and the extracted answer
in one form (the choice's text and its number) instead of an index beside a text."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

# Declared scales (assay.metric_specs) whose values are whole numbers.
INTEGER_SCALES = frozenset({"count", "tokens"})


def is_integer_metric(row: Mapping[str, Any]) -> bool:
    """A metric row whose value is a whole number: a count, or a length in tokens."""
    return row.get("method") == "count" or row.get("aggregation") == "count" or row.get("scale") in INTEGER_SCALES


def format_number(value: Any, digits: int = 4) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "—"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, int):
        return str(value)
    return f"{value:.{digits}g}" if abs(value) >= 1000 else f"{value:.{digits}f}"


def format_metric_value(row: Mapping[str, Any], digits: int = 4) -> str:
    value = row.get("value")
    if is_integer_metric(row) and isinstance(value, (int, float)) and math.isfinite(value):
        return str(round(value))
    return format_number(value, digits)


def length_label(tokens: float) -> str:
    """A context length for an axis: 1024 → 1k, 1536 → 1.5k, 512 → 512 (binary k, as lengths are set)."""
    if tokens >= 1024 and tokens % 256 == 0:
        return f"{tokens / 1024:g}k"
    return f"{tokens:g}"


def answer_form(value: Any, choices: Sequence[Any] | None) -> str:
    """A target or an extracted answer of a multiple-choice sample as `text (choice N)`, whichever of the
    two forms (index or text) was stored; anything else as its text."""
    if value is None:
        return "—"
    if choices:
        texts = [str(c) for c in choices]
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < len(texts):
            return f"{texts[value]} (choice {value})"
        if isinstance(value, str) and value.strip() in texts:
            return f"{value.strip()} (choice {texts.index(value.strip())})"
        # Multiple-choice tasks store the picked choice as its letter (A, B, ...).
        letter = value.strip() if isinstance(value, str) else ""
        if len(letter) == 1 and "A" <= letter <= "Z" and ord(letter) - ord("A") < len(texts):
            index = ord(letter) - ord("A")
            return f"{texts[index]} (choice {index})"
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
