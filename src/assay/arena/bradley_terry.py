"""Bradley–Terry ratings with bootstrap intervals clustered by prompt, and rank intervals.

Ties: "half" (default) counts a tie as half a win for each side, as LMArena and arena-hard do;
"davidson" fits Davidson's tie parameter ν instead (P(tie) ∝ ν√(πi πj)). The bootstrap redraws prompts
(`item`) with replacement, all battles of a drawn prompt together, refits, and takes percentile intervals;
rank intervals come from those intervals (`assay.stats.ranking.interval_ranks`). Ratings are reported on
the Elo-like scale 1000 + 400·log10(strength), strengths normalised to geometric mean 1."""

from __future__ import annotations

import math
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from assay.arena.battles import Battles
from assay.arena.pairs import PairCounts, draw_chunk, pair_counts, prompt_draws, resampled_wins, win_cells
from assay.arena.solvers import DEFAULT_RIDGE, fit_davidson, fit_half_ties, one_step_starts
from assay.errors import AssayError
from assay.stats.ranking import interval_ranks

Ties = Literal["half", "davidson"]
SCALE = 400.0 / math.log(10.0)
BASE = 1000.0
_CHUNK = 125  # resamples solved together: bounded memory, cache-sized Hessian stacks
_CELLS_PER_CHUNK = 1_250_000


@dataclass(frozen=True)
class Ratings:
    models: tuple[str, ...]
    theta: np.ndarray  # centred log-strengths
    low: np.ndarray  # percentile interval of θ
    high: np.ndarray
    draws: np.ndarray  # (rounds, n) bootstrap θ
    ties: str
    confidence: float
    tie_parameter: float | None = None
    connected: bool = True

    def strengths(self) -> np.ndarray:
        return np.exp(self.theta)

    def ranks(self) -> dict[str, tuple[int, int]]:
        return interval_ranks({m: (float(self.low[i]), float(self.high[i])) for i, m in enumerate(self.models)})

    def rows(self) -> list[dict[str, object]]:
        """One row per model, best first: rating and its interval (Elo-like scale), strength, rank interval."""
        ranks = self.ranks()
        rows = [{"model": m, "rating": BASE + SCALE * float(self.theta[i]), "ci_low": BASE + SCALE * float(self.low[i]),
                 "ci_high": BASE + SCALE * float(self.high[i]), "strength": float(math.exp(self.theta[i])),
                 "rank_low": ranks[m][0], "rank_high": ranks[m][1]} for i, m in enumerate(self.models)]
        return sorted(rows, key=lambda r: (-float(r["rating"]), str(r["model"])))  # type: ignore[arg-type]


def bootstrap_chunk(n_models: int) -> int:
    """Resamples solved together: ≤125, and ≤1.25M win-matrix cells (bounded memory, cache-sized stacks)."""
    return max(1, min(_CHUNK, _CELLS_PER_CHUNK // (n_models * n_models)))


def percentile_interval(estimate: np.ndarray, draws: np.ndarray, confidence: float) -> tuple[np.ndarray, np.ndarray]:
    """Percentile interval of each column, widened if needed so it contains the estimate."""
    tail = (1.0 - confidence) / 2.0
    low, high = np.quantile(draws, [tail, 1.0 - tail], axis=0)
    return np.minimum(low, estimate), np.maximum(high, estimate)


def _is_connected(counts: PairCounts) -> bool:
    graph = coo_matrix((np.ones(counts.n_pairs), (counts.first, counts.second)), shape=(counts.n_models,) * 2)
    return connected_components(graph, directed=False)[0] == 1


def fit_ratings(battles: Battles, *, ties: Ties = "half", rounds: int = 1000, seed: int = 0, confidence: float = 0.95,
                ridge: float = DEFAULT_RIDGE) -> Ratings:
    """Bradley–Terry maximum likelihood on all battles, and `rounds` prompt-clustered bootstrap refits."""
    if len(battles) == 0:
        raise AssayError("arena: no readable pairwise battle to rate")
    if rounds < 1 or not 0.0 < confidence < 1.0:
        raise AssayError(f"--rounds must be >= 1 and the confidence in (0, 1), got {rounds} and {confidence}")
    if ties not in ("half", "davidson"):
        raise AssayError(f"--ties: expected half or davidson, got {ties!r}")
    counts = pair_counts(battles)
    n = battles.n_models
    tie_parameter: float | None = None
    draws = np.empty((rounds, n))
    if ties == "half":
        full_wins = counts.dense(*counts.half_tie_wins())
        theta = fit_half_ties(full_wins, ridge=ridge)
        cells = win_cells(battles)
        chunk = bootstrap_chunk(n)

        def refit(k: int) -> None:
            wins = resampled_wins(cells, draw_chunk(len(battles.items), rounds, seed, chunk, k), n)
            start = one_step_starts(wins, full_wins, theta, ridge)
            draws[k * chunk:k * chunk + len(wins)] = fit_half_ties(wins, theta0=start, ridge=ridge)

        # NumPy and LAPACK release the GIL: chunks run in parallel threads, each writing its own rows.
        with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
            list(pool.map(refit, range(-(-rounds // chunk))))
    else:
        theta, tie_parameter = fit_davidson(n, counts.first, counts.second, counts.first_wins, counts.second_wins,
                                            counts.ties, ridge=ridge)
        start = np.append(theta, math.log(tie_parameter))
        done = 0
        for weights in prompt_draws(len(battles.items), rounds, seed, _CHUNK):
            first, second, tied = counts.resample(weights)
            for k in range(len(weights)):
                # a resample without ties has ν → 0: fit it with ties counted half instead
                if tied[k].any():
                    draws[done] = fit_davidson(n, counts.first, counts.second, first[k], second[k], tied[k],
                                               start=start, ridge=ridge)[0]
                else:
                    draws[done] = fit_half_ties(counts.dense(first[k], second[k]), theta0=theta, ridge=ridge)
                done += 1
    low, high = percentile_interval(theta, draws, confidence)
    return Ratings(models=battles.models, theta=theta, low=low, high=high, draws=draws, ties=ties,
                   confidence=confidence, tie_parameter=tie_parameter, connected=_is_connected(counts))
