"""Evaluating evaluators: how well a metric's scores agree with human scores on the same items.

For each metric: Pearson, Spearman and Kendall (tau-b) correlations with the human score, and the partial
correlations (Pearson and Spearman) controlling for the system that produced each item — the metric's
agreement *within* systems, not merely its ability to tell good systems from bad (FRANK, Pagnoni et al.,
2021). Every figure has a percentile bootstrap CI (`scipy.stats.bootstrap`) that resamples source documents,
since the several systems' outputs for one document are not independent.

Human scores come from FRANK (`<data-dir>/faithfulness/frank`: `Factuality` per summary, and the outputs of
its baseline metrics for the same summaries; item id `<hash>/<model_name>`) or from a JSONL of
`{"id", "score", "system"?, "cluster"?, "subset"?}`; a metric's scores from a JSONL of `{"id", "score"}` or
from a stored assay run (each sample's id and one of its scores).
"""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from assay.data_paths import require_data_file
from assay.errors import AssayError

STATISTICS = ("pearson", "spearman", "kendall", "partial_pearson", "partial_spearman")
FRANK_HUMAN = "faithfulness/frank/human_annotations.json"
FRANK_BASELINES = "faithfulness/frank/baseline_factuality_metrics_outputs.json"
_FRANK_FIELDS = frozenset({"hash", "model_name", "dataset", "split"})


@dataclass
class HumanScores:
    """Items rated by people: id → score, with the system that produced each item, the cluster (source
    document) it belongs to and a subset label (e.g. the data set) for per-subset figures."""

    score: dict[str, float]
    system: dict[str, str]
    cluster: dict[str, str]
    subset: dict[str, str] = field(default_factory=dict)
    source: str = ""


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise AssayError(f"{path}: cannot read: {exc.strerror}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise AssayError(f"{path}: not a JSON file ({exc})") from None


def _read_jsonl(path: Path) -> list[tuple[int, dict[str, Any]]]:
    if not path.is_file():
        raise AssayError(f"{path}: no such file")
    rows = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError:
        raise AssayError(f"{path}: not UTF-8 text; expected JSON lines") from None
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise AssayError(f"{path} line {number}: invalid JSON ({exc.msg})") from None
        if not isinstance(row, dict) or not isinstance(row.get("id"), (str, int)) \
                or not (row.get("score") is None or _finite(row.get("score"))):
            raise AssayError(f"{path} line {number}: expected {{\"id\": ..., \"score\": a number or null}}")
        rows.append((number, row))
    if not rows:
        raise AssayError(f"{path}: no rows")
    return rows


def frank_item_id(row: Mapping[str, Any]) -> str:
    return f"{row['hash']}/{row['model_name']}"


def load_frank(data_dir: Path | None, split: str | None = None) -> tuple[HumanScores, dict[str, dict[str, float]]]:
    """FRANK's human Factuality scores and its baseline metrics' outputs (None/NaN outputs left out, counted
    by the per-metric n). `split`: "test" or "valid" (default: both)."""
    human_path = require_data_file(data_dir, FRANK_HUMAN, "meta-eval")
    baseline_path = require_data_file(data_dir, FRANK_BASELINES, "meta-eval")
    human = HumanScores({}, {}, {}, {}, source=f"FRANK Factuality ({human_path})")
    wanted = lambda row: split is None or row.get("split") == split  # noqa: E731
    for row in _read_json(human_path):
        if wanted(row) and _finite(row.get("Factuality")):
            key = frank_item_id(row)
            human.score[key] = float(row["Factuality"])
            human.system[key] = str(row["model_name"])
            human.cluster[key] = str(row["hash"])
            human.subset[key] = str(row["dataset"])
    if not human.score:
        raise AssayError(f"meta-eval: no FRANK items with a Factuality score (split {split!r})")
    metrics: dict[str, dict[str, float]] = {}
    for row in _read_json(baseline_path):
        if not wanted(row):
            continue
        for name, value in row.items():
            if name not in _FRANK_FIELDS:
                scores = metrics.setdefault(name, {})
                if _finite(value):
                    scores[frank_item_id(row)] = float(value)
    return human, metrics


def read_human(path: Path) -> HumanScores:
    """Human scores from JSONL rows {"id", "score", "system"?, "cluster"?, "subset"?}."""
    human = HumanScores({}, {}, {}, {}, source=str(path))
    for number, row in _read_jsonl(path):
        key = str(row["id"])
        if key in human.score:
            raise AssayError(f"{path} line {number}: id {key!r} appears twice")
        if row["score"] is None:
            continue
        human.score[key] = float(row["score"])
        human.system[key] = str(row.get("system", ""))
        human.cluster[key] = str(row.get("cluster", key))
        if "subset" in row:
            human.subset[key] = str(row["subset"])
    return human


def read_metric_scores(path: Path) -> dict[str, float]:
    """A metric's scores from JSONL rows {"id", "score"} (null scores left out)."""
    scores: dict[str, float] = {}
    for number, row in _read_jsonl(path):
        key = str(row["id"])
        if key in scores:
            raise AssayError(f"{path} line {number}: id {key!r} appears twice")
        if row["score"] is not None:
            scores[key] = float(row["score"])
    return scores


def scores_from_run(store: Any, run_id: str, score_name: str) -> dict[str, float]:
    """One per-sample score of a stored run, by sample id (failed and unscored samples left out)."""
    run = store.get_run(run_id)
    scores = {}
    for row in store.iter_samples(run["id"], columns=("sample_id", "scores", "error_kind")):
        value = (row["scores"] or {}).get(score_name)
        if row["error_kind"] != "request_failed" and _finite(value):
            scores[str(row["sample_id"])] = float(value)
    if not scores:
        raise AssayError(f"--run {run_id}: no sample has a score named {score_name!r}")
    return scores


# ---- statistics ------------------------------------------------------------------------------------
def _within_system(values: np.ndarray, systems: np.ndarray) -> np.ndarray:
    """Residuals of a regression on one indicator per system: each value minus its system's mean."""
    sums = np.bincount(systems, weights=values)
    counts = np.bincount(systems)
    return values - sums[systems] / counts[systems]


def correlations(human: np.ndarray, metric: np.ndarray, systems: np.ndarray) -> np.ndarray:
    """The STATISTICS, in order (NaN where undefined, e.g. a constant metric)."""
    from scipy import stats

    with np.errstate(invalid="ignore", divide="ignore"):
        human_ranks, metric_ranks = stats.rankdata(human), stats.rankdata(metric)

        def pearson(a: np.ndarray, b: np.ndarray) -> float:
            if np.ptp(a) == 0 or np.ptp(b) == 0:
                return math.nan
            return float(np.corrcoef(a, b)[0, 1])

        kendall = stats.kendalltau(human, metric).statistic if np.ptp(human) and np.ptp(metric) else math.nan
        return np.array([
            pearson(human, metric), pearson(human_ranks, metric_ranks), float(kendall),
            pearson(_within_system(human, systems), _within_system(metric, systems)),
            pearson(_within_system(human_ranks, systems), _within_system(metric_ranks, systems)),
        ])


def _codes(labels: Sequence[str]) -> np.ndarray:
    index: dict[str, int] = {}
    return np.array([index.setdefault(label, len(index)) for label in labels], dtype=np.int64)


def correlate(human: Sequence[float], metric: Sequence[float], systems: Sequence[str], clusters: Sequence[str],
              n_resamples: int = 1000, confidence: float = 0.95, seed: int = 0) -> dict[str, Any]:
    """Each statistic with a percentile bootstrap CI over clusters (documents)."""
    from scipy import stats

    h, m = np.asarray(human, dtype=float), np.asarray(metric, dtype=float)
    system_codes, cluster_codes = _codes(systems), _codes(clusters)
    members = [np.flatnonzero(cluster_codes == c) for c in range(int(cluster_codes.max()) + 1)]
    point = correlations(h, m, system_codes)

    def statistic(chosen: np.ndarray) -> np.ndarray:
        rows = np.concatenate([members[int(c)] for c in chosen])
        return correlations(h[rows], m[rows], system_codes[rows])

    out: dict[str, Any] = {"n": int(h.size), "n_clusters": len(members), "n_systems": int(system_codes.max()) + 1}
    if len(members) >= 2 and n_resamples > 0:
        with warnings.catch_warnings():  # a degenerate resample distribution gives NaN bounds, reported as no CI
            warnings.simplefilter("ignore", stats.DegenerateDataWarning)
            result = stats.bootstrap((np.arange(len(members)),), statistic, vectorized=False, n_resamples=n_resamples,
                                     confidence_level=confidence, method="percentile", rng=np.random.default_rng(seed))
        lows, highs = result.confidence_interval.low, result.confidence_interval.high
    else:
        lows = highs = np.full(len(STATISTICS), math.nan)
    for name, value, low, high in zip(STATISTICS, point, lows, highs, strict=True):
        finite = [float(x) if math.isfinite(x) else None for x in (value, low, high)]
        out[name] = {"value": finite[0], "ci": None if finite[1] is None or finite[2] is None else finite[1:]}
    return out


def meta_eval_rows(human: HumanScores, metrics: Mapping[str, Mapping[str, float]], by_subset: bool = True) -> int:
    """How many rows `meta_eval` returns (for progress)."""
    return len(metrics) * (1 + (len(set(human.subset.values())) if by_subset and human.subset else 0))


def meta_eval(human: HumanScores, metrics: Mapping[str, Mapping[str, float]], n_resamples: int = 1000,
              confidence: float = 0.95, seed: int = 0, by_subset: bool = True,
              on_row: Callable[[], None] | None = None) -> list[dict[str, Any]]:
    """One row per metric (and per subset, when the human scores carry subsets): the statistics with CIs,
    the items used, and the metric's ids that no human score matched. `on_row` is called as each row is done."""
    subsets = ["all"] + (sorted(set(human.subset.values())) if by_subset and human.subset else [])
    rows = []
    for name, scores in metrics.items():
        unmatched = sum(1 for key in scores if key not in human.score)
        for subset in subsets:
            keys = [k for k in human.score if k in scores and (subset == "all" or human.subset.get(k) == subset)]
            missing = sum(1 for k in human.score if k not in scores and (subset == "all" or human.subset.get(k) == subset))
            row: dict[str, Any] = {"metric": name, "subset": subset, "human_without_metric": missing,
                                   "metric_ids_unmatched": unmatched}
            if len(keys) < 3:
                row.update({"n": len(keys), "error": "fewer than 3 items have both a human and a metric score"})
            else:
                row.update(correlate([human.score[k] for k in keys], [scores[k] for k in keys],
                                     [human.system[k] for k in keys], [human.cluster[k] for k in keys],
                                     n_resamples, confidence, seed))
            rows.append(row)
            if on_row is not None:
                on_row()
    return rows
