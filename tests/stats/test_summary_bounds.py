"""Every interval summarize returns contains its estimate, and a proportion's interval lies in [0, 1] with
exact bounds: statsmodels' Wilson bounds are 6.9e-18 for 0/50 and 0.9999999999999999 for 50/50, which
put the estimate outside its own interval and crashed `assay report`."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from assay.stats.summary import summarize


def test_all_zero_and_all_one_proportions_have_exact_bounds() -> None:
    zero, one = summarize([0.0] * 50), summarize([1.0] * 50)
    assert zero.value == 0.0 and zero.ci_low == 0.0 and 0.0 < zero.ci_high < 0.1
    assert one.value == 1.0 and one.ci_high == 1.0 and 0.9 < one.ci_low < 1.0
    clustered = summarize([1.0] * 12, [f"doc{i // 3}" for i in range(12)])
    assert clustered.method.startswith("clustered_wilson") and clustered.ci_high == 1.0 and clustered.ci_low < 1.0
    none_found = summarize([0.0] * 12, [f"doc{i // 3}" for i in range(12)])
    assert none_found.ci_low == 0.0 and none_found.ci_high > 0.0


def _check(values: list[float], clusters: list[str | None] | None) -> None:
    summary = summarize(values, clusters)
    if summary.ci_low is None:
        assert summary.ci_high is None
        return
    assert summary.value is not None and summary.ci_high is not None
    assert summary.ci_low <= summary.value <= summary.ci_high, summary
    if all(v in (0.0, 1.0) for v in values):
        assert summary.ci_low >= 0.0 and summary.ci_high <= 1.0
        if summary.value == 1.0:
            assert summary.ci_high == 1.0
        if summary.value == 0.0:
            assert summary.ci_low == 0.0


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from([0.0, 1.0]), min_size=1, max_size=80), st.integers(0, 6), st.data())
def test_binary_intervals_contain_the_estimate(values: list[float], n_groups: int, data: st.DataObject) -> None:
    clusters = None
    if n_groups:
        clusters = [data.draw(st.one_of(st.none(), st.sampled_from([f"c{g}" for g in range(n_groups)])))
                    for _ in values]
    _check(values, clusters)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=1, max_size=60), st.integers(0, 5), st.data())
def test_real_valued_intervals_contain_the_estimate(values: list[float], n_groups: int, data: st.DataObject) -> None:
    clusters = [f"c{data.draw(st.integers(0, n_groups - 1))}" for _ in values] if n_groups else None
    summary = summarize(values, clusters)
    if summary.ci_low is not None and summary.ci_high is not None and summary.value is not None:
        assert math.isfinite(summary.ci_low) and math.isfinite(summary.ci_high)
        assert summary.ci_low <= summary.value <= summary.ci_high
