"""Paired comparison of two models scored on the same samples: the difference of means with a
confidence interval, a test, its p-value, and the smallest effect this comparison could detect.

Which test (the difference is always d_i = b_i - a_i, reported as mean_b - mean_a):
- binary scores, no clusters: McNemar's test on the discordant pairs (exact binomial when fewer than
  25 are discordant, chi-square with continuity correction otherwise; statsmodels). The interval is
  Agresti & Min's (2005) Wald interval for matched proportions with 0.5 added to each cell, which
  keeps its coverage near nominal and never collapses to zero width.
- other scores, no clusters: Wilcoxon signed-rank test (scipy; robust to a few extreme scores);
  the interval is a t interval on the mean difference. The test is about the location of the paired
  differences, so on skewed data it can disagree with the mean's interval near the threshold.
- samples in clusters (several samples from one document or question): the samples of a cluster are
  not independent, so both of the above would be too confident. A paired cluster bootstrap resamples
  whole clusters; the interval is its percentile interval and the p-value the two-sided bootstrap
  p-value (twice the smaller tail mass at zero), so p < 1 - confidence exactly when 0 is outside the
  interval.
mde_80 is (z_{0.975} + z_{0.8}) x the standard error behind the interval (assay.stats.power).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np
from scipy import stats as scipy_stats
from statsmodels.stats.contingency_tables import mcnemar

from assay.stats.errors import StatsInputError
from assay.stats.power import mde_from_stderr
from assay.stats.summary import cluster_codes, clustered_stderr, is_binary

PairedTest = Literal["mcnemar", "wilcoxon", "paired_bootstrap"]

# statsmodels' own advice: the exact binomial test when the discordant count is small.
EXACT_MCNEMAR_BELOW = 25


@dataclass(frozen=True)
class PairedResult:
    n: int
    mean_a: float
    mean_b: float
    # mean_b - mean_a: positive when B scores higher.
    diff: float
    ci_low: float
    ci_high: float
    test: PairedTest
    p_value: float
    # Minimum detectable effect at 80% power, alpha 0.05, for this n and the observed paired variance.
    mde_80: float
    stderr: float = math.nan
    n_clusters: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm-Bonferroni adjusted p-values (family-wise error control), in the input order."""
    if len(p_values) == 0:
        return []
    # By hand rather than statsmodels' multipletests: its Holm branch ends with a full gc.collect(), which
    # costs hundreds of ms inside a web server's heap (the compare page). Same values (tests/stats/test_paired.py).
    values = np.asarray(p_values, dtype=float)
    order = np.argsort(values, kind="stable")
    stepped = np.maximum.accumulate(values[order] * np.arange(values.size, 0, -1))
    adjusted = np.empty_like(values)
    adjusted[order] = np.minimum(stepped, 1.0)
    return [float(p) for p in adjusted]


def _validated(a: Sequence[float], b: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    array_a, array_b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if array_a.ndim != 1 or array_a.shape != array_b.shape:
        raise StatsInputError(f"compare_paired: a and b must be 1-d and the same length, got {array_a.shape} "
                              f"and {array_b.shape}")
    if array_a.size < 2:
        raise StatsInputError(f"compare_paired: a paired comparison needs at least 2 pairs, got {array_a.size}")
    if not (np.all(np.isfinite(array_a)) and np.all(np.isfinite(array_b))):
        raise StatsInputError("compare_paired: scores must be finite numbers (drop failed samples first)")
    return array_a, array_b


def _mcnemar(a: np.ndarray, b: np.ndarray, z: float) -> tuple[float, float, float, float]:
    """(p, ci_low, ci_high, stderr) for binary paired scores."""
    only_a = int(np.sum((a == 1) & (b == 0)))
    only_b = int(np.sum((a == 0) & (b == 1)))
    both = int(np.sum((a == 1) & (b == 1)))
    neither = a.size - only_a - only_b - both
    discordant = only_a + only_b
    if discordant == 0:
        p_value = 1.0
    else:
        table = [[both, only_a], [only_b, neither]]
        result = mcnemar(table, exact=discordant < EXACT_MCNEMAR_BELOW, correction=True)
        p_value = float(result.pvalue)
    # Agresti & Min (2005): add 0.5 to every cell, then the Wald interval for matched proportions.
    n_adj = a.size + 2.0
    b_adj, c_adj = only_a + 0.5, only_b + 0.5
    diff_adj = (c_adj - b_adj) / n_adj
    stderr = math.sqrt(max((b_adj + c_adj) - (c_adj - b_adj) ** 2 / n_adj, 0.0)) / n_adj
    return p_value, max(diff_adj - z * stderr, -1.0), min(diff_adj + z * stderr, 1.0), stderr


def _wilcoxon(d: np.ndarray, confidence: float) -> tuple[float, float, float, float]:
    # scipy cannot rank an all-zero difference; no difference at all is p = 1.
    p_value = 1.0 if np.all(d == 0) else float(scipy_stats.wilcoxon(d).pvalue)
    stderr = float(d.std(ddof=1) / math.sqrt(d.size))
    critical = float(scipy_stats.t.ppf(0.5 + confidence / 2, df=d.size - 1))
    mean = float(d.mean())
    return p_value, mean - critical * stderr, mean + critical * stderr, stderr


def _cluster_bootstrap(d: np.ndarray, codes: np.ndarray, confidence: float, n_resamples: int,
                       seed: int) -> tuple[float, float, float]:
    """(p, ci_low, ci_high) from resampling whole clusters of paired differences."""
    cluster_sums = np.bincount(codes, weights=d)
    cluster_sizes = np.bincount(codes).astype(float)
    n_clusters = cluster_sums.size
    rng = np.random.default_rng(seed)
    means = np.empty(n_resamples)
    per_batch = max(1, 500_000 // n_clusters)
    for start in range(0, n_resamples, per_batch):
        size = min(per_batch, n_resamples - start)
        picked = rng.integers(0, n_clusters, size=(size, n_clusters))
        means[start:start + size] = cluster_sums[picked].sum(axis=1) / cluster_sizes[picked].sum(axis=1)
    tail = (1.0 - confidence) / 2.0
    low, high = np.quantile(means, [tail, 1.0 - tail])
    below, above = (np.sum(means <= 0) + 1) / (n_resamples + 1), (np.sum(means >= 0) + 1) / (n_resamples + 1)
    return float(min(1.0, 2.0 * min(below, above))), float(low), float(high)


def compare_paired(a: Sequence[float], b: Sequence[float], clusters: Sequence[str | None] | None = None,
                   confidence: float = 0.95, n_resamples: int = 10_000, seed: int = 0) -> PairedResult:
    """Compare scores b against a on the same samples (a[i] and b[i] belong to one sample)."""
    array_a, array_b = _validated(a, b)
    if not 0.0 < confidence < 1.0:
        raise StatsInputError(f"compare_paired: confidence must be in (0, 1), got {confidence}")
    if clusters is not None and len(clusters) != array_a.size:
        raise StatsInputError(f"compare_paired: {len(clusters)} clusters for {array_a.size} pairs")
    n = int(array_a.size)
    d = array_b - array_a
    codes = cluster_codes(clusters) if clusters is not None and any(c is not None for c in clusters) else None
    n_clusters = int(codes.max()) + 1 if codes is not None else None
    test: PairedTest
    if codes is not None and n_clusters is not None and n_clusters < n:
        if n_clusters < 2:
            raise StatsInputError("compare_paired: all pairs are in one cluster; a clustered comparison needs "
                                  "at least 2 clusters")
        p_value, low, high = _cluster_bootstrap(d, codes, confidence, n_resamples, seed)
        stderr, test = clustered_stderr(d, codes), "paired_bootstrap"
    elif is_binary(array_a) and is_binary(array_b):
        z = float(scipy_stats.norm.ppf(0.5 + confidence / 2))
        p_value, low, high, stderr = _mcnemar(array_a, array_b, z)
        test, n_clusters = "mcnemar", None
    else:
        p_value, low, high, stderr = _wilcoxon(d, confidence)
        test, n_clusters = "wilcoxon", None
    diff = float(d.mean())
    # The adjusted (Agresti-Min) and percentile-bootstrap intervals are not centred on the raw difference; in
    # extreme cases they can miss it, and an interval must contain its own estimate.
    low, high = min(low, diff), max(high, diff)
    return PairedResult(n=n, mean_a=float(array_a.mean()), mean_b=float(array_b.mean()), diff=diff,
                        ci_low=low, ci_high=high, test=test, p_value=p_value, mde_80=mde_from_stderr(stderr),
                        stderr=stderr, n_clusters=n_clusters)
