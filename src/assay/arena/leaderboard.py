"""The arena leaderboard, one engine for `assay arena` and the web page: ratings with intervals and rank
intervals, separability, the style-controlled ratings beside them, the pairwise win-rate matrix, the
null-model canary and the judges' agreement with the humans or labels in the same battles."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np

from assay.arena.battles import Battles, NoRatableBattles, battles_from_judgments, pairwise_win_rates
from assay.arena.bradley_terry import Ratings, Ties, fit_ratings
from assay.arena.canary import THRESHOLD, canary
from assay.arena.elo import fit_elo
from assay.arena.separability import separability
from assay.arena.style import style_controlled
from assay.errors import AssayError
from assay.judges.types import Judgment

Method = Literal["bt", "elo"]


@dataclass(frozen=True)
class RatedModel:
    """One entrant of the leaderboard: its rating (Elo-like scale) with interval, and its rank interval."""

    model: str
    rating: float
    ci_low: float
    ci_high: float
    strength: float
    rank_low: int
    rank_high: int
    battles: int
    # Wins plus half the ties, over its battles.
    win_share: float


@dataclass(frozen=True)
class Leaderboard:
    """The arena leaderboard (what `assay arena` prints). The nested figures keep the engine's plain data:
    separability {pairs, overlapping, separability}, canary {status, threshold, null_models, message},
    agreement {available, message, ...}, matrix {models, win_rate}, style_control {ratings, coefficients, ...}
    or {error}."""

    task: str | None
    method: Method
    ties: Ties
    rounds: int
    seed: int
    confidence: float
    n_battles: int
    n_prompts: int
    # Battles left out, per reason.
    skipped: dict[str, int]
    # Battles per rater kind (judge, human, label).
    raters: dict[str, int]
    tie_parameter: float | None
    # Best first.
    ratings: list[RatedModel]
    separability: dict[str, Any]
    matrix: dict[str, Any]
    canary: dict[str, Any]
    agreement: dict[str, Any]
    notes: list[str]
    style_control: dict[str, Any] | None = None

    @classmethod
    def from_dict(cls, result: Mapping[str, Any], task: str | None = None) -> Leaderboard:
        """From `arena_leaderboard`'s plain data."""
        known = {name for name in cls.__dataclass_fields__ if name not in ("task", "ratings")}
        return cls(task=task, ratings=[RatedModel(**row) for row in result["ratings"]],
                   **{k: v for k, v in result.items() if k in known})

    def to_dict(self) -> dict[str, Any]:
        """The plain data (`assay arena --json`)."""
        out = asdict(self)
        if self.style_control is None:
            del out["style_control"]
        return out


def agreement_figures(judgments: Sequence[Judgment]) -> dict[str, Any]:
    """The hook to the judges' agreement (assay.judges.agreement): each judge against the human majority
    (or the expert labels) on the same battles. {"available": False, "message"} when there is no reference."""
    kinds = {j.rater_kind for j in judgments}
    reference = "human" if "human" in kinds else "label" if "label" in kinds else None
    if reference is None or "judge" not in kinds:
        return {"available": False, "message": "agreement: not available (needs judge verdicts and human votes or "
                                               "labels on the same battles)"}
    try:
        from assay.judges.agreement import agreement
    except ImportError:
        return {"available": False, "message": "agreement: not available"}
    try:
        report = agreement(list(judgments), reference)
    except AssayError as exc:
        return {"available": False, "message": f"agreement: not available ({exc})"}
    judges = [{"judge": e["judge"], "items": e.get("items", 0),
               "accuracy": (e.get("accuracy") or {}).get("all"),
               "cohen_kappa": (e.get("cohen_kappa") or {}).get("all"),
               "positional_agreement": e.get("positional_agreement")} for e in report["judges"]]
    return {"available": True, "reference": reference, "judges": judges,
            "message": f"agreement with {reference}: " + ("; ".join(
                f"{j['judge']} accuracy {j['accuracy']['value']:.3f}" for j in judges
                if j["accuracy"] and j["accuracy"].get("value") is not None) or "no shared battles")}


def _rated(battles: Battles, method: Method, ties: Ties, rounds: int, seed: int, confidence: float) -> Ratings:
    if method == "bt":
        return fit_ratings(battles, ties=ties, rounds=rounds, seed=seed, confidence=confidence)
    if method == "elo":
        if ties != "half":
            raise AssayError("--ties davidson: only for --method bt (Elo scores a tie as half a win)")
        return fit_elo(battles, rounds=rounds, seed=seed, confidence=confidence)
    raise AssayError(f"--method: expected bt or elo, got {method!r}")


def arena_leaderboard(judgments: Iterable[Judgment], *, method: Method = "bt", ties: Ties = "half", rounds: int = 1000,
                      seed: int = 0, confidence: float = 0.95, null_models: Sequence[str] = (),
                      threshold: float = THRESHOLD, style: bool = True) -> dict[str, Any]:
    rows = list(judgments)
    battles = battles_from_judgments(rows)
    if len(battles) == 0:
        raise NoRatableBattles(battles.skipped)
    unknown = [m for m in null_models if m not in battles.models]
    if unknown:
        raise AssayError(f"--null-model {unknown[0]}: not an entrant; entrants: {', '.join(battles.models)}")
    ratings = _rated(battles, method, ties, rounds, seed, confidence)
    games = Counter(battles.a.tolist()) + Counter(battles.b.tolist())
    points = np.bincount(battles.a, battles.outcome, battles.n_models) + \
        np.bincount(battles.b, 1.0 - battles.outcome, battles.n_models)
    table = ratings.rows()
    for row in table:
        index = battles.models.index(str(row["model"]))
        row["battles"] = games[index]
        row["win_share"] = float(points[index]) / games[index]
    intervals = {str(r["model"]): (float(r["ci_low"]), float(r["ci_high"])) for r in table}  # type: ignore[arg-type]
    notes = []
    if not ratings.connected:
        notes.append("the battles do not connect every model with every other: ratings of models in different "
                     "groups are not comparable")
    result: dict[str, Any] = {
        "method": method, "ties": ties if method == "bt" else "half", "rounds": rounds, "seed": seed,
        "confidence": confidence, "n_battles": len(battles), "n_prompts": len(battles.items),
        "skipped": battles.skipped,
        "raters": dict(sorted(Counter(j.rater_kind for j in battles.judgments).items())),
        "tie_parameter": ratings.tie_parameter, "ratings": table, "separability": separability(intervals),
        "matrix": {"models": [r["model"] for r in table], "win_rate": _ordered_matrix(battles, table)},
        "canary": canary(battles, null_models, threshold), "agreement": agreement_figures(rows), "notes": notes,
    }
    if style:
        controlled = style_controlled(battles, confidence)
        if isinstance(controlled, str):
            result["style_control"] = {"error": controlled}
        else:
            style_rows = controlled.rows()
            result["style_control"] = {
                "ratings": style_rows, "coefficients": controlled.coefficients, "n_battles": controlled.n_battles,
                "n_without_outputs": controlled.n_without_outputs,
                "separability": separability({r["model"]: (r["ci_low"], r["ci_high"]) for r in style_rows})}
    return result


def _ordered_matrix(battles: Battles, table: list[dict[str, Any]]) -> list[list[float | None]]:
    rates = pairwise_win_rates(battles)
    order = [battles.models.index(str(r["model"])) for r in table]
    return [[rates[i][j] for j in order] for i in order]
