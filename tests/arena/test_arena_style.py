"""Style and length control on battles with a planted length bias: the judge prefers the longer answer,
the models are equally good. Raw ratings and raw win rates favour the verbose model; the style-controlled
ratings and the length-controlled win rate do not."""

from __future__ import annotations

import numpy as np
import pytest
from arena_support import judgment, planted

from assay.arena.battles import battles_from_judgments
from assay.arena.bradley_terry import fit_ratings
from assay.arena.style import style_controlled, style_counts
from assay.arena.winrate import length_controlled, winrates


def test_style_counts_markdown() -> None:
    text = "# Title\nSome **bold** and __more__.\n\n- one\n- two\n1. three\n"
    assert style_counts(text) == (float(len(text)), 1.0, 2.0, 3.0)


def _gap(rows: list[dict]) -> float:
    """verbose's rating minus the mean of the two others'."""
    by = {r["model"]: r["rating"] for r in rows}
    return by["verbose"] - (by["plain"] + by["other"]) / 2


def test_contextual_bradley_terry_removes_planted_length_bias() -> None:
    equal = {"verbose": 0.0, "plain": 0.0, "other": 0.0}
    battles = battles_from_judgments(planted(equal, 6000, seed=1, verbose="verbose", length_effect=2.0))
    raw = fit_ratings(battles, rounds=100).rows()
    by = {r["model"]: r for r in raw}
    assert by["verbose"]["ci_low"] > max(by["plain"]["ci_high"], by["other"]["ci_high"])  # raw: verbose clearly ahead
    assert _gap(raw) > 100
    controlled = style_controlled(battles)
    assert not isinstance(controlled, str)
    # controlled: the gap is within sampling noise (sd ~15 points here), the length coefficient carries the bias
    assert abs(_gap(controlled.rows())) < 40
    assert controlled.coefficients["length"]["coef"] > 5 * controlled.coefficients["length"]["se"]
    assert set(controlled.coefficients) == {"length"}  # no markdown in these outputs: no markdown coefficients


def test_style_control_needs_outputs() -> None:
    rows = [judgment("a", "b", v, f"p{k}") for k, v in enumerate("abab")]
    reason = style_controlled(battles_from_judgments(rows))
    assert isinstance(reason, str) and reason.startswith("needs both outputs")


def _baseline_battles(seed: int, n: int, length_effect: float, quality: float) -> list:
    """The candidate's answers are 0-1,500 characters longer than the baseline's (never shorter)."""
    rng = np.random.default_rng(seed)
    rows = []
    for k in range(n):
        base_len = int(rng.integers(200, 600))
        own_len = base_len + int(rng.integers(0, 1500))
        logit = quality + length_effect * np.tanh((own_len - base_len) / 600.0)
        p = float(1.0 / (1.0 + np.exp(-logit)))
        preference = float(np.clip(p + rng.normal(0.0, 0.1), 0.0, 1.0))  # a weighted annotator's probability
        verdict = "b" if preference > 0.5 else "a" if preference < 0.5 else "tie"
        rows.append(judgment("baseline", "long", verdict, f"p{k}", output_a="b" * base_len, output_b="l" * own_len,
                             preference=preference))
    return rows


def test_length_controlled_win_rate_removes_planted_length_bias() -> None:
    result = winrates(_baseline_battles(seed=4, n=1500, length_effect=2.0, quality=0.0), "baseline")
    row = result["rows"][0]
    assert row["model"] == "long" and row["n_total"] == 1500
    assert row["win_rate"] > 65  # raw: the longer model "wins"
    assert abs(row["length_controlled_win_rate"] - 50.0) < 3 * row["lc_standard_error"] + 1.0
    assert row["length_coef"] > 1.0
    # a model that is genuinely better keeps its lead after length control
    better = winrates(_baseline_battles(seed=4, n=1500, length_effect=2.0, quality=1.0), "baseline")["rows"][0]
    assert better["length_controlled_win_rate"] > 65


def test_length_control_refuses_constant_length_difference() -> None:
    out = length_controlled(np.array([0.2, 0.8, 0.6]), np.array([10.0, 20.0, 30.0]), np.array([5.0, 15.0, 25.0]))
    assert "same amount" in out["error"]
    assert length_controlled(np.array([0.5]), np.array([1.0]), np.array([2.0]))["error"].startswith("needs")


def test_raw_and_controlled_win_rates_match_glm_reference() -> None:
    pytest.importorskip("sklearn")
    from sklearn.linear_model import LogisticRegression

    rows = _baseline_battles(seed=9, n=800, length_effect=1.0, quality=0.3)
    row = winrates(rows, "baseline")["rows"][0]
    pref = np.array([j.preference for j in rows])
    delta = np.array([len(j.output_b) - len(j.output_a) for j in rows], dtype=float)
    x = np.tanh(delta / delta.std())[:, None]
    # fractional targets as two weighted rows each, no penalty: the same likelihood
    fit = LogisticRegression(C=np.inf, tol=1e-10, max_iter=10_000).fit(
        np.vstack([x, x]), np.r_[np.ones_like(pref), np.zeros_like(pref)], sample_weight=np.r_[pref, 1 - pref])
    assert row["length_controlled_win_rate"] == pytest.approx(100 / (1 + np.exp(-fit.intercept_[0])), abs=1e-4)
    assert row["win_rate"] == pytest.approx(100 * pref.mean())


def test_style_control_refuses_separated_data() -> None:
    # the longer answer won every battle: the length coefficient's maximum likelihood is at infinity
    rows = [judgment("a", "b", "a" if k % 2 else "b", f"p{k}", output_a="x" * (300 if k % 2 else 100),
                     output_b="y" * (100 if k % 2 else 300)) for k in range(40)]
    reason = style_controlled(battles_from_judgments(rows))
    assert isinstance(reason, str) and "no finite maximum" in reason
