"""Battles aggregated per pair of models, and the same aggregation for bootstrap resamples of prompts.

A Bradley–Terry likelihood depends on the battles only through, for each pair of models that met, how
often the first won, the second won, or they tied. So is a resample: drawing prompts with replacement
only changes how many times each prompt's battles count. `PairCounts.resample` turns per-prompt draw
counts into per-pair counts with one sparse product (prompts × pair outcomes), so 1,000 resamples of
100,000 battles never build 1,000 copies of the battles."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from scipy import sparse

from assay.arena.battles import Battles


@dataclass(frozen=True)
class PairCounts:
    n_models: int
    first: np.ndarray  # (P,) the lower model index of each pair that met
    second: np.ndarray  # (P,) the higher one
    first_wins: np.ndarray  # (P,) strict wins of `first`
    second_wins: np.ndarray
    ties: np.ndarray
    by_item: sparse.csr_matrix  # (3P, n_items): the same counts per prompt, rows first_wins | second_wins | ties

    @property
    def n_pairs(self) -> int:
        return int(self.first.size)

    def half_tie_wins(self) -> tuple[np.ndarray, np.ndarray]:
        return self.first_wins + self.ties / 2, self.second_wins + self.ties / 2

    def dense(self, first_wins: np.ndarray, second_wins: np.ndarray) -> np.ndarray:
        """(P,) or (R, P) wins per pair -> wins[..., i, j] of model i over model j."""
        lead = np.shape(first_wins)[:-1]
        wins = np.zeros((*lead, self.n_models, self.n_models))
        wins[..., self.first, self.second] = first_wins
        wins[..., self.second, self.first] = second_wins
        return wins

    def resample(self, draws: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """draws: (rounds, n_items) how often each prompt is drawn -> (first_wins, second_wins, ties),
        each (rounds, P)."""
        counts = (self.by_item @ draws.T).T
        p = self.n_pairs
        return counts[:, :p], counts[:, p:2 * p], counts[:, 2 * p:]


def pair_counts(battles: Battles) -> PairCounts:
    n = battles.n_models
    low = np.minimum(battles.a, battles.b)
    high = np.maximum(battles.a, battles.b)
    code = low * n + high
    codes, pair = np.unique(code, return_inverse=True)
    n_pairs = codes.size
    # the outcome for `low` (the A side when a < b)
    for_low = np.where(battles.a < battles.b, battles.outcome, 1.0 - battles.outcome)
    kind = np.where(for_low == 1.0, 0, np.where(for_low == 0.0, 1, 2))
    rows = kind * n_pairs + pair
    by_item = sparse.csr_matrix((np.ones(len(battles)), (rows, battles.item)),
                                shape=(3 * n_pairs, len(battles.items)))
    by_item.sum_duplicates()
    totals = np.bincount(rows, minlength=3 * n_pairs).astype(float)
    return PairCounts(n_models=n, first=codes // n, second=codes % n, first_wins=totals[:n_pairs],
                      second_wins=totals[n_pairs:2 * n_pairs], ties=totals[2 * n_pairs:], by_item=by_item)


def win_cells(battles: Battles) -> sparse.csr_matrix:
    """(n·n, n_items): row i·n + j holds, per prompt, the wins of model i over model j (a tie half each),
    so that `resampled_wins` gives the dense win matrices of many resamples in one sparse product."""
    n = battles.n_models
    rows = np.concatenate([battles.a * n + battles.b, battles.b * n + battles.a])
    values = np.concatenate([battles.outcome, 1.0 - battles.outcome])
    columns = np.concatenate([battles.item, battles.item])
    keep = values != 0.0
    cells = sparse.csr_matrix((values[keep], (rows[keep], columns[keep])), shape=(n * n, len(battles.items)))
    cells.sum_duplicates()
    return cells


def resampled_wins(cells: sparse.csr_matrix, draws: np.ndarray, n: int) -> np.ndarray:
    """draws (R, n_items) -> wins (R, n, n)."""
    return np.ascontiguousarray((cells @ draws.T).T).reshape(draws.shape[0], n, n)


def draw_chunk(n_items: int, rounds: int, seed: int, chunk: int, k: int) -> np.ndarray:
    """Chunk k of `rounds` resamples, (≤chunk, n_items) draw counts: each round draws n_items prompts with
    replacement. Chunk k has its own child seed, so chunks can be drawn in any order or thread and the
    result depends only on (seed, rounds, chunk)."""
    start = k * chunk
    size = min(chunk, rounds - start)
    rng = np.random.default_rng(np.random.SeedSequence(seed).spawn(k + 1)[k])
    dtype = np.int32 if size * n_items < 2**31 else np.int64
    picked = rng.integers(0, n_items, size=(size, n_items), dtype=dtype)
    picked += (np.arange(size, dtype=dtype) * n_items)[:, None]
    return np.bincount(picked.ravel(), minlength=size * n_items).reshape(size, n_items).astype(float)


def prompt_draws(n_items: int, rounds: int, seed: int, chunk: int) -> Iterator[np.ndarray]:
    """All chunks in order (see `draw_chunk`)."""
    for k in range(-(-rounds // chunk)):
        yield draw_chunk(n_items, rounds, seed, chunk, k)
