"""How many samples a comparison needs, and the smallest effect a given number of samples can see.

Normal approximation, two-sided test at level `alpha`, power `power`; z = z_{1-alpha/2} + z_{power}.
For a baseline accuracy p1 and a change `delta` (p2 = p1 + delta), with q = 1 - p:

- unpaired (two independent samples of n each, e.g. two models on different questions):
      Var(diff) = (p1 q1 + p2 q2) / n                         ->  n = z^2 (p1 q1 + p2 q2) / delta^2
- paired (both models answer the same n questions, scores correlated with coefficient rho):
      Var(diff) = (p1 q1 + p2 q2 - 2 rho sqrt(p1 q1 p2 q2)) / n  ->  n = z^2 (that numerator) / delta^2

The paired variance is Var(b_i - a_i) for correlated Bernoulli scores; rho = 0 gives the unpaired
count, rho > 0 (the usual case: the same questions are hard for both models) needs fewer samples.
The same formula with the observed standard error gives the minimum detectable effect (MDE):
      MDE = z * SE(diff).
tests/stats/test_power.py checks these against statsmodels' NormalIndPower and a simulation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from scipy import optimize
from scipy.stats import norm

from assay.stats.errors import StatsInputError as AssayError


def z_total(alpha: float = 0.05, power: float = 0.8) -> float:
    """z_{1-alpha/2} + z_{power}: 2.80 for alpha 0.05 and power 0.8."""
    if not 0.0 < alpha < 1.0:
        raise AssayError(f"alpha: expected a level in (0, 1), got {alpha}")
    if not 0.0 < power < 1.0:
        raise AssayError(f"power: expected a probability in (0, 1), got {power}")
    return float(norm.ppf(1.0 - alpha / 2.0) + norm.ppf(power))


def mde_from_stderr(stderr: float, alpha: float = 0.05, power: float = 0.8) -> float:
    """Smallest true difference detected with probability `power` when the estimate has this SE."""
    return z_total(alpha, power) * stderr


def _check_proportion(name: str, value: float) -> None:
    if not 0.0 < value < 1.0:
        raise AssayError(f"{name}: expected a proportion strictly between 0 and 1, got {value}")


def _check_corr(paired_corr: float | None) -> None:
    if paired_corr is not None and not -1.0 <= paired_corr <= 1.0:
        raise AssayError(f"paired_corr: expected a correlation in [-1, 1], got {paired_corr}")


def diff_variance(baseline: float, delta: float, paired_corr: float | None = None) -> float:
    """Variance of one sample's contribution to the difference (see the module docstring)."""
    p1, p2 = baseline, baseline + delta
    var1, var2 = p1 * (1 - p1), p2 * (1 - p2)
    if paired_corr is None:
        return var1 + var2
    return max(var1 + var2 - 2.0 * paired_corr * math.sqrt(var1 * var2), 0.0)


def samples_needed(baseline: float, delta: float, paired_corr: float | None = None,
                   alpha: float = 0.05, power: float = 0.8) -> int:
    """Samples per model to detect `delta` from `baseline` (pairs when `paired_corr` is given)."""
    _check_proportion("baseline", baseline)
    _check_proportion("baseline + delta", baseline + delta)
    if delta == 0:
        raise AssayError("delta: a zero difference cannot be detected; expected a non-zero change")
    _check_corr(paired_corr)
    variance = diff_variance(baseline, delta, paired_corr)
    if variance == 0.0:
        # Perfectly correlated paired scores with equal variance: one pair already shows the change.
        return 1
    return max(1, math.ceil(z_total(alpha, power) ** 2 * variance / delta**2 - 1e-9))


def minimum_detectable_effect(n: int, baseline: float, paired_corr: float | None = None,
                              alpha: float = 0.05, power: float = 0.8) -> float:
    """Smallest increase over `baseline` that n samples per model (pairs when paired) detect.

    Solves z^2 Var(delta) / delta^2 = n for delta > 0 (the variance depends on p2 = baseline + delta).
    When n is so small that even the largest possible increase, to 1, cannot be detected, returns
    1 - baseline."""
    if n < 1:
        raise AssayError(f"n: expected at least 1 sample, got {n}")
    _check_proportion("baseline", baseline)
    _check_corr(paired_corr)
    z = z_total(alpha, power)
    upper = 1.0 - baseline

    def gap(delta: float) -> float:
        return z * math.sqrt(diff_variance(baseline, delta, paired_corr) / n) - delta

    tiny = 1e-12
    if gap(upper - tiny) > 0:
        return upper
    if gap(tiny) <= 0:
        return tiny
    return float(optimize.brentq(gap, tiny, upper - tiny, xtol=1e-10))


@dataclass(frozen=True)
class PowerAnalysis:
    """`assay power`: the samples needed for `delta`, and/or the smallest change `n` samples detect."""

    baseline: float
    paired_corr: float | None
    alpha: float
    power: float
    # "paired" when a correlation is given (both models on the same samples), else "unpaired".
    design: str
    delta: float | None = None
    # Per model (pairs when paired), to detect `delta`.
    samples_needed: int | None = None
    n: int | None = None
    # The smallest increase over `baseline` that `n` samples detect.
    minimum_detectable_effect: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """The plain data (`assay power --json`): the delta and n figures only when asked for."""
        out: dict[str, Any] = {"baseline": self.baseline, "paired_corr": self.paired_corr, "alpha": self.alpha,
                               "power": self.power, "design": self.design}
        if self.delta is not None:
            out.update(delta=self.delta, samples_needed=self.samples_needed)
        if self.n is not None:
            out.update(n=self.n, minimum_detectable_effect=self.minimum_detectable_effect)
        return out


def power_analysis(baseline: float, delta: float | None = None, n: int | None = None, paired_corr: float | None = None,
                   alpha: float = 0.05, power: float = 0.8) -> PowerAnalysis:
    """Samples needed for `delta` and/or the minimum detectable effect with `n` (at least one of the two)."""
    if delta is None and n is None:
        raise AssayError("delta: give delta (the samples needed for that change) or n (the smallest change n "
                         "samples detect)")
    return PowerAnalysis(
        baseline=baseline, paired_corr=paired_corr, alpha=alpha, power=power,
        design="paired" if paired_corr is not None else "unpaired", delta=delta,
        samples_needed=samples_needed(baseline, delta, paired_corr, alpha, power) if delta is not None else None,
        n=n, minimum_detectable_effect=minimum_detectable_effect(n, baseline, paired_corr, alpha, power)
        if n is not None else None)
