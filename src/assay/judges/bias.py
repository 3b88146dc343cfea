"""Bias diagnostics of one rater's pairwise verdicts (no reference needed, except to compare
self-preference with it):

- position bias: among decisive verdicts with a known presentation order, how often the output shown
  first won (0.5 = no bias);
- length bias: how often the longer output won among decisive verdicts, and a logistic fit of "B won"
  on log2(length of B / length of A) (characters) with standard errors clustered by item (statsmodels);
- self-preference: on pairs where exactly one candidate shares the judge's model family, that
  candidate's win rate (1 won, ½ tie, 0 lost), and with a reference the same candidates' win rate by
  the reference on the same pairs, and the difference.

Intervals are 95% percentile bootstrap intervals clustered by item (fixed seed), like agreement's.
"""

from __future__ import annotations

import re
import warnings
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import numpy as np

from assay.judges.agreement import N_RESAMPLES, SEED, Key, Rating, to_rating
from assay.judges.types import Judgment

_ALIASES = {"chatgpt": "gpt"}  # ChatGPT is gpt-3.5-turbo
_BACKEND = re.compile(r"^(embedded|hf|llamacpp|scripted|openai)(:|$)")


def family(name: str) -> str:
    """A model family from a model or rater name: "gpt4", "GPT-4/Vanilla_NoRules", "gpt-3.5-turbo" →
    "gpt"; "openai:http://host/v1#claude-3" → "claude"; "hf:/models/SmolLM2-135M" → "smollm"."""
    text = name.split("#")[-1] if "#" in name else name
    if _BACKEND.match(text):
        text = text.split(":", 1)[1] if ":" in text else text
        text = text.rstrip("/").split("/")[-1] or text
    else:
        text = text.split("/")[0]
    match = re.match(r"[a-z]+", text.lower())
    name = match.group(0) if match else text.lower()
    return _ALIASES.get(name, name)


def _cluster_ratio(items: Sequence[str], values: Sequence[float], n_resamples: int, seed: int) -> dict[str, Any]:
    """Mean of `values` with a bootstrap interval resampling whole items."""
    if not values:
        return {"value": None, "ci": None, "n": 0}
    names = sorted(set(items))
    index = {item: i for i, item in enumerate(names)}
    sums = np.zeros(len(names))
    counts = np.zeros(len(names))
    for item, value in zip(items, values, strict=True):
        sums[index[item]] += value
        counts[index[item]] += 1
    rng = np.random.default_rng(seed)
    weights = rng.multinomial(len(names), np.full(len(names), 1.0 / len(names)), size=n_resamples)
    with np.errstate(divide="ignore", invalid="ignore"):
        draws = (weights @ sums) / (weights @ counts)
    value = float(sums.sum() / counts.sum())
    low, high = np.quantile(draws[np.isfinite(draws)], [0.025, 0.975])
    return {"value": value, "ci": [float(min(low, value)), float(max(high, value))],
            "k": float(sums.sum()), "n": int(counts.sum())}


def position_bias(ratings: Sequence[Rating], n_resamples: int = N_RESAMPLES, seed: int = SEED) -> dict[str, Any]:
    decisive = [r for r in ratings if r.order is not None and r.s != 0]
    # s = -1: P (the alphabetically first model) won; order "ab": P was shown first.
    first_won = [float((r.s == -1) == (r.order == "ab")) for r in decisive]
    return {"first_position_win_rate": _cluster_ratio([r.key[0] for r in decisive], first_won, n_resamples, seed),
            "ties": sum(r.s == 0 for r in ratings if r.order is not None),
            "without_order": sum(r.order is None for r in ratings)}


def length_bias(ratings: Sequence[Rating], n_resamples: int = N_RESAMPLES, seed: int = SEED) -> dict[str, Any]:
    usable = [r for r in ratings if r.s != 0 and r.judgment.output_a is not None and r.judgment.output_b is not None]
    missing = sum(r.judgment.output_a is None or r.judgment.output_b is None for r in ratings)
    out: dict[str, Any] = {"without_outputs": missing}
    # Lengths in the alphabetical orientation of the rating: P's output and Q's output.
    rows = []
    for r in usable:
        j = r.judgment
        a, b = len(j.output_a or ""), len(j.output_b or "")
        p_len, q_len = (a, b) if j.model_a == r.key[1] else (b, a)
        rows.append((r.key[0], float(np.log2(max(q_len, 1) / max(p_len, 1))), int(r.s == 1)))
    unequal = [(item, diff, q_won) for item, diff, q_won in rows if diff != 0]
    out["longer_output_win_rate"] = _cluster_ratio([u[0] for u in unequal],
                                                   [float((u[1] > 0) == bool(u[2])) for u in unequal], n_resamples, seed)
    out["logistic"] = _logistic(rows)
    return out


def _logistic(rows: Sequence[tuple[str, float, int]]) -> dict[str, Any]:
    """Logit P(Q won) = b0 + b1 · log2(len Q / len P), SEs clustered by item."""
    import statsmodels.api as sm

    if len(rows) < 10 or len({r[2] for r in rows}) < 2:
        return {"error": f"too few decisive verdicts with outputs ({len(rows)}) or only one outcome"}
    codes = {item: i for i, item in enumerate(sorted({r[0] for r in rows}))}
    x = sm.add_constant(np.array([r[1] for r in rows]), has_constant="add")
    y = np.array([r[2] for r in rows])
    groups = np.array([codes[r[0]] for r in rows])
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            fit = sm.Logit(y, x).fit(disp=0, cov_type="cluster", cov_kwds={"groups": groups})
    except Exception as exc:  # perfect separation, singular matrix, no convergence: reported, not hidden
        return {"error": f"logistic fit failed: {type(exc).__name__}: {' '.join(str(exc).split())[:200]}"}
    low, high = fit.conf_int()[1]
    return {"slope_per_doubling": float(fit.params[1]), "ci": [float(low), float(high)],
            "p_value": float(fit.pvalues[1]), "odds_ratio_per_doubling": float(np.exp(fit.params[1])),
            "n": len(rows), "clusters": len(codes)}


def self_preference(ratings: Sequence[Rating], judge: str, reference: dict[Key, int] | None = None,
                    n_resamples: int = N_RESAMPLES, seed: int = SEED) -> dict[str, Any]:
    own = family(judge)
    scored = []  # (item, judge score of the own-family model, key, own model is P)
    for r in ratings:
        mine = [family(m) == own for m in r.key[1:]]
        if sum(mine) == 1:
            own_is_p = mine[0]
            scored.append((r.key[0], (1 - r.s) / 2 if own_is_p else (1 + r.s) / 2, r.key, own_is_p))
    out: dict[str, Any] = {"family": own, "models": sorted({k[1 + (0 if p else 1)] for _, _, k, p in scored})}
    if not scored:
        out["note"] = f"no pair where exactly one candidate is of the judge's family {own!r}"
        return out
    out["judge_win_rate"] = _cluster_ratio([s[0] for s in scored], [s[1] for s in scored], n_resamples, seed)
    if reference is not None:
        paired = [(item, score, reference[key], own_is_p) for item, score, key, own_is_p in scored if key in reference]
        ref_scores = [(1 - ref) / 2 if own_is_p else (1 + ref) / 2 for _, _, ref, own_is_p in paired]
        items = [p[0] for p in paired]
        out["reference_win_rate"] = _cluster_ratio(items, ref_scores, n_resamples, seed)
        out["difference"] = _cluster_ratio(items, [p[1] - r for p, r in zip(paired, ref_scores, strict=True)],
                                           n_resamples, seed)
    return out


def diagnose(judgments: Sequence[Judgment], reference: dict[Key, int] | None = None,
             n_resamples: int = N_RESAMPLES, seed: int = SEED) -> dict[str, dict[str, Any]]:
    """Bias diagnostics per rater of the pairwise judgments given."""
    by_rater: dict[str, list[Rating]] = defaultdict(list)
    for j in judgments:
        rating = to_rating(j)
        if rating is not None:
            by_rater[j.rater].append(rating)
    return {rater: {"ratings": len(ratings), "position": position_bias(ratings, n_resamples, seed),
                    "length": length_bias(ratings, n_resamples, seed),
                    "self_preference": self_preference(ratings, rater, reference, n_resamples, seed)}
            for rater, ratings in sorted(by_rater.items())}
