"""`typos`: about one word in ten (at least one) of four or more letters gets a keyboard typo — two
neighbouring letters swapped, a letter dropped, doubled, or replaced by a key next to it. Numbers
and short words are never touched, so the answer stays the same."""

from __future__ import annotations

import random
import re

from assay.perturb.base import text_perturbation

_WORD = re.compile(r"[A-Za-z]{4,}")
_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm")
RATE = 0.1


def _neighbours(letter: str) -> str:
    lower = letter.lower()
    for row in _ROWS:
        if lower in row:
            at = row.index(lower)
            near = row[max(at - 1, 0):at] + row[at + 1:at + 2]
            return near.upper() if letter.isupper() else near
    return letter


def typo(word: str, rng: random.Random) -> str:
    at = rng.randrange(1, len(word) - 1)  # never the first letter
    kind = rng.choice(("swap", "drop", "double", "key"))
    if kind == "swap" and word[at] != word[at + 1]:
        return word[:at] + word[at + 1] + word[at] + word[at + 2:]
    if kind == "drop":
        return word[:at] + word[at + 1:]
    if kind == "double":
        return word[:at] + word[at] + word[at:]
    return word[:at] + rng.choice(_neighbours(word[at])) + word[at + 1:]


def add_typos(text: str, rng: random.Random) -> str:
    words = list(_WORD.finditer(text))
    if not words:
        return text
    count = max(1, round(RATE * len(words)))
    chosen = sorted(rng.sample(range(len(words)), count))
    out, last = [], 0
    for index in chosen:
        match = words[index]
        out.append(text[last:match.start()])
        out.append(typo(match.group(), rng))
        last = match.end()
    out.append(text[last:])
    return "".join(out)


PERTURBATION = text_perturbation("typos", "keyboard typos in about 10% of the words (4+ letters)", add_typos)
