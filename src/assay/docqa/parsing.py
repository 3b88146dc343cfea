"""Strict readers of generator and judge replies. Each returns a `Read`: a value, or an error that the caller
counts (never a silent drop and never a score). Formats are the ones the prompts ask for, kept plain because a
small local model can follow them: a question line, an answer line, yes/no, a bulleted list of claims, a
claim verdict: "The claim is true|false|unknown." or a word supported/contradicted/not_found (or
{"verdict": ...} / [[verdict]], as the judges' parser reads)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from assay.judges.parse import Parsed

VERDICTS = ("supported", "contradicted", "not_found")
MAX_QUESTION_WORDS = 40
MAX_CLAIMS = 20
_PREFIX = re.compile(r"^\s*(?:\*\*)?(question|answer|verdict|claims?)\s*(?:\*\*)?\s*:\s*", re.IGNORECASE)
_BULLET = re.compile(r"^\s*(?:(?:[-*•]|\d{1,2}[.)])\s+|claims?\s*\d*\s*:\s*)(\S.*?)\s*$", re.IGNORECASE)
_TAG = re.compile(r"\[\[\s*([^\[\]\n]{1,20}?)\s*\]\]")


@dataclass(frozen=True)
class Read:
    value: Any = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def as_parsed(self) -> Parsed:
        """For the judges' re-ask wrapper, which only needs to know whether the reply could be read."""
        return Parsed(error=self.error) if self.error is not None else Parsed(verdict="ok")


def _excerpt(text: str, size: int = 60) -> str:
    flat = " ".join(text.split())
    return repr(flat if len(flat) <= size else flat[:size] + "…")


def _first_line(text: str | None) -> str | None:
    for line in (text or "").splitlines():
        if line.strip():
            return line.strip()
    return None


def _unquote(text: str) -> str:
    text = _PREFIX.sub("", text, count=1).strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        text = text[1:-1].strip()
    return text


def read_question(text: str | None) -> Read:
    """The first line of the reply, a question: it ends with '?' and has 3..MAX_QUESTION_WORDS words."""
    line = _first_line(text)
    if line is None:
        return Read(error="empty output")
    question = _unquote(line)
    n_words = len(question.split())
    if not question.endswith("?"):
        return Read(error=f"the first line is not a question ending with '?': {_excerpt(line)}")
    if not 3 <= n_words <= MAX_QUESTION_WORDS:
        return Read(error=f"a question of {n_words} words (expected 3 to {MAX_QUESTION_WORDS}): {_excerpt(line)}")
    return Read(question)


def read_answer(text: str | None) -> Read:
    """The first line of the reply, an answer (not a question)."""
    line = _first_line(text)
    if line is None:
        return Read(error="empty output")
    answer = _unquote(line)
    if not answer:
        return Read(error="an empty answer")
    if answer.endswith("?"):
        return Read(error=f"a question instead of an answer: {_excerpt(line)}")
    return Read(answer)


def read_yes_no(text: str | None) -> Read:
    """True for a reply whose first word is yes, False for no."""
    line = _first_line(text)
    if line is None:
        return Read(error="empty output")
    first = re.match(r"[a-z]+", _unquote(line).lower())
    word = first.group(0) if first else ""
    if word in ("yes", "no"):
        return Read(word == "yes")
    return Read(error=f"the reply does not start with yes or no: {_excerpt(line)}")


def _first_json_object(text: str) -> dict | None:
    """The JSON object that starts at the reply's first "{", if there is one."""
    start = text.find("{")
    if start == -1:
        return None
    try:
        value, _ = json.JSONDecoder().raw_decode(text, start)
    except json.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None


def read_claims(text: str | None) -> Read:
    """The claims of a list (the first run of lines starting with "Claim:", "- " or "1."), or {"claims": [...]}."""
    if text is None or not text.strip():
        return Read(error="empty output")
    value = _first_json_object(text)
    if value is not None and "claims" in value:
        claims = value["claims"]
        if not isinstance(claims, list) or not all(isinstance(c, str) and c.strip() for c in claims):
            return Read(error="\"claims\" is not a list of non-empty strings")
        return _claims([c.strip() for c in claims])
    claims: list[str] = []
    for line in text.splitlines():
        match = _BULLET.match(line)
        if match:
            claims.append(match.group(1))
        elif claims and line.strip():
            break  # the list has ended: what follows is not a claim
    if not claims:
        return Read(error=f"no list of claims (lines starting with 'Claim:'): {_excerpt(text)}")
    return _claims(claims)


def _claims(claims: list[str]) -> Read:
    if not claims:
        return Read(error="an empty list of claims")
    if len(claims) > MAX_CLAIMS:
        return Read(error=f"{len(claims)} claims (at most {MAX_CLAIMS})")
    return Read(claims)


# The prompt asks whether the claim is true, false or unknown according to the document (words a small model
# uses readily); the stored verdicts are the three labels.
_SYNONYMS = {"true": "supported", "false": "contradicted", "unknown": "not_found"}


def _verdict_word(value: str) -> str | None:
    word = value.strip().lower().replace("-", "_").replace(" ", "_").rstrip(".!")
    word = _SYNONYMS.get(word, word)
    return word if word in VERDICTS else None


def read_verdict(text: str | None) -> Read:
    """supported | contradicted | not_found: a {"verdict": ...} object, a [[tag]], or the reply's first word(s)."""
    if text is None or not text.strip():
        return Read(error="empty output")
    value = _first_json_object(text)
    if value is not None and "verdict" in value:
        word = _verdict_word(str(value["verdict"]))
        return Read(word) if word else Read(error=f"verdict {value['verdict']!r} is not one of {', '.join(VERDICTS)}")
    tags = {_verdict_word(t) for t in _TAG.findall(text)}
    if tags:
        if None in tags or len(tags) > 1:
            return Read(error=f"tagged verdicts {sorted(_TAG.findall(text))} are not exactly one of {', '.join(VERDICTS)}")
        return Read(tags.pop())
    line = _unquote(_first_line(text) or "").lower()
    match = re.match(r"(?:the claim is )?(supported|contradicted|not[ _-]found|true|false|unknown)\b", line)
    if match:
        return Read(_verdict_word(match.group(1)))
    return Read(error=f"the reply does not start with 'The claim is' true, false or unknown: {_excerpt(text)}")
