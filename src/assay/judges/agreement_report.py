"""`assay agreement` as a library call: each judge against a reference (expert labels, the human majority or a
rater) with the bias diagnostics beside, as a typed report."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from assay.judges.types import Judgment


@dataclass(frozen=True)
class AgreementReport:
    """The judges' agreement with the reference (what `assay agreement` prints).

    judges: one entry per judge: judge, judgments, errors, without_reference, items, accuracy {ab, ba, average,
    all}, both_orders, positional_agreement, cohen_kappa {ab, ba, all}, fleiss_kappa, win_rate {judge,
    reference} and bias (position, length, self_preference); each figure {value, ci, k, n} with a bootstrap
    interval clustered by item."""

    # human | label | a rater's name.
    reference: str
    reference_raters: int
    # Pairs the reference rated, and its unreadable ratings.
    reference_keys: int
    reference_errors: int
    reference_fleiss_kappa: dict[str, Any] | None
    judges: list[dict[str, Any]]
    bootstrap: dict[str, Any]
    # The judgment sources read.
    sources: list[str]

    @classmethod
    def from_dict(cls, report: Mapping[str, Any]) -> AgreementReport:
        return cls(**{name: report[name] for name in cls.__dataclass_fields__})

    def to_dict(self) -> dict[str, Any]:
        """The plain data (`assay agreement --json`)."""
        return asdict(self)


def default_reference(judgments: Sequence[Judgment]) -> str:
    """The human majority when human judgments are selected, else the expert labels."""
    return "human" if any(j.rater_kind == "human" for j in judgments) else "label"


def agreement_report(judgments: Sequence[Judgment], reference: str | None = None,
                     judge: str | None = None) -> AgreementReport:
    """Every judge (or the one named) against `reference` (default: `default_reference`), with its biases."""
    from assay.judges.agreement import agreement, majority, reference_ratings
    from assay.judges.bias import diagnose

    rows = list(judgments)
    reference = reference or default_reference(rows)
    report = agreement(rows, reference, judge)
    ref = majority(reference_ratings(rows, reference))
    names = {entry["judge"] for entry in report["judges"]}
    biases = diagnose([j for j in rows if j.rater in names], ref)
    for entry in report["judges"]:
        entry["bias"] = biases.get(entry["judge"])
    return AgreementReport.from_dict({**report, "sources": sorted({j.source for j in rows})})
