"""Mean ± confidence interval for one metric over a run's samples.

Binary scores use Wilson's interval; other scores a t interval; when samples share clusters
(same document, same question under several formats) the standard error is clustered, following
Miller (2024), "Adding Error Bars to Evals", with the usual small-sample factor G/(G-1) for G
clusters (the CR1 correction Stata and statsmodels apply) and a t critical value on G-1 degrees of
freedom. tests/stats/test_summary.py checks it against statsmodels OLS with cov_type="cluster".
Clustered 0/1 scores get Wilson's interval on the effective sample size (see _clustered_wilson), so
an all-correct clustered score still has an honest, non-zero-width interval.

Every interval returned contains its estimate (ci_low <= value <= ci_high) and a proportion's interval
lies in [0, 1] with exact bounds at 0 and 1: statsmodels' Wilson bounds carry floating-point noise
(6.9e-18 for 0/50, 0.9999999999999999 for 50/50), which would put the estimate outside its interval.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
from scipy import stats as scipy_stats
from statsmodels.stats.proportion import proportion_confint

from assay.stats.errors import StatsInputError


@dataclass(frozen=True)
class MetricSummary:
    value: float | None
    ci_low: float | None
    ci_high: float | None
    stderr: float | None
    n: int
    method: str

    def to_dict(self) -> dict[str, float | int | str | None]:
        return asdict(self)


def is_binary(values: np.ndarray) -> bool:
    return bool(np.all((values == 0.0) | (values == 1.0)))


def cluster_codes(clusters: Sequence[str | None]) -> np.ndarray:
    """Integer cluster ids; a sample without a cluster is its own cluster."""
    labels = [c if c is not None else f"\x00single_{i}" for i, c in enumerate(clusters)]
    _, codes = np.unique(np.asarray(labels, dtype=object), return_inverse=True)
    return codes.astype(np.intp)


def clustered_stderr(values: np.ndarray, clusters: Sequence[str | None] | np.ndarray) -> float:
    """Cluster-robust SE of the mean (CR1):

        sqrt(G/(G-1) * sum_c (sum_{i in c} (x_i - mean))^2) / n

    Without the G/(G-1) factor this is Miller's (2024) eq. for the clustered SE; with it, it equals
    the SE of the constant in an OLS fit with statsmodels' cov_type="cluster"."""
    array = np.asarray(values, dtype=float)
    codes = clusters if isinstance(clusters, np.ndarray) else cluster_codes(clusters)
    residual_sums = np.bincount(codes, weights=array - array.mean())
    n_clusters = residual_sums.size
    if n_clusters < 2:
        return math.nan
    return math.sqrt(n_clusters / (n_clusters - 1) * float(residual_sums @ residual_sums)) / array.size


def _proportion_interval(mean: float, low: float, high: float) -> tuple[float, float]:
    """A proportion's interval clipped to [0, 1], exact at the bounds, containing the estimate."""
    low = 0.0 if mean <= 0.0 else min(max(low, 0.0), mean)
    high = 1.0 if mean >= 1.0 else max(min(high, 1.0), mean)
    return low, high


def _clustered_wilson(array: np.ndarray, clustered_se: float, n_clusters: int, confidence: float) -> MetricSummary:
    """Wilson's interval on the effective sample size n / design effect, where the design effect is
    (clustered SE / binomial SE)^2 (Kish), at least 1. A clustered t interval on 0/1 scores collapses to
    zero width when every score is equal (all needles found): then the design effect cannot be
    estimated and the worst case, one independent observation per cluster, is used."""
    n = array.size
    mean = float(array.mean())
    binomial_variance = mean * (1 - mean) / n
    # All scores equal: no variance to estimate the design effect from, so assume the worst case.
    design_effect = max(1.0, clustered_se**2 / binomial_variance) if binomial_variance > 0 else n / n_clusters
    n_effective = n / design_effect
    low, high = proportion_confint(mean * n_effective, n_effective, alpha=1 - confidence, method="wilson")
    low, high = _proportion_interval(mean, float(low), float(high))
    return MetricSummary(mean, low, high, clustered_se, n,
                         f"clustered_wilson({n_clusters} clusters)")


def summarize(values: Sequence[float], clusters: Sequence[str | None] | None = None,
              confidence: float = 0.95) -> MetricSummary:
    array = np.asarray(values, dtype=float)
    n = int(array.size)
    if n == 0:
        return MetricSummary(None, None, None, None, 0, "none")
    mean = float(array.mean())
    if n == 1:
        return MetricSummary(mean, None, None, None, 1, "single")
    if clusters is not None and len(clusters) != n:
        raise StatsInputError(f"summarize: {len(clusters)} cluster labels for {n} values")
    if clusters is not None and any(c is not None for c in clusters):
        codes = cluster_codes(clusters)
        n_clusters = int(codes.max()) + 1
        if n_clusters == 1:
            # One cluster carries no information about between-cluster variation: no honest interval.
            return MetricSummary(mean, None, None, None, n, "clustered(1 cluster): no CI")
        if n_clusters < n:
            se = clustered_stderr(array, codes)
            if is_binary(array):
                return _clustered_wilson(array, se, n_clusters, confidence)
            critical = scipy_stats.t.ppf(0.5 + confidence / 2, df=n_clusters - 1)
            return MetricSummary(mean, mean - critical * se, mean + critical * se, se, n,
                                 f"clustered_t({n_clusters} clusters)")
    if is_binary(array):
        successes = int(array.sum())
        low, high = proportion_confint(successes, n, alpha=1 - confidence, method="wilson")
        low, high = _proportion_interval(mean, float(low), float(high))
        return MetricSummary(mean, low, high, math.sqrt(mean * (1 - mean) / n), n, "wilson")
    se = float(array.std(ddof=1) / math.sqrt(n))
    critical = scipy_stats.t.ppf(0.5 + confidence / 2, df=n - 1)
    return MetricSummary(mean, mean - critical * se, mean + critical * se, se, n, "t")
