"""`assay.arena` (the leaderboard of all stored battles), `assay.winrate` (win rates against a baseline) and
`assay.agreement` (judges against a reference): the library behind `assay arena`, `assay winrate` and
`assay agreement`. Each reads the pairwise judgments stored by `battle`, `assay import judgments` and the
labelling page."""

from __future__ import annotations

from collections.abc import Sequence

from assay.api.runs_given import Db, judgments_store
from assay.arena.leaderboard import Leaderboard, Method
from assay.arena.winrate import WinRates
from assay.errors import AssayError
from assay.judges.agreement_report import AgreementReport
from assay.judges.types import Judgment

CANARY_THRESHOLD = 0.10


def _sources(source: str | Sequence[str] | None) -> list[str] | None:
    return [source] if isinstance(source, str) else list(source) if source else None


def _battles(db: Db, task: str | None, source: str | Sequence[str] | None) -> list[Judgment]:
    from assay.judges.store import pairwise_judgments

    with judgments_store(db) as store:
        return pairwise_judgments(store, _sources(source), task)


def _check_threshold(threshold: float) -> None:
    if not 0.0 <= threshold < 1.0:
        raise AssayError(f"--canary-threshold: expected a share in [0, 1), got {threshold}")


def arena(
    *,
    db: Db = None,
    task: str | None = None,
    source: str | Sequence[str] | None = None,
    method: Method = "bt",
    ties: str = "half",
    rounds: int = 1000,
    seed: int = 0,
    null_models: Sequence[str] = (),
    canary_threshold: float = CANARY_THRESHOLD,
) -> Leaderboard:
    """The leaderboard from the stored battles of `db` (None: ./assay.db; or a Store): ratings with intervals
    and rank intervals, separability, style control, the null-model canary and the judges' agreement.

    task: only battles of this task; source: only judgments of these sources; method: bt (Bradley–Terry) or
    elo; ties: half (a tie is half a win) or davidson; rounds: bootstrap rounds (prompts resampled);
    null_models: entrants to treat as null models; canary_threshold: the leaderboard is flagged gameable when
    a null model wins more than this share. Bad input raises AssayError."""
    from assay.arena.leaderboard import arena_leaderboard

    _check_threshold(canary_threshold)
    if method not in ("bt", "elo"):
        raise AssayError(f"--method: expected bt or elo, got {method!r}")
    if ties not in ("half", "davidson"):
        raise AssayError(f"--ties: expected half or davidson, got {ties!r}")
    if rounds < 1:
        raise AssayError(f"--rounds: expected a whole number ≥ 1, got {rounds}")
    judgments = _battles(db, task, source)
    result = arena_leaderboard(judgments, method=method, ties=ties, rounds=rounds,  # type: ignore[arg-type]
                               seed=seed, null_models=list(null_models), threshold=canary_threshold)
    return Leaderboard.from_dict(result, task)


def winrate(
    baseline: str,
    *,
    db: Db = None,
    task: str | None = None,
    source: str | Sequence[str] | None = None,
    null_models: Sequence[str] = (),
    canary_threshold: float = CANARY_THRESHOLD,
) -> WinRates:
    """Win rates of every model against `baseline` per rater (AlpacaEval's figures, length-controlled too) and
    the null-model canary, from the stored battles; the options are `arena`'s. Bad input raises AssayError."""
    from assay.arena.winrate import winrates

    _check_threshold(canary_threshold)
    result = winrates(_battles(db, task, source), baseline, list(null_models), canary_threshold)
    return WinRates.from_dict(result, task)


def agreement(
    *,
    db: Db = None,
    judge: str | None = None,
    reference: str | None = None,
    source: str | Sequence[str] | None = None,
) -> AgreementReport:
    """Each judge (or the one named) against a reference: accuracy per order and in both orders, positional
    agreement, Cohen's and Fleiss' κ, win rates and bias diagnostics, each with a bootstrap interval clustered
    by item. reference: human (the majority of human raters), label (expert labels) or a rater's name;
    default human when human judgments are selected, else label. Bad input raises AssayError."""
    from assay.judges.agreement_report import agreement_report

    return agreement_report(_battles(db, None, source), reference, judge)
