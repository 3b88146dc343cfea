"""`case`: each word of letters, with probability one half, is written all upper case or all lower
case (at least one word changes)."""

from __future__ import annotations

import random
import re

from assay.perturb.base import text_perturbation

_WORD = re.compile(r"[A-Za-z]+")


def change_case(text: str, rng: random.Random) -> str:
    words = list(_WORD.finditer(text))
    if not words:
        return text
    changed = {i for i in range(len(words)) if rng.random() < 0.5}
    changeable = [i for i, m in enumerate(words) if m.group() != m.group().upper() or m.group() != m.group().lower()]
    if changeable and not any(i in changed for i in changeable):
        changed.add(rng.choice(changeable))
    out, last = [], 0
    for index, match in enumerate(words):
        out.append(text[last:match.start()])
        word = match.group()
        if index in changed:
            if word.islower():
                word = word.upper()
            elif word.isupper():
                word = word.lower()
            else:
                word = word.upper() if rng.random() < 0.5 else word.lower()
        out.append(word)
        last = match.end()
    out.append(text[last:])
    return "".join(out)


PERTURBATION = text_perturbation("case", "about half the words written all upper or all lower case", change_case)
