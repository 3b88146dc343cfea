"""Win rates against a baseline, as AlpacaEval reports them, per model and rater.

For each battle against the baseline the model's preference p is in 0..1: the rater's continuous
preference where it gave one (AlpacaEval's weighted annotators), else 1 / 0.5 / 0 from the verdict.
win_rate = 100·mean(p); standard_error = 100·sd(p, ddof 1)/√n; wins / losses / draws are p above / below /
at 0.5; discrete_win_rate = 100·(wins + draws/2)/n; avg_length = mean characters of the model's outputs.

Length-controlled win rate (AlpacaEval 2's GLM): logit P(model preferred) = θ + φ·tanh(Δ/sd(Δ)), Δ = the
model's output length minus the baseline's, fitted to p by a binomial GLM (statsmodels); the controlled
win rate is 100·logistic(θ), the win rate with the length term at zero, with a delta-method standard
error. AlpacaEval's GLM also has an instruction-difficulty term estimated from all models of its
leaderboard; it is omitted here, so the figure is not AlpacaEval's (86.46 for its NullModel)."""

from __future__ import annotations

import math
import warnings
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy.special import expit

from assay.arena.battles import battles_from_judgments, preference_for_b
from assay.arena.canary import THRESHOLD, canary
from assay.errors import AssayError
from assay.judges.types import Judgment


@dataclass(frozen=True)
class WinRateRow:
    """One model's win rate against the baseline, as one rater (human voters count as one) saw it; percentages."""

    model: str
    rater: str
    # Battles with a verdict, and those without (judge errors).
    n_total: int
    n_errors: int
    win_rate: float | None
    standard_error: float | None
    n_wins: int
    n_wins_base: int
    n_draws: int
    discrete_win_rate: float | None
    # Mean characters of the model's outputs.
    avg_length: float | None
    length_controlled_win_rate: float | None
    lc_standard_error: float | None
    length_coef: float | None
    # Why there is no length-controlled figure, else None.
    lc_error: str | None


@dataclass(frozen=True)
class WinRates:
    """Win rates against `baseline` (what `assay winrate` prints); canary: {status, threshold, null_models,
    message}."""

    baseline: str
    task: str | None
    # Highest win rate first.
    rows: list[WinRateRow]
    canary: dict[str, Any]

    @classmethod
    def from_dict(cls, result: Mapping[str, Any], task: str | None = None) -> WinRates:
        """From `winrates`'s plain data."""
        return cls(baseline=result["baseline"], task=task, rows=[WinRateRow(**row) for row in result["rows"]],
                   canary=result["canary"])

    def to_dict(self) -> dict[str, Any]:
        """The plain data (`assay winrate --json`)."""
        return asdict(self)


def length_controlled(preference: np.ndarray, length_model: np.ndarray, length_baseline: np.ndarray) -> dict[str, Any]:
    """{"win_rate", "standard_error", "length_coef"} or {"error": why not}."""
    import statsmodels.api as sm

    delta = length_model - length_baseline
    if preference.size < 3:
        return {"error": f"needs at least 3 battles, has {preference.size}"}
    spread = float(np.std(delta))
    if not math.isfinite(spread):
        return {"error": "needs both outputs of every battle (lengths)"}
    if spread == 0.0:
        return {"error": "every output is longer than the baseline's by the same amount: length effect not estimable"}
    exog = np.column_stack([np.ones_like(delta), np.tanh(delta / spread)])
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit = sm.GLM(preference, exog, family=sm.families.Binomial()).fit()
    except Exception as exc:  # separation or a singular design: statsmodels raises several types
        return {"error": f"the GLM fit failed ({type(exc).__name__})"}
    theta, se = float(fit.params[0]), float(fit.bse[0])
    if not (math.isfinite(theta) and math.isfinite(se)) or abs(theta) > 15.0 or not fit.converged:
        return {"error": "the GLM fit did not converge (all preferences 0 or 1?)"}
    p = float(expit(theta))
    return {"win_rate": 100.0 * p, "standard_error": 100.0 * p * (1.0 - p) * se, "length_coef": float(fit.params[1])}


def _group(judgment: Judgment) -> str:
    return "human" if judgment.rater_kind == "human" else judgment.rater


def winrates(judgments: Iterable[Judgment], baseline: str, declared_null: Iterable[str] = (),
             threshold: float = THRESHOLD) -> dict[str, Any]:
    """{"baseline", "rows": one per (model, rater), "canary", "errors"}; human voters count as one rater."""
    per: dict[tuple[str, str], list[tuple[float, float, float, str]]] = defaultdict(list)
    errors: dict[tuple[str, str], int] = defaultdict(int)
    against: list[Judgment] = []
    for j in judgments:
        if j.kind != "pairwise" or baseline not in (j.model_a, j.model_b) or j.model_a == j.model_b:
            continue
        model = str(j.model_b) if j.model_a == baseline else j.model_a
        if j.error is not None:
            errors[(model, _group(j))] += 1
            continue
        p_b = preference_for_b(j)
        if p_b is None:
            errors[(model, _group(j))] += 1
            continue
        against.append(j)
        own, base = (j.output_b, j.output_a) if j.model_a == baseline else (j.output_a, j.output_b)
        length = float(len(own)) if own is not None else math.nan
        length_base = float(len(base)) if base is not None else math.nan
        per[(model, _group(j))].append((p_b if j.model_a == baseline else 1.0 - p_b, length, length_base, j.item))
    if not per and not errors:
        raise AssayError(f"--baseline: no stored pairwise judgment has {baseline!r} on either side")
    rows = []
    for (model, rater) in sorted(set(per) | set(errors)):
        values = per.get((model, rater), [])
        pref = np.array([v[0] for v in values])
        lengths = np.array([v[1] for v in values])
        n = pref.size
        wins, losses = int((pref > 0.5).sum()), int((pref < 0.5).sum())
        draws = n - wins - losses
        row: dict[str, Any] = {
            "model": model, "rater": rater, "n_total": n, "n_errors": errors.get((model, rater), 0),
            "win_rate": 100.0 * float(pref.mean()) if n else None,
            "standard_error": 100.0 * float(pref.std(ddof=1)) / math.sqrt(n) if n > 1 else None,
            "n_wins": wins, "n_wins_base": losses, "n_draws": draws,
            "discrete_win_rate": 100.0 * (wins + draws / 2.0) / n if n else None,
            "avg_length": float(np.nanmean(lengths)) if n and np.isfinite(lengths).any() else None,
        }
        lc = length_controlled(pref, lengths, np.array([v[2] for v in values])) if n else {"error": "no battle"}
        row["length_controlled_win_rate"] = lc.get("win_rate")
        row["lc_standard_error"] = lc.get("standard_error")
        row["length_coef"] = lc.get("length_coef")
        row["lc_error"] = lc.get("error")
        rows.append(row)
    rows.sort(key=lambda r: (-(r["win_rate"] if r["win_rate"] is not None else -1.0), r["model"], r["rater"]))
    battles = battles_from_judgments(against)
    unknown = [m for m in declared_null if m not in battles.models]
    if unknown:
        raise AssayError(f"--null-model {unknown[0]}: not an entrant against {baseline}; entrants: "
                         f"{', '.join(battles.models)}")
    return {"baseline": baseline, "rows": rows, "canary": canary(battles, declared_null, threshold)}
