"""`assay.compare` (two runs, sample by sample) and `assay.power` (how many samples a comparison needs): the
library behind `assay compare` and `assay power`."""

from __future__ import annotations

from assay.api.runs_given import Db, RunRef, store_of
from assay.comparison import Comparison
from assay.stats.power import PowerAnalysis


def compare(a: RunRef, b: RunRef, *, db: Db = None, allow_mismatch: bool = False) -> Comparison:
    """The paired comparison of run `b` against run `a` (B − A), per task and score: means, the difference with
    its 95% interval, the paired test and p-value, Holm's adjustment over all rows, the minimum detectable
    effect at 80% power and the per-sample correlation.

    a, b: `Run` objects (their store is used) or run ids / unique prefixes in `db` (None: ./assay.db).
    allow_mismatch: compare even when a task's spec differs or no sample is shared (the problems become
    `warnings`); otherwise such runs raise AssayError."""
    from assay.comparison import compare_runs

    with store_of([("a", a), ("b", b)], db) as given:
        return Comparison.from_dict(compare_runs(given.store, given.ids[0], given.ids[1], allow_mismatch))


def power(baseline: float, *, delta: float | None = None, n: int | None = None, paired_corr: float | None = None,
          alpha: float = 0.05, power: float = 0.8) -> PowerAnalysis:
    """Samples per model needed to detect an accuracy change `delta` from `baseline`, and/or the smallest change
    `n` samples detect (give at least one). paired_corr: the correlation of the two models' per-sample scores
    when both answer the same samples (`Comparison` rows carry it as score_corr). Bad input raises AssayError."""
    from assay.stats.power import power_analysis

    return power_analysis(baseline, delta, n, paired_corr, alpha, power)
