"""Agreement of pairwise judges with a reference (expert labels, the human majority, or another rater).

Every verdict is put on one scale: for the pair (P, Q) of an item, P the alphabetically first model,
s = -1 when P won, 0 for a tie, +1 when Q won (the PRD paper's coding). "ab" below means P was shown
first. The reference on a (item, pair) key is the sign of the mean of its raters' s (the majority; one
rater: its verdict). Per judge:

- accuracy per presentation order ("ab", "ba"), their average (LLMBar's `correct_average`), and over
  all of the judge's ratings ("all": each rating against the reference; PRD's agreement);
- accuracy in both orders (right in both) and positional agreement (same verdict in both orders), over
  the keys the judge rated in both orders;
- Cohen's κ, judge vs reference, per order and over all ratings (statsmodels);
- Fleiss' κ of the judge and the reference as two raters over all ratings (statsmodels' formula);
  pooled over both orders, verdicts are coded as shown (first shown won / tie / second won), the
  reference mirrored alike, as in the PRD paper;
- win rate per model for the judge and for the reference, on the keys both rated: a model's mean of
  1 (won), ½ (tie), 0 (lost) over its comparisons (PRD's "(1 ∓ s)/2").

Every number has a 95% percentile bootstrap interval clustered by item: whole items are resampled
(an item holds both orders and all pairs of one prompt), with a fixed seed.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from statsmodels.stats.inter_rater import cohens_kappa, fleiss_kappa

from assay.errors import AssayError
from assay.judges.types import Judgment

N_RESAMPLES = 2000
SEED = 0
ORDERS = ("ab", "ba")
_SLOTS = ("ab", "ba", None)  # per-item tables: one per presentation order, and ratings without an order

Key = tuple[str, str, str]  # (item, P, Q) with P < Q


@dataclass(frozen=True)
class Rating:
    """One readable pairwise verdict on the common scale."""

    key: Key
    order: str | None  # "ab" = P shown first
    s: int  # -1: P won, 0: tie, +1: Q won
    rater: str
    judgment: Judgment


def to_rating(j: Judgment) -> Rating | None:
    """None for an error or a judgment that is not a pairwise verdict."""
    if j.kind != "pairwise" or j.error is not None or j.verdict is None or j.model_b is None:
        return None
    s = {"a": -1, "tie": 0, "b": 1}[j.verdict]
    order = j.order
    if j.model_a > j.model_b:  # mirror to the alphabetical orientation
        s = -s
        order = {"ab": "ba", "ba": "ab"}.get(order) if order else None
    p, q = sorted((j.model_a, j.model_b))
    return Rating((j.item, p, q), order, s, j.rater, j)


def majority(ratings: Iterable[Rating]) -> dict[Key, int]:
    votes: dict[Key, list[int]] = defaultdict(list)
    for r in ratings:
        votes[r.key].append(r.s)
    return {key: int(np.sign(np.mean(v))) for key, v in votes.items()}


def reference_ratings(judgments: Sequence[Judgment], reference: str) -> list[Rating]:
    """The ratings making up the reference: "human", "label", or the name of one rater."""
    if reference in ("human", "label"):
        chosen = [j for j in judgments if j.rater_kind == reference]
    else:
        chosen = [j for j in judgments if j.rater == reference]
    ratings = [r for r in map(to_rating, chosen) if r is not None]
    if not ratings:
        raters = sorted({j.rater for j in judgments})
        raise AssayError(f"--reference {reference}: no readable pairwise verdicts by that reference; expected "
                         f"human, label or one of the raters: {', '.join(raters) or '(none stored)'}")
    return ratings


def rater_fleiss(ratings: Sequence[Rating]) -> dict[str, Any] | None:
    """Fleiss' κ among the reference's raters, on the keys rated by the most common number (≥ 2) of them."""
    per_key: dict[Key, list[int]] = defaultdict(list)
    for r in ratings:
        per_key[r.key].append(r.s)
    counts = Counter(len(v) for v in per_key.values() if len(v) >= 2)
    if not counts:
        return None
    raters = max(counts, key=lambda c: (counts[c], c))
    table = np.array([[v.count(c) for c in (-1, 0, 1)] for v in per_key.values() if len(v) == raters])
    return {"value": float(fleiss_kappa(table)), "keys": int(table.shape[0]), "raters_per_key": raters,
            "keys_left_out": len(per_key) - int(table.shape[0])}


class _ItemTables:
    """Per-item counts that every statistic is a function of, so a bootstrap resample of items is a
    weighted sum of rows."""

    def __init__(self, ratings: Sequence[Rating], ref: dict[Key, int], models: Sequence[str]) -> None:
        self.items = sorted({r.key[0] for r in ratings if r.key in ref})
        index = {item: i for i, item in enumerate(self.items)}
        self.models = list(models)
        mindex = {m: i for i, m in enumerate(self.models)}
        n, m = len(self.items), len(self.models)
        self.tables = np.zeros((n, 3, 3, 3))  # item, slot, judge category, reference category
        self.both = np.zeros((n, 2))  # keys with both orders: right in both, count
        self.positional = np.zeros((n, 2))  # keys with both orders: same verdict, count
        self.wins = np.zeros((n, 2, m))  # judge / reference: summed win scores per model
        self.games = np.zeros((n, 2, m))
        by_key: dict[Key, dict[str | None, int]] = defaultdict(dict)
        for r in ratings:
            if r.key not in ref:
                continue
            i = index[r.key[0]]
            truth = ref[r.key]
            self.tables[i, _SLOTS.index(r.order), r.s + 1, truth + 1] += 1
            if r.order is not None:
                if r.order in by_key[r.key]:
                    raise AssayError(f"rater {r.rater} judged {r.key[0]} ({r.key[1]} vs {r.key[2]}) twice in order "
                                     f"{r.order} (sources {r.judgment.source!r} and another): choose one with --source")
                by_key[r.key][r.order] = r.s
            self._win(i, 0, r.key, r.s, mindex)
        for key, orders in by_key.items():
            i = index[key[0]]
            self._win(i, 1, key, ref[key], mindex)
            if len(orders) == 2:
                self.both[i] += (orders["ab"] == ref[key] == orders["ba"], 1)
                self.positional[i] += (orders["ab"] == orders["ba"], 1)
        for key in {r.key for r in ratings if r.order is None and r.key in ref} - set(by_key):
            self._win(index[key[0]], 1, key, ref[key], mindex)

    def _win(self, i: int, who: int, key: Key, s: int, mindex: dict[str, int]) -> None:
        """One comparison of the judge (who=0) or the reference (who=1): (1 ∓ s)/2 to each side."""
        p, q = mindex[key[1]], mindex[key[2]]
        self.wins[i, who, p] += (1 - s) / 2
        self.wins[i, who, q] += (1 + s) / 2
        self.games[i, who, p] += 1
        self.games[i, who, q] += 1

    def weighted(self, weights: np.ndarray) -> dict[str, np.ndarray]:
        """Sums over items for each row of `weights` (resamples × items)."""
        return {name: np.tensordot(weights, getattr(self, name), axes=1)
                for name in ("tables", "both", "positional", "wins", "games")}


def _ratio(k: np.ndarray, n: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(n > 0, k / np.where(n > 0, n, 1), np.nan)


def _accuracy(table: np.ndarray) -> np.ndarray:
    return _ratio(np.trace(table, axis1=-2, axis2=-1), table.sum(axis=(-2, -1)))


def _cohen(table: np.ndarray) -> float:
    if table.sum() == 0:
        return float("nan")
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(cohens_kappa(table, return_results=False))


def fleiss_two_raters(table: np.ndarray) -> np.ndarray:
    """Fleiss' κ of two raters from their contingency table(s) (…, k, k): equal to statsmodels'
    `fleiss_kappa` on the subjects × categories counts (tests/judges check it); vectorised for the bootstrap."""
    total = table.sum(axis=(-2, -1))
    observed = _ratio(np.trace(table, axis1=-2, axis2=-1), total)
    share = _ratio(table.sum(axis=-1) + table.sum(axis=-2), 2 * total[..., None])
    expected = (share**2).sum(axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return (observed - expected) / (1 - expected)


def _statistics(sums: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Every statistic from summed item tables; leading axes are resamples."""
    tables = sums["tables"]
    # Pooled over orders, verdicts are coded as the rater saw them (first shown won / tie / second shown
    # won), the reference mirrored alike: the PRD paper's Fleiss' κ. Accuracy does not depend on it.
    everything = tables[..., 0, :, :] + tables[..., 1, ::-1, ::-1] + tables[..., 2, :, :]
    out: dict[str, np.ndarray] = {}
    for slot, order in enumerate(ORDERS):
        out[f"accuracy.{order}"] = _accuracy(tables[..., slot, :, :])
    out["accuracy.average"] = (out["accuracy.ab"] + out["accuracy.ba"]) / 2
    out["accuracy.all"] = _accuracy(everything)
    out["both_orders"] = _ratio(sums["both"][..., 0], sums["both"][..., 1])
    out["positional_agreement"] = _ratio(sums["positional"][..., 0], sums["positional"][..., 1])
    flat = tables.reshape(-1, 3, 3, 3)
    for slot, order in enumerate(ORDERS):
        out[f"cohen_kappa.{order}"] = np.array([_cohen(t) for t in flat[:, slot]]).reshape(tables.shape[:-3])
    out["cohen_kappa.all"] = np.array([_cohen(t) for t in everything.reshape(-1, 3, 3)]).reshape(tables.shape[:-3])
    out["fleiss_kappa"] = fleiss_two_raters(everything)
    win = _ratio(sums["wins"], sums["games"])
    for who, name in enumerate(("judge", "reference")):
        out[f"win_rate.{name}"] = win[..., who, :]
    return out


def _counted(table: np.ndarray) -> tuple[int, int]:
    return int(round(np.trace(table))), int(round(table.sum()))


def _estimate(value: float, draws: np.ndarray, k: int | None = None, n: int | None = None) -> dict[str, Any]:
    finite = draws[np.isfinite(draws)]
    if not np.isfinite(value):
        return {"value": None, "ci": None, **({"k": k, "n": n} if n is not None else {})}
    low, high = (np.quantile(finite, [0.025, 0.975]) if finite.size else (value, value))
    # A percentile interval can miss a degenerate estimate by rounding; keep the estimate inside.
    out: dict[str, Any] = {"value": float(value), "ci": [float(min(low, value)), float(max(high, value))]}
    if n is not None:
        out.update(k=k, n=n)
    return out


def compare(judge: Sequence[Rating], ref: dict[Key, int], n_resamples: int = N_RESAMPLES,
            seed: int = SEED) -> dict[str, Any]:
    """The agreement of one judge's ratings with the reference majority `ref`."""
    models = sorted({m for r in judge if r.key in ref for m in r.key[1:]})
    item_tables = _ItemTables(judge, ref, models)
    n_items = len(item_tables.items)
    if n_items == 0:
        return {"items": 0, "ratings": 0}
    point = _statistics(item_tables.weighted(np.ones((1, n_items))))
    rng = np.random.default_rng(seed)
    weights = rng.multinomial(n_items, np.full(n_items, 1.0 / n_items), size=n_resamples).astype(float)
    draws = _statistics(item_tables.weighted(weights))
    totals = item_tables.tables.sum(axis=0)
    counts = {"accuracy.ab": _counted(totals[0]), "accuracy.ba": _counted(totals[1]),
              "accuracy.all": _counted(totals[0] + totals[1][::-1, ::-1] + totals[2]),
              "both_orders": tuple(int(x) for x in item_tables.both.sum(axis=0)),
              "positional_agreement": tuple(int(x) for x in item_tables.positional.sum(axis=0))}
    result: dict[str, Any] = {"items": n_items, "ratings": int(round(totals.sum())), "accuracy": {},
                              "cohen_kappa": {}, "win_rate": {"judge": {}, "reference": {}}}
    for name, values in point.items():
        if name.startswith("win_rate."):
            who = name.split(".")[1]
            games = item_tables.games.sum(axis=0)[0 if who == "judge" else 1]
            for m, model in enumerate(models):
                entry = _estimate(float(values[0, m]), draws[name][:, m])
                result["win_rate"][who][model] = {**entry, "comparisons": int(round(games[m]))}
            continue
        k_n = counts.get(name)
        entry = _estimate(float(values[0]), draws[name], *(k_n or (None, None)))
        group, _, sub = name.partition(".")
        if sub:
            result[group][sub] = entry
        else:
            result[group] = entry
    return result


def agreement(judgments: Sequence[Judgment], reference: str, judge: str | None = None,
              n_resamples: int = N_RESAMPLES, seed: int = SEED) -> dict[str, Any]:
    """The agreement report of every judge (or the one named) with the reference."""
    ref_ratings = reference_ratings(judgments, reference)
    ref = majority(ref_ratings)
    ref_raters = {r.rater for r in ref_ratings}
    if judge is not None:
        candidates = [j for j in judgments if j.rater == judge]
        if not candidates:
            raters = sorted({j.rater for j in judgments})
            raise AssayError(f"--judge {judge}: no judgments by that rater; stored raters: {', '.join(raters)}")
    else:
        candidates = [j for j in judgments if j.rater_kind == "judge" and j.rater not in ref_raters]
        if not candidates:
            raise AssayError(f"no judge judgments to compare with the reference {reference!r} "
                             "(import some, or run `assay battle`)")
    by_rater: dict[str, list[Judgment]] = defaultdict(list)
    for j in candidates:
        by_rater[j.rater].append(j)
    judges = []
    for name, rows in sorted(by_rater.items()):
        ratings = [r for r in map(to_rating, rows) if r is not None]
        pairwise = [j for j in rows if j.kind == "pairwise"]
        report = {"judge": name, "judgments": len(pairwise), "errors": sum(j.error is not None for j in pairwise),
                  "without_reference": sum(r.key not in ref for r in ratings)}
        report.update(compare(ratings, ref, n_resamples, seed))
        judges.append(report)
    return {"reference": reference, "reference_raters": len(ref_raters), "reference_keys": len(ref),
            "reference_errors": sum(j.error is not None for j in judgments
                                    if (j.rater_kind == reference if reference in ("human", "label")
                                        else j.rater == reference)),
            "reference_fleiss_kappa": rater_fleiss(ref_ratings), "judges": judges,
            "bootstrap": {"resamples": n_resamples, "seed": seed, "cluster": "item", "confidence": 0.95}}
