"""Per-sample pieces for long-context scoring, after RULER's metrics.

- `string_match_all`: fraction of references found in the output (case-insensitive substring),
  RULER's metric for multi-value / multi-query / aggregation tasks.
- `string_match_part`: 1 if any reference is found (RULER's metric for QA).
  These two are RULER's definitions, kept to state (and test) where assay departs from them: they
  credit an output that merely contains the answer, so an echo of the prompt scores 1. assay's own
  scores come from `assay.tasks.longctx.grading` (docs/longctx-scoring.md).
- `exact_match` / `token_f1`: best SQuAD EM and F1 against any reference, for QA needles (the one
  SQuAD implementation in `assay.scoring.metrics`).
- `is_abstention`: does the output decline ("not in the document", "I cannot find", "unknown" ...).
- `needle_recall`: which references were found, per needle.

All scores are in 0..1.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from assay.scoring import metrics
from assay.scoring.metrics import SQUAD_NORMALIZATION, normalize_answer

__all__ = ["exact_match", "first_line_answer", "is_abstention", "needle_recall", "normalize_answer",
           "string_match_all", "string_match_part", "token_f1"]

# Phrases a model uses to say the answer is not in the document. Checked on the normalised output
# (lower case, punctuation kept as spaces), so "I can't find it." and "cannot find" both match.
_ABSTENTION_PATTERNS = tuple(re.compile(p) for p in (
    r"\bnot (?:in|mentioned in|found in|present in|provided in|included in|stated in|given in|contained in) "
    r"(?:the |this )?(?:provided |given )?(?:document|text|context|passage|essay)",
    r"\b(?:no|not any) (?:mention|information|answer|such|record)\b",
    r"\b(?:does|do|did) not (?:mention|contain|include|say|state|provide|specify)",
    r"\b(?:doesn t|don t|didn t) (?:mention|contain|include|say|state|provide|specify)",
    r"\b(?:cannot|can not|can t|could not|couldn t|unable to) (?:find|locate|determine|answer|identify|be found|tell)",
    r"\bnot (?:able to )?(?:find|found|available|known|specified|mentioned|stated|given)\b",
    r"\b(?:unknown|unanswerable|not answerable)\b",
    r"\bi (?:do not|don t) know\b",
    r"\bthere is no\b",
))


def _casefold(text: str) -> str:
    return text.casefold()


def string_match_all(output: str, references: Sequence[str]) -> float:
    """Fraction of references that occur in the output (case-insensitive substring)."""
    if not references:
        raise ValueError("string_match_all needs at least one reference")
    folded = _casefold(output)
    return sum(1.0 for ref in references if _casefold(ref) in folded) / len(references)


def string_match_part(output: str, references: Sequence[str]) -> float:
    """1.0 if any reference occurs in the output (case-insensitive substring), else 0.0."""
    folded = _casefold(output)
    return 1.0 if any(_casefold(ref) in folded for ref in references) else 0.0


def needle_recall(output: str, references: Sequence[str]) -> list[bool]:
    folded = _casefold(output)
    return [_casefold(ref) in folded for ref in references]


def exact_match(output: str, references: Sequence[str]) -> float:
    """1.0 if the output equals any reference after SQuAD normalisation."""
    return max((metrics.exact_match(output, ref, SQUAD_NORMALIZATION) for ref in references), default=0.0)


def token_f1(output: str, references: Sequence[str]) -> float:
    """Best SQuAD token F1 of the output against any reference."""
    return max((metrics.token_f1(output, ref) for ref in references), default=0.0)


def is_abstention(output: str) -> bool:
    """Does the output decline to answer (says the answer is absent / unknown)?"""
    text = " ".join(re.sub(r"[^\w\s]", " ", output.casefold()).split())
    return any(p.search(text) for p in _ABSTENTION_PATTERNS)


def first_line_answer(output: str) -> str:
    """The answer part of an output for EM/F1: the first non-empty line, without a trailing period."""
    for line in output.strip().splitlines():
        if line.strip():
            return line.strip().rstrip(".")
    return ""
