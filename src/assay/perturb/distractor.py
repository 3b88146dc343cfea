"""`distractor`: one irrelevant sentence (from a fixed list, chosen by the seed) is put in front of the
question, as in studies of irrelevant context in maths word problems: the answer does not change,
but a model that uses every number or name it is given will."""

from __future__ import annotations

import random

from assay.perturb.base import text_perturbation

SENTENCES = (
    "The library on the corner opens at 9 and closes at 17 on weekdays.",
    "Maria's cousin keeps 3 goldfish in a tank in the hallway.",
    "It rained for 2 days last week, which is normal for the season.",
    "A bus ticket in the town costs 4 coins, but many people walk.",
    "The school painted its fence green 6 years ago.",
    "Tom's neighbour has a bicycle with 21 gears that he rarely uses.",
    "The bakery sells bread every morning, and the queue is usually short.",
    "Some people prefer tea to coffee, and others drink neither.",
    "The river near the village is 12 metres wide at the bridge.",
    "A film about the moon was shown at the cinema on Friday.",
)


def add_distractor(text: str, rng: random.Random) -> str:
    return f"{rng.choice(SENTENCES)} {text}"


PERTURBATION = text_perturbation("distractor", "an irrelevant sentence (with a number) before the question",
                                 add_distractor)
