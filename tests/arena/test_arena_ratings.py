"""Bradley–Terry ratings: the worked example, agreement with choix and statsmodels, ties (half and
Davidson), the prompt-clustered bootstrap, rank intervals, Elo."""

from __future__ import annotations

import dataclasses
from types import ModuleType

import numpy as np
import pytest
from arena_support import judgment, planted, worked_example

from assay.arena.battles import battles_from_judgments, win_matrix
from assay.arena.bradley_terry import fit_ratings
from assay.arena.elo import fit_elo
from assay.arena.pairs import pair_counts
from assay.arena.solvers import fit_half_ties
from assay.errors import AssayError
from assay.stats.ranking import interval_ranks


def test_worked_example_strengths() -> None:
    battles = battles_from_judgments(worked_example())
    ratings = fit_ratings(battles, rounds=50, seed=0)
    strengths = dict(zip(battles.models, ratings.strengths(), strict=True))
    assert [round(strengths[m], 3) for m in "ABCD"] == [0.640, 1.043, 0.660, 2.270]
    assert np.prod(list(strengths.values())) == pytest.approx(1.0)


def test_matches_choix_and_statsmodels(choix: ModuleType) -> None:
    import statsmodels.api as sm

    battles = battles_from_judgments(planted({"m0": 0.0, "m1": 0.5, "m2": -0.4, "m3": 1.2, "m4": 0.1}, 600, seed=3))
    theta = fit_half_ties(win_matrix(battles), ridge=0.0)
    reference = choix.ilsr_pairwise_dense(win_matrix(battles), tol=1e-12)
    np.testing.assert_allclose(theta, reference - reference.mean(), atol=1e-7)
    # the same model as a logistic regression: one row per battle, model 0 the reference
    design = np.zeros((len(battles), battles.n_models))
    design[np.arange(len(battles)), battles.a] = 1.0
    design[np.arange(len(battles)), battles.b] = -1.0
    logit = sm.Logit(battles.outcome, design[:, 1:]).fit(disp=0, tol=1e-12)
    full = np.append(0.0, logit.params)
    np.testing.assert_allclose(theta, full - full.mean(), atol=1e-6)


def test_ties_half_and_davidson() -> None:
    # a quarter of battles tie whoever plays: decisive battles follow the planted strengths
    planted_theta = np.array([0.0, 0.7, -0.5])
    rows = planted(dict(zip("abc", planted_theta, strict=True)), 3000, seed=5, tie_share=0.25)
    battles = battles_from_judgments(rows)
    assert pair_counts(battles).ties.sum() == sum(j.verdict == "tie" for j in rows)
    half = fit_ratings(battles, ties="half", rounds=20)
    davidson = fit_ratings(battles, ties="davidson", rounds=20)
    assert davidson.tie_parameter is not None and davidson.tie_parameter > 0.3
    centred = planted_theta - planted_theta.mean()
    # Davidson separates ties from strength and recovers the plant; counting ties as half wins pulls
    # every rating towards the others (same order, smaller spread)
    np.testing.assert_allclose(davidson.theta, centred, atol=0.1)
    assert list(np.argsort(half.theta)) == list(np.argsort(davidson.theta))
    assert np.ptp(half.theta) < 0.85 * np.ptp(davidson.theta)
    with pytest.raises(AssayError, match="no battle was a tie"):
        fit_ratings(battles_from_judgments(worked_example()), ties="davidson", rounds=5)


def test_bootstrap_is_seeded_clustered_and_contains_estimate() -> None:
    strengths = {"m0": 0.0, "m1": 0.3, "m2": 0.6, "m3": 0.9}
    rows = planted(strengths, 800, seed=11, prompts=80)
    battles = battles_from_judgments(rows)
    first = fit_ratings(battles, rounds=200, seed=7)
    again = fit_ratings(battles, rounds=200, seed=7)
    other = fit_ratings(battles, rounds=200, seed=8)
    np.testing.assert_array_equal(first.draws, again.draws)
    assert not np.array_equal(first.draws, other.draws)
    assert np.all(first.low <= first.theta) and np.all(first.theta <= first.high)
    assert len(battles.items) == 80
    # clustered: copying every battle 5 times within its prompt must not narrow the intervals
    # (resampling single battles would, by √5)
    copied = battles_from_judgments([r for r in rows for _ in range(5)])
    wide = fit_ratings(copied, rounds=200, seed=7)
    width, width_copied = first.high - first.low, wide.high - wide.low
    assert np.all(width_copied > 0.7 * width)
    ranks = first.ranks()
    assert ranks == interval_ranks({m: (first.low[i], first.high[i]) for i, m in enumerate(first.models)})
    rows_out = first.rows()
    assert [r["model"] for r in rows_out][0] == "m3" and rows_out[0]["rank_low"] == 1


def test_unbeaten_model_gets_a_finite_rating() -> None:
    rows = [judgment("champ", "x", "a", f"p{k}") for k in range(6)] + \
        [judgment("x", "y", v, f"q{k}") for k, v in enumerate("abab")]
    ratings = fit_ratings(battles_from_judgments(rows), rounds=30)
    assert np.all(np.isfinite(ratings.theta)) and ratings.rows()[0]["model"] == "champ"


def test_disconnected_battles_are_noted() -> None:
    rows = [judgment("a", "b", v, f"p{k}") for k, v in enumerate("abab")] + \
        [judgment("c", "d", v, f"q{k}") for k, v in enumerate("aabb")]
    assert not fit_ratings(battles_from_judgments(rows), rounds=10).connected


def test_skipped_rows_are_counted() -> None:
    rows = worked_example() + [judgment("A", "A", "a", "self")]
    rows.append(dataclasses.replace(rows[0], verdict=None, error="unreadable"))
    battles = battles_from_judgments(rows)
    assert len(battles) == 22
    assert battles.skipped == {"rater error": 1, "same model on both sides": 1}


def test_elo_orders_models_and_is_seeded() -> None:
    battles = battles_from_judgments(planted({"weak": -1.0, "mid": 0.0, "strong": 1.0}, 600, seed=2, prompts=100))
    elo = fit_elo(battles, rounds=30, seed=1)
    assert [r["model"] for r in elo.rows()] == ["strong", "mid", "weak"]
    assert np.mean([r["rating"] for r in elo.rows()]) == pytest.approx(1000.0)
    np.testing.assert_array_equal(elo.draws, fit_elo(battles, rounds=30, seed=1).draws)
