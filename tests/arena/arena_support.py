"""Battles for the arena tests, built as every producer builds them: `Judgment`s (the type `assay battle`,
the labelling page and the importers store), and synthetic battles drawn from a planted model."""

from __future__ import annotations

import numpy as np

from assay.judges.types import Judgment


def judgment(a: str, b: str, verdict: str, item: str, *, output_a: str | None = None, output_b: str | None = None,
             rater: str = "judge-x", rater_kind: str = "judge", task: str = "t", preference: float | None = None,
             source: str = "test") -> Judgment:
    return Judgment(source=source, kind="pairwise", item=item, model_a=a, model_b=b, rater=rater,
                    rater_kind=rater_kind, task=task, verdict=verdict, output_a=output_a, output_b=output_b,  # type: ignore[arg-type]
                    preference=preference)


def worked_example() -> list[Judgment]:
    """The Bradley–Terry article's 22 games: A–B 2:3, A–D 1:4, B–C 5:3, C–D 1:3 (one prompt each)."""
    games = {("A", "B"): (2, 3), ("A", "D"): (1, 4), ("B", "C"): (5, 3), ("C", "D"): (1, 3)}
    rows = []
    for (p, q), (wins_p, wins_q) in games.items():
        for k in range(wins_p):
            rows.append(judgment(p, q, "a", f"{p}{q}-p{k}"))
        for k in range(wins_q):
            rows.append(judgment(p, q, "b", f"{p}{q}-q{k}"))
    return rows


def planted(strengths: dict[str, float], n: int, seed: int, *, tie_share: float = 0.0, verbose: str | None = None,
            length_effect: float = 0.0, prompts: int | None = None) -> list[Judgment]:
    """n battles between random pairs; P(A wins) = logistic(θA − θB + length_effect·(lenA − lenB)/(lenA + lenB)) where
    the model `verbose` writes ~3x longer answers; a share of battles are ties."""
    rng = np.random.default_rng(seed)
    names = list(strengths)
    rows = []
    for k in range(n):
        i, j = rng.choice(len(names), size=2, replace=False)
        a, b = names[i], names[j]
        len_a = int(rng.integers(100, 400) * (3 if a == verbose else 1))
        len_b = int(rng.integers(100, 400) * (3 if b == verbose else 1))
        logit = strengths[a] - strengths[b] + length_effect * (len_a - len_b) / (len_a + len_b)
        a_wins = rng.random() < 1.0 / (1.0 + np.exp(-logit))
        verdict = "tie" if rng.random() < tie_share else "a" if a_wins else "b"
        item = f"p{k % prompts}" if prompts else f"p{k}"
        rows.append(judgment(a, b, verdict, item, output_a="x" * len_a, output_b="y" * len_b))
    return rows
