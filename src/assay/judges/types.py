"""The judgment: one rater's verdict on one item, the shape every judge, importer, labelling page,
agreement statistic and arena rating shares. Built here, stored by `assay.judges.store`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Kind = Literal["pairwise", "pointwise"]
RaterKind = Literal["judge", "human", "label"]
Order = Literal["ab", "ba"]
Verdict = Literal["a", "b", "tie"]

VERDICTS: tuple[str, ...] = ("a", "b", "tie")


@dataclass(frozen=True)
class Judgment:
    """`verdict` is in canonical terms (A = model_a) whatever order the rater saw (`order`: "ba" = B shown
    first). A rater's output that could not be read has `error` set and no verdict: it is counted as a
    judge error, never scored."""

    source: str
    kind: Kind
    item: str
    model_a: str
    rater: str
    rater_kind: RaterKind
    model_b: str | None = None
    task: str | None = None
    prompt: str | None = None
    output_a: str | None = None
    output_b: str | None = None
    reference: str | None = None
    order: Order | None = None
    verdict: Verdict | None = None
    # Continuous preference for B over A in 0..1 (0.5 = tie), when the rater gives one.
    preference: float | None = None
    score: float | None = None
    error: str | None = None
    reasoning: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.verdict is not None and self.verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {VERDICTS}, got {self.verdict!r}")
        if self.order is not None and self.order not in ("ab", "ba"):
            raise ValueError(f"order must be 'ab' or 'ba', got {self.order!r}")
        if self.kind == "pairwise" and self.model_b is None:
            raise ValueError("a pairwise judgment needs model_b")
        if self.preference is not None and not 0.0 <= self.preference <= 1.0:
            raise ValueError(f"preference must be in 0..1, got {self.preference}")

    @property
    def ok(self) -> bool:
        return self.error is None

    def to_row(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in _FIELDS}

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Judgment:
        return cls(**{name: row[name] for name in _FIELDS if name in row})


_FIELDS = ("source", "kind", "item", "model_a", "rater", "rater_kind", "model_b", "task", "prompt", "output_a",
           "output_b", "reference", "order", "verdict", "preference", "score", "error", "reasoning", "metadata")
