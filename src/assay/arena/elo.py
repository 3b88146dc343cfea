"""Online Elo, for people who expect it: each battle in stored order moves both ratings by
K·(outcome − expected), expected = 1 / (1 + 10^((Rb − Ra)/400)), from 1000. Unlike Bradley–Terry it
depends on the order of the battles and weighs recent ones more; the bootstrap (prompts drawn with
replacement, their battles in a random order) shows how much. One Python step per battle: meant for
the thousands of battles of a local arena, not for millions."""

from __future__ import annotations

import numpy as np

from assay.arena.battles import Battles
from assay.arena.bradley_terry import BASE, Ratings, percentile_interval
from assay.arena.pairs import prompt_draws
from assay.errors import AssayError

_LOG10 = float(np.log(10.0))


def elo_ratings(battles: Battles, order: np.ndarray | None = None, k: float = 4.0) -> np.ndarray:
    """Ratings (Elo points) after playing the battles in `order` (default: as stored)."""
    ratings = np.full(battles.n_models, BASE)
    a, b, outcome = battles.a.tolist(), battles.b.tolist(), battles.outcome.tolist()
    for i in (range(len(a)) if order is None else order.tolist()):
        expected = 1.0 / (1.0 + 10.0 ** ((ratings[b[i]] - ratings[a[i]]) / 400.0))
        delta = k * (outcome[i] - expected)
        ratings[a[i]] += delta
        ratings[b[i]] -= delta
    return ratings


def fit_elo(battles: Battles, *, rounds: int = 100, seed: int = 0, confidence: float = 0.95, k: float = 4.0) -> Ratings:
    """Elo ratings as a `Ratings` (θ = (rating − 1000)·ln10/400, so rows() shows the Elo points)."""
    if len(battles) == 0:
        raise AssayError("arena: no readable pairwise battle to rate")
    if rounds < 1 or not 0.0 < confidence < 1.0:
        raise AssayError(f"--rounds must be >= 1 and the confidence in (0, 1), got {rounds} and {confidence}")
    to_theta = _LOG10 / 400.0
    theta = (elo_ratings(battles, k=k) - BASE) * to_theta
    rng = np.random.default_rng(seed)
    by_item = np.argsort(battles.item, kind="stable")
    starts = np.searchsorted(battles.item[by_item], np.arange(len(battles.items) + 1))
    draws = np.empty((rounds, battles.n_models))
    done = 0
    for weights in prompt_draws(len(battles.items), rounds, seed, 100):
        for row in weights.astype(np.int64):
            picked = np.concatenate([np.tile(by_item[starts[i]:starts[i + 1]], row[i]) for i in np.flatnonzero(row)])
            draws[done] = (elo_ratings(battles, rng.permutation(picked), k=k) - BASE) * to_theta
            done += 1
    # Updates are zero-sum, so every rating vector has mean 1000 (θ mean 0), like the centred BT θ.
    low, high = percentile_interval(theta, draws, confidence)
    return Ratings(models=battles.models, theta=theta, low=low, high=high, draws=draws, ties="half",
                   confidence=confidence)
