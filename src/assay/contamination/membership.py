"""Membership scores from per-token log-probabilities (the `token_logprobs`, `token_mu`, `token_sigma`
lists a backend puts in a rolling log-likelihood's meta), and AUROC with a bootstrap CI.

- Min-K% Prob (Shi et al., 2023): the mean log-probability of the k% least likely tokens of the text.
- Min-K%++ (Zhang et al., 2024): the same over per-token z-scores (log p(x_t) − μ_t) / σ_t, where μ_t and
  σ_t are the mean and standard deviation of log p under the model's next-token distribution.
Higher scores mean "more likely seen in training" (a member)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from assay.errors import AssayError


def _lowest_mean(values: np.ndarray, k_percent: float) -> float:
    count = max(1, math.ceil(len(values) * k_percent / 100.0))
    return float(np.mean(np.sort(values)[:count]))


def min_k_prob(token_logprobs: Sequence[float], k_percent: float = 20.0) -> float:
    if not token_logprobs:
        raise ValueError("Min-K% needs at least one token")
    return _lowest_mean(np.asarray(token_logprobs, dtype=float), k_percent)


def min_k_plus_plus(token_logprobs: Sequence[float], mu: Sequence[float], sigma: Sequence[float],
                    k_percent: float = 20.0) -> float:
    if not token_logprobs or not len(token_logprobs) == len(mu) == len(sigma):
        raise ValueError("Min-K%++ needs token log-probabilities, means and deviations of the same nonzero length")
    z = (np.asarray(token_logprobs, float) - np.asarray(mu, float)) / np.maximum(np.asarray(sigma, float), 1e-12)
    return _lowest_mean(z, k_percent)


def scores_from_meta(meta: Mapping[str, Any], k_percent: float, where: str) -> dict[str, float]:
    """Min-K% and Min-K%++ of one rolling response; a backend without per-token values is an error."""
    logprobs = meta.get("token_logprobs")
    if not logprobs:
        raise AssayError(f"{where}: the backend returned no per-token log-probabilities (token_logprobs in the "
                         "rolling response); Min-K% needs a backend that gives them (hf, embedded, scripted)")
    out = {"min_k": min_k_prob(logprobs, k_percent)}
    if meta.get("token_mu") and meta.get("token_sigma"):
        out["min_k_plus_plus"] = min_k_plus_plus(logprobs, meta["token_mu"], meta["token_sigma"], k_percent)
    return out


@dataclass(frozen=True)
class Auroc:
    value: float
    ci_low: float
    ci_high: float
    n_members: int
    n_nonmembers: int
    method: str

    def to_dict(self) -> dict[str, Any]:
        return {"auroc": round(self.value, 4), "ci_low": round(self.ci_low, 4), "ci_high": round(self.ci_high, 4),
                "n_members": self.n_members, "n_nonmembers": self.n_nonmembers, "method": self.method}


def auroc_with_ci(scores: Sequence[float], labels: Sequence[int], seed: int = 1234, n_resamples: int = 2000,
                  confidence: float = 0.95) -> Auroc:
    """AUROC of `scores` for labels (1 = member), with a percentile bootstrap CI resampling members and
    non-members separately (each resample keeps both classes)."""
    from scipy.stats import bootstrap

    try:
        from sklearn.metrics import roc_auc_score
    except ImportError:
        raise AssayError("contamination: the AUROC of labelled texts needs scikit-learn: "
                         "pip install 'assay[contamination]'") from None

    y = np.asarray(labels, dtype=int)
    x = np.asarray(scores, dtype=float)
    members, others = x[y == 1], x[y == 0]
    if len(members) < 2 or len(others) < 2:
        raise AssayError(f"AUROC needs at least 2 members and 2 non-members, got {len(members)} and {len(others)}")
    value = float(roc_auc_score(y, x))

    def statistic(member_scores: np.ndarray, other_scores: np.ndarray) -> float:
        both = np.concatenate([member_scores, other_scores])
        truth = np.concatenate([np.ones(len(member_scores)), np.zeros(len(other_scores))])
        return float(roc_auc_score(truth, both))

    result = bootstrap((members, others), statistic, n_resamples=n_resamples, confidence_level=confidence,
                       method="percentile", vectorized=False, paired=False, random_state=np.random.default_rng(seed))
    interval = result.confidence_interval
    return Auroc(value, float(interval.low), float(interval.high), len(members), len(others),
                 f"percentile bootstrap ({n_resamples} resamples, members and non-members resampled separately)")
