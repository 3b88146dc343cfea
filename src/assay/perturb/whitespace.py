"""`whitespace`: about a third of the spaces (at least one) become two to four spaces, a tab or a line
break followed by a space."""

from __future__ import annotations

import random

from assay.perturb.base import text_perturbation

_REPLACEMENTS = ("  ", "   ", "    ", " \t", "\n ")
RATE = 1 / 3


def add_whitespace(text: str, rng: random.Random) -> str:
    spaces = [i for i, ch in enumerate(text) if ch == " "]
    if not spaces:
        return text + " "
    chosen = {i for i in spaces if rng.random() < RATE} or {rng.choice(spaces)}
    return "".join(rng.choice(_REPLACEMENTS) if i in chosen else ch for i, ch in enumerate(text))


PERTURBATION = text_perturbation("whitespace", "extra spaces, tabs and line breaks between words", add_whitespace)
