"""Did an output reproduce its prompt instead of answering it?

A substring scorer (RULER's string_match_all / string_match_part) credits any output that contains
the answer, so a model that repeats its prompt "finds" every needle: the needle is in the document
it repeated. This module detects such copying by verbatim overlap:

- Text is compared as a sequence of words: runs of letters and digits (`\\w+`), case-folded, so
  whitespace, punctuation and line breaks do not matter.
- An answer may legitimately quote the prompt: restate the question and the answer prefix, repeat
  the instruction, or quote one inserted sentence (a needle). These are the *quotable* pieces; the
  longest of them, in words, is the allowance.
- The output copies the prompt if it contains a run of more than `allowance` consecutive words
  that also occurs, consecutively, in the prompt. Such a run cannot come from one quotable piece: it
  runs on into the document (haystack) or across pieces.

A genuine answer quotes at most one piece and is short (tens of tokens); an echo of the prompt
shares a run as long as the whole prompt. The rule needs no tuned threshold: the allowance comes
from each sample's own prompt.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

_WORD = re.compile(r"\w+")


def words(text: str) -> list[str]:
    """The text as case-folded word tokens (runs of letters and digits)."""
    return _WORD.findall(text.casefold())


def copy_allowance(quotable: Sequence[str]) -> int:
    """The longest verbatim run (in words) a genuine answer may share with its prompt."""
    return max((len(words(piece)) for piece in quotable), default=0)


def copies_prompt(output: str, prompt: str, allowance: int) -> bool:
    """True if `output` shares a run of more than `allowance` consecutive words with `prompt`."""
    window = allowance + 1
    output_words = words(output)
    if len(output_words) < window:
        return False
    # Words joined by single spaces and padded, so a substring test matches whole words only.
    prompt_text = " " + " ".join(words(prompt)) + " "
    return any(" " + " ".join(output_words[i:i + window]) + " " in prompt_text
               for i in range(len(output_words) - window + 1))
