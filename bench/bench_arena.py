"""Arena ratings at scale: Bradley–Terry with 1,000 prompt-clustered bootstrap rounds for 100 models ×
100,000 battles (10,000 prompts, 10 battles each), against an anchor computed here on the same battles:
choix's maximum-likelihood fit (`ilsr_pairwise_dense`) of the full data and of the first resamples, timed
per fit and scaled to 1,000. Prints the wall and CPU time, the ratio and the largest difference from choix,
and the load average: on a shared machine the wall time is the CPU time stretched by the other load.

    OMP_NUM_THREADS=1 .venv/bin/python bench/bench_arena.py
"""

from __future__ import annotations

import os
import time

import numpy as np

from assay.arena.battles import Battles
from assay.arena.bradley_terry import bootstrap_chunk, fit_ratings
from assay.arena.pairs import draw_chunk, pair_counts

N_MODELS, N_BATTLES, N_PROMPTS, ROUNDS, ANCHOR_ROUNDS = 100, 100_000, 10_000, 1000, 20


def synthetic_battles(seed: int = 0) -> Battles:
    rng = np.random.default_rng(seed)
    strength = rng.normal(0.0, 1.0, N_MODELS)
    a = rng.integers(0, N_MODELS, N_BATTLES)
    b = (a + rng.integers(1, N_MODELS, N_BATTLES)) % N_MODELS
    p_a = 1.0 / (1.0 + np.exp(strength[b] - strength[a]))
    u = rng.random(N_BATTLES)
    outcome = np.where(u < 0.1, 0.5, np.where(rng.random(N_BATTLES) < p_a, 1.0, 0.0))  # 10% ties
    nan = np.full(N_BATTLES, np.nan)
    return Battles(models=tuple(f"m{i:03d}" for i in range(N_MODELS)), a=a, b=b, outcome=outcome,
                   item=rng.integers(0, N_PROMPTS, N_BATTLES), items=tuple(str(i) for i in range(N_PROMPTS)),
                   len_a=nan, len_b=nan, judgments=())


def choix_fits(battles: Battles, rounds: int) -> tuple[np.ndarray, float]:
    import choix

    counts = pair_counts(battles)
    start = time.perf_counter()
    fits = []
    # the same resamples as fit_ratings' first chunk
    weights = draw_chunk(len(battles.items), ROUNDS, 0, bootstrap_chunk(battles.n_models), 0)[:rounds]
    first, second, tied = counts.resample(weights)
    for k in range(rounds):
        comp = np.zeros((battles.n_models, battles.n_models))
        comp[counts.first, counts.second] = first[k] + tied[k] / 2
        comp[counts.second, counts.first] = second[k] + tied[k] / 2
        theta = choix.ilsr_pairwise_dense(comp, tol=1e-9)
        fits.append(theta - theta.mean())
    return np.array(fits), (time.perf_counter() - start) / rounds


def main() -> None:
    battles = synthetic_battles()
    start, cpu = time.perf_counter(), time.process_time()
    ratings = fit_ratings(battles, rounds=ROUNDS, seed=0)
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    anchor, per_fit = choix_fits(battles, ANCHOR_ROUNDS)
    difference = float(np.max(np.abs(anchor - ratings.draws[:ANCHOR_ROUNDS])))
    anchor_total = per_fit * (ROUNDS + 1)
    print(f"{N_MODELS} models x {N_BATTLES:,} battles ({N_PROMPTS:,} prompts), {ROUNDS} bootstrap rounds: "
          f"{elapsed:.2f} s wall (target < 2 s), {cpu:.2f} s CPU over all threads")
    print(f"anchor, choix.ilsr_pairwise_dense one fit at a time: {per_fit * 1000:.1f} ms/fit -> "
          f"{anchor_total:.1f} s for {ROUNDS + 1} fits; ratio {anchor_total / elapsed:.1f}x; "
          f"max |Δθ| vs choix on {ANCHOR_ROUNDS} resamples {difference:.1e}")
    print(f"load average {os.getloadavg()[0]:.2f} (1 min), OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}")


if __name__ == "__main__":
    main()
