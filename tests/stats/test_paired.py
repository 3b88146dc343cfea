"""compare_paired and holm against independent references: textbook McNemar tables, an exact
sign-flip enumeration for Wilcoxon, a loop cluster bootstrap, statsmodels' power solver, simulation."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy import stats as scipy_stats
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.power import NormalIndPower

from assay.errors import AssayError
from assay.stats.paired import compare_paired, holm


def _pairs_from_table(both: int, only_a: int, only_b: int, neither: int) -> tuple[list[float], list[float]]:
    a = [1.0] * both + [1.0] * only_a + [0.0] * only_b + [0.0] * neither
    b = [1.0] * both + [0.0] * only_a + [1.0] * only_b + [0.0] * neither
    return a, b


def test_mcnemar_agresti_presidential_approval_table() -> None:
    # Agresti, Categorical Data Analysis (2002), Table 10.1: 1600 people asked twice. Approve/approve 794,
    # approve/disapprove 150, disapprove/approve 86, disapprove/disapprove 570. Difference 0.55 - 0.59 = -0.04,
    # Wald SE 0.0096; McNemar z^2 = 17.36, with continuity correction (|150-86|-1)^2/236 = 16.82.
    a, b = _pairs_from_table(794, 150, 86, 570)
    result = compare_paired(a, b)
    assert result.test == "mcnemar"
    assert result.diff == pytest.approx(-0.04)
    assert result.mean_a == pytest.approx(944 / 1600) and result.mean_b == pytest.approx(880 / 1600)
    assert result.p_value == pytest.approx(scipy_stats.chi2.sf(63**2 / 236, df=1), rel=1e-9)
    assert result.p_value == pytest.approx(4.1e-5, rel=0.05)
    # Agresti-Min's adjusted interval is within a hair of the textbook Wald interval at this size.
    assert result.ci_low == pytest.approx(-0.04 - 1.96 * 0.0096, abs=0.001)
    assert result.ci_high == pytest.approx(-0.04 + 1.96 * 0.0096, abs=0.001)


def test_mcnemar_exact_for_few_discordant_pairs() -> None:
    # 1 vs 7 discordant pairs: exact two-sided binomial p = 2 * P(X <= 1 | 8, 1/2) = 2 * 9 / 256.
    a, b = _pairs_from_table(20, 1, 7, 12)
    result = compare_paired(a, b)
    assert result.p_value == pytest.approx(2 * 9 / 256)
    assert result.diff == pytest.approx(6 / 40)


def test_no_discordant_pairs_gives_p_one_and_a_nonzero_interval() -> None:
    a, b = _pairs_from_table(30, 0, 0, 10)
    result = compare_paired(a, b)
    assert result.p_value == 1.0 and result.diff == 0.0
    assert result.ci_low < 0.0 < result.ci_high


def test_agresti_min_interval_covers_at_nominal_rate() -> None:
    rng = np.random.default_rng(4)
    # joint cells (both, only_a, only_b, neither); true difference p_b - p_a = 0.12 - 0.08 = 0.04
    cells = np.array([0.55, 0.08, 0.12, 0.25])
    covered = 0
    repetitions = 1000
    for counts in rng.multinomial(60, cells, size=repetitions):
        result = compare_paired(*_pairs_from_table(*counts))
        covered += result.ci_low <= 0.04 <= result.ci_high
    assert 0.925 <= covered / repetitions <= 0.98


def _exact_wilcoxon_p(d: np.ndarray) -> float:
    ranks = scipy_stats.rankdata(np.abs(d))
    observed = ranks[d > 0].sum()
    totals = [sum(r for r, positive in zip(ranks, signs, strict=True) if positive)
              for signs in itertools.product([False, True], repeat=d.size)]
    totals_array = np.array(totals)
    lower = np.mean(totals_array <= observed)
    upper = np.mean(totals_array >= observed)
    return min(1.0, 2 * min(lower, upper))


def test_wilcoxon_matches_exact_sign_flip_enumeration() -> None:
    rng = np.random.default_rng(8)
    a = rng.normal(0.5, 0.2, size=12)
    b = a + rng.normal(0.15, 0.2, size=12)
    result = compare_paired(a, b)
    assert result.test == "wilcoxon"
    assert result.p_value == pytest.approx(_exact_wilcoxon_p(b - a), rel=1e-9)
    reference = scipy_stats.ttest_rel(b, a).confidence_interval(0.95)
    assert (result.ci_low, result.ci_high) == pytest.approx((reference.low, reference.high), rel=1e-9)


def test_mde_matches_statsmodels_one_sample_power() -> None:
    rng = np.random.default_rng(1)
    a = rng.normal(0.6, 0.3, size=200)
    b = a + rng.normal(0.0, 0.25, size=200)
    result = compare_paired(a, b)
    effect = NormalIndPower().solve_power(nobs1=200, alpha=0.05, power=0.8, ratio=0)  # in SD units
    assert result.mde_80 == pytest.approx(effect * np.std(b - a, ddof=1), rel=1e-3)


def _loop_cluster_bootstrap(d: np.ndarray, clusters: list[str], resamples: int, seed: int) -> tuple[float, float]:
    rng = np.random.default_rng(seed)
    groups: dict[str, list[float]] = {}
    for value, cluster in zip(d, clusters, strict=True):
        groups.setdefault(cluster, []).append(float(value))
    members = list(groups.values())
    means = []
    for _ in range(resamples):
        chosen = [members[i] for i in rng.integers(0, len(members), len(members))]
        means.append(sum(sum(g) for g in chosen) / sum(len(g) for g in chosen))
    low, high = np.quantile(means, [0.025, 0.975])
    return float(low), float(high)


def test_clustered_pairs_use_cluster_bootstrap_and_widen_the_interval() -> None:
    rng = np.random.default_rng(6)
    n_clusters, per_cluster = 40, 6
    clusters = [f"doc{c}" for c in range(n_clusters) for _ in range(per_cluster)]
    # Whole documents are easy or hard for model B relative to A: strongly clustered differences.
    doc_skill = np.repeat(np.where(rng.random(n_clusters) < 0.5, 0.05, 0.95), per_cluster)
    a = (rng.random(n_clusters * per_cluster) < 0.5).astype(float)
    b = (rng.random(n_clusters * per_cluster) < doc_skill).astype(float)
    clustered = compare_paired(a, b, clusters)
    naive = compare_paired(a, b)
    assert clustered.test == "paired_bootstrap" and clustered.n_clusters == n_clusters
    assert (clustered.ci_high - clustered.ci_low) > 1.5 * (naive.ci_high - naive.ci_low)
    reference = _loop_cluster_bootstrap(b - a, clusters, 4000, seed=99)
    width = reference[1] - reference[0]
    assert clustered.ci_low == pytest.approx(reference[0], abs=0.06 * width)
    assert clustered.ci_high == pytest.approx(reference[1], abs=0.06 * width)
    # The bootstrap p-value agrees roughly with a z test on the clustered SE.
    z_p = 2 * scipy_stats.norm.sf(abs(clustered.diff) / clustered.stderr)
    assert clustered.p_value == pytest.approx(z_p, abs=0.05)


def _holm_by_definition(p_values: list[float]) -> list[float]:
    order = sorted(range(len(p_values)), key=lambda i: p_values[i])
    adjusted = [0.0] * len(p_values)
    running = 0.0
    for step, index in enumerate(order):
        running = max(running, min(1.0, (len(p_values) - step) * p_values[index]))
        adjusted[index] = running
    return adjusted


def test_holm_matches_step_down_definition_and_statsmodels() -> None:
    p_values = [0.01, 0.04, 0.03, 0.005, 0.5, 0.04]
    assert holm(p_values) == pytest.approx(_holm_by_definition(p_values))
    assert holm(p_values) == pytest.approx(list(multipletests(p_values, method="holm")[1]))
    assert holm([]) == []


def test_bad_input_is_a_value_error_and_an_assay_error() -> None:
    with pytest.raises(ValueError):
        compare_paired([1.0, 0.0], [1.0])
    with pytest.raises(AssayError):
        compare_paired([1.0], [0.0])
    with pytest.raises(AssayError):
        compare_paired([1.0, math.nan], [0.0, 1.0])
    with pytest.raises(AssayError):
        compare_paired([1.0, 0.0, 1.0], [0.0, 1.0, 1.0], ["x", "x", "x"])


def test_every_paired_interval_contains_its_difference() -> None:
    import numpy as np

    from assay.stats.paired import compare_paired

    rng = np.random.default_rng(0)
    for n in (2, 3, 5, 20):
        for _ in range(50):
            a, b = rng.integers(0, 2, n).astype(float), rng.integers(0, 2, n).astype(float)
            if n > 3:
                b[: n // 2] = 1.0  # lopsided: adjusted intervals lean away from the raw difference here
            result = compare_paired(a, b)
            assert result.ci_low <= result.diff <= result.ci_high
            clustered = compare_paired(a, b, clusters=[str(i // 2) for i in range(n)]) if n >= 6 else result
            assert clustered.ci_low <= clustered.diff <= clustered.ci_high
