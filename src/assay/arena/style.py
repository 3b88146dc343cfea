"""Style control: a contextual Bradley–Terry model, P(A beats B) = logistic(θA − θB + β·(zA − zB)), where z
are the style features of each response: its length and its markdown (headers, bold spans, list items).
The θ are then "what the judge prefers with style held equal". As LMArena does, each feature enters as a
normalised difference (a − b)/(a + b) (+1 in the denominator for counts), divided by its root mean square
over the battles (not centred: a zero difference stays "the same style").
Fitted by statsmodels' binomial GLM (ties as outcome 0.5); the intervals are normal intervals from the
covariance clustered by prompt (a sandwich estimator, the analytic counterpart of the prompt bootstrap
used for the raw ratings). Battles without both outputs stored cannot enter and are counted."""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.stats import norm

from assay.arena.battles import Battles
from assay.arena.bradley_terry import BASE, SCALE
from assay.stats.ranking import interval_ranks

_HEADER = re.compile(r"^\s{0,3}#{1,6}\s", re.MULTILINE)
_BOLD = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1")
_LIST = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+", re.MULTILINE)
FEATURES = ("length", "headers", "bold", "lists")
# A logit coefficient this large means P = 1 - 1e-6 for a one-unit difference: the data are separated and the
# maximum-likelihood estimate is at infinity (the optimiser merely stopped somewhere).
_SEPARATED = 15.0


def style_counts(text: str) -> tuple[float, float, float, float]:
    """(characters, markdown headers, bold spans, list items) of one response."""
    return float(len(text)), float(len(_HEADER.findall(text))), float(len(_BOLD.findall(text))), \
        float(len(_LIST.findall(text)))


def style_differences(battles: Battles) -> tuple[np.ndarray, np.ndarray]:
    """-> (rows usable: both outputs stored, standardised normalised differences (rows, 4))."""
    usable = np.array([j.output_a is not None and j.output_b is not None for j in battles.judgments], dtype=bool)
    counts_a = np.array([style_counts(j.output_a or "") for j, ok in zip(battles.judgments, usable, strict=True) if ok])
    counts_b = np.array([style_counts(j.output_b or "") for j, ok in zip(battles.judgments, usable, strict=True) if ok])
    if counts_a.size == 0:
        return usable, np.zeros((0, len(FEATURES)))
    denominator = counts_a + counts_b + np.array([0.0, 1.0, 1.0, 1.0])
    with np.errstate(invalid="ignore", divide="ignore"):
        diff = np.where(denominator > 0, (counts_a - counts_b) / np.where(denominator > 0, denominator, 1.0), 0.0)
    # Scaled, not centred: the features are antisymmetric (swapping A and B negates them), so a zero
    # difference must stay zero; that is the "same style" at which θ is read.
    spread = np.sqrt(np.mean(diff**2, axis=0))
    return usable, np.where(spread > 0, diff / np.where(spread > 0, spread, 1.0), 0.0)


@dataclass(frozen=True)
class StyleControlled:
    models: tuple[str, ...]
    theta: np.ndarray
    low: np.ndarray
    high: np.ndarray
    coefficients: dict[str, dict[str, float]]  # feature -> {"coef", "se"} per RMS of the feature difference;
    # features that never differ between the sides are left out
    n_battles: int
    n_without_outputs: int

    def rows(self) -> list[dict[str, Any]]:
        ranks = interval_ranks({m: (float(self.low[i]), float(self.high[i])) for i, m in enumerate(self.models)})
        rows = [{"model": m, "rating": BASE + SCALE * float(self.theta[i]), "ci_low": BASE + SCALE * float(self.low[i]),
                 "ci_high": BASE + SCALE * float(self.high[i]), "rank_low": ranks[m][0], "rank_high": ranks[m][1]}
                for i, m in enumerate(self.models)]
        return sorted(rows, key=lambda r: (-r["rating"], r["model"]))


def style_controlled(battles: Battles, confidence: float = 0.95,
                     features: tuple[str, ...] = FEATURES) -> StyleControlled | str:
    """The contextual fit, or a one-line reason why there is none (too few battles with outputs, a fit
    that does not exist: a model that never lost, or style that decides every battle)."""
    import statsmodels.api as sm

    usable, diffs = style_differences(battles)
    n_models = battles.n_models
    if diffs.shape[0] <= n_models + len(features):
        return f"needs both outputs of more than {n_models + len(features)} battles; {diffs.shape[0]} have them"
    # a feature that never differs between the two sides (no markdown anywhere) has no coefficient
    features = tuple(f for f in features if np.any(diffs[:, FEATURES.index(f)] != 0.0))
    columns = [FEATURES.index(f) for f in features]
    a, b = battles.a[usable], battles.b[usable]
    rows = np.arange(a.size)
    design = np.zeros((a.size, n_models))
    design[rows, a] = 1.0
    design[rows, b] = -1.0
    exog = np.hstack([design[:, 1:], diffs[:, columns]])  # model 0 is the reference (θ0 = 0), re-centred below
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit = sm.GLM(battles.outcome[usable], exog, family=sm.families.Binomial()).fit(
                cov_type="cluster", cov_kwds={"groups": battles.item[usable]})
    except Exception as exc:  # statsmodels raises several types (separation, singular matrix)
        return f"the fit failed ({type(exc).__name__}: {exc})"
    params, cov = np.asarray(fit.params), np.asarray(fit.cov_params())
    if not np.all(np.isfinite(params)) or not np.all(np.isfinite(cov)) or not fit.converged \
            or float(np.max(np.abs(params))) > _SEPARATED:
        return ("the fit has no finite maximum: style or a model decides every battle (a model that never lost, or "
                "the longer answer always won); more battles are needed")
    k = n_models - 1
    embed = np.vstack([np.zeros((1, k)), np.eye(k)])  # (n, n-1)
    centre = np.eye(n_models) - 1.0 / n_models
    transform = centre @ embed
    theta = transform @ params[:k]
    se = np.sqrt(np.clip(np.diag(transform @ cov[:k, :k] @ transform.T), 0.0, None))
    z = float(norm.ppf(0.5 + confidence / 2.0))
    coefficients = {f: {"coef": float(params[k + i]), "se": float(np.sqrt(cov[k + i, k + i]))}
                    for i, f in enumerate(features)}
    return StyleControlled(models=battles.models, theta=theta, low=theta - z * se, high=theta + z * se,
                           coefficients=coefficients, n_battles=int(usable.sum()),
                           n_without_outputs=int((~usable).sum()))
