"""Pairwise judgments as arrays: one row per readable battle (model indices, outcome, prompt cluster,
output lengths), with the judgments that could not be used counted by reason, never dropped silently."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from assay.errors import AssayError
from assay.judges.types import Judgment

HOW_TO_STORE_BATTLES = ("`assay battle RUN_A RUN_B --judge SPEC` (two runs of the same task), a vote on the labelling "
                        "page, or `assay import judgments PATH --format F`")


def describe_skipped(skipped: dict[str, int]) -> str:
    """Skip counts as words ("rater error (10), no verdict (2)"), never a dict's repr."""
    return ", ".join(f"{reason} ({count})" for reason, count in skipped.items())


class NoRatableBattles(AssayError):
    """No stored pairwise judgment has an outcome to rate: none stored, or every one was skipped
    (`skipped`: reason → count, e.g. every verdict a rater error)."""

    def __init__(self, skipped: dict[str, int]) -> None:
        self.skipped = dict(skipped)
        total = sum(self.skipped.values())
        if total:
            found = (f"none of the {total} stored pairwise judgment(s) has a verdict to rate "
                     f"(skipped: {describe_skipped(self.skipped)})")
        else:
            found = "no pairwise battle stored yet"
        super().__init__(f"arena: {found}; store battles with {HOW_TO_STORE_BATTLES}")


def outcome_for_a(judgment: Judgment) -> float | None:
    """1 = A won, 0 = B won, 0.5 = tie, from the verdict (or, without one, the continuous preference)."""
    if judgment.verdict is not None:
        return {"a": 1.0, "b": 0.0, "tie": 0.5}[judgment.verdict]
    if judgment.preference is not None:
        return 1.0 if judgment.preference < 0.5 else 0.0 if judgment.preference > 0.5 else 0.5
    return None


def preference_for_b(judgment: Judgment) -> float | None:
    """The continuous preference for B in 0..1 where the rater gave one, else the discrete outcome."""
    if judgment.preference is not None:
        return judgment.preference
    outcome = outcome_for_a(judgment)
    return None if outcome is None else 1.0 - outcome


@dataclass(frozen=True)
class Battles:
    models: tuple[str, ...]
    a: np.ndarray  # index into models
    b: np.ndarray
    outcome: np.ndarray  # for A: 1 won, 0 lost, 0.5 tie
    item: np.ndarray  # index into items: the cluster every bootstrap resamples
    items: tuple[str, ...]
    len_a: np.ndarray  # characters of A's output (nan when not stored)
    len_b: np.ndarray
    judgments: tuple[Judgment, ...]  # the rows used, in the same order
    skipped: dict[str, int] = field(default_factory=dict)  # reason -> count

    def __len__(self) -> int:
        return int(self.a.size)

    @property
    def n_models(self) -> int:
        return len(self.models)


def battles_from_judgments(judgments: Iterable[Judgment]) -> Battles:
    """Every pairwise judgment with an outcome becomes a battle; the rest are counted in `skipped`
    (rater errors, pointwise rows, a model against itself, no verdict). The cluster is (task, item)."""
    skipped: Counter[str] = Counter()
    used: list[Judgment] = []
    outcomes: list[float] = []
    for judgment in judgments:
        if judgment.kind != "pairwise" or judgment.model_b is None:
            skipped["not pairwise"] += 1
        elif judgment.error is not None:
            skipped["rater error"] += 1
        elif judgment.model_a == judgment.model_b:
            skipped["same model on both sides"] += 1
        elif (value := outcome_for_a(judgment)) is None:
            skipped["no verdict"] += 1
        else:
            used.append(judgment)
            outcomes.append(value)
    models = tuple(sorted({j.model_a for j in used} | {str(j.model_b) for j in used}))
    index = {m: i for i, m in enumerate(models)}
    clusters = [f"{j.task or ''}\x1f{j.item}" for j in used]
    items = tuple(dict.fromkeys(clusters))
    item_index = {c: i for i, c in enumerate(items)}

    def length(text: str | None) -> float:
        return float(len(text)) if text is not None else float("nan")

    return Battles(
        models=models,
        a=np.array([index[j.model_a] for j in used], dtype=np.int64),
        b=np.array([index[str(j.model_b)] for j in used], dtype=np.int64),
        outcome=np.array(outcomes, dtype=float),
        item=np.array([item_index[c] for c in clusters], dtype=np.int64),
        items=tuple(c.split("\x1f", 1)[1] for c in items),
        len_a=np.array([length(j.output_a) for j in used], dtype=float),
        len_b=np.array([length(j.output_b) for j in used], dtype=float),
        judgments=tuple(used),
        skipped=dict(sorted(skipped.items())),
    )


def win_matrix(battles: Battles) -> np.ndarray:
    """wins[i, j] = battles model i won against model j, a tie counting half to each."""
    n = battles.n_models
    wins = np.zeros((n, n))
    np.add.at(wins, (battles.a, battles.b), battles.outcome)
    np.add.at(wins, (battles.b, battles.a), 1.0 - battles.outcome)
    return wins


def pairwise_win_rates(battles: Battles) -> list[list[float | None]]:
    """rate[i][j] = share of i's battles against j that i won (ties half); None where they never met."""
    wins = win_matrix(battles)
    games = wins + wins.T
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = wins / games
    return [[None if games[i, j] == 0 else float(rate[i, j]) for j in range(battles.n_models)]
            for i in range(battles.n_models)]
