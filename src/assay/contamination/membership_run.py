"""Min-K% / Min-K%++ over a list of texts with a loaded model (rolling log-likelihoods), and the
labelled-texts file a membership test reads (`--texts FILE`: JSONL of {"id", "text", "label"})."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assay.contamination.items import Item
from assay.contamination.membership import auroc_with_ci, scores_from_meta
from assay.errors import AssayError
from assay.models.base import Model
from assay.tasks.benchmarks.common import read_jsonl_numbered
from assay.types import LoglikelihoodRollingRequest

BATCH = 16


@dataclass(frozen=True)
class LabelledItem:
    item: Item
    label: int | None


def read_labelled_texts(path: Path) -> list[LabelledItem]:
    out = []
    for number, record in read_jsonl_numbered(path, "--texts"):
        if not isinstance(record.get("text"), str):
            raise AssayError(f"--texts {path} line {number}: expected an object with a \"text\" string")
        label = record.get("label")
        if label not in (None, 0, 1):
            raise AssayError(f"--texts {path} line {number}: label must be 1 (member), 0 (non-member) or absent")
        out.append(LabelledItem(Item(str(record.get("id", number)), record["text"]), label))
    if not out:
        raise AssayError(f"--texts {path}: no texts in it")
    return out


def read_labels(path: Path, items: Sequence[Item]) -> list[LabelledItem]:
    """--labels FILE: JSON {item id: 1 or 0}; every id must be an item of the task."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise AssayError(f"--labels: cannot read {path}: {exc}") from None
    if not isinstance(raw, dict) or not all(v in (0, 1) for v in raw.values()):
        raise AssayError(f"--labels {path}: expected a JSON object {{item id: 1 or 0}}")
    known = {item.id for item in items}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise AssayError(f"--labels {path}: item id {unknown[0]!r} is not an item of the task ({len(unknown)} unknown)")
    return [LabelledItem(item, raw.get(item.id)) for item in items]


def membership_scores(model: Model, items: Sequence[LabelledItem], k_percent: float) -> dict[str, Any]:
    """Per-item Min-K% (and Min-K%++ where the backend gives the distribution's mean and spread), with
    AUROC ± bootstrap CI per score when labels are given. Failed requests are counted and listed."""
    if not 0.0 < k_percent <= 100.0:
        raise AssayError(f"--k: expected a percentage in (0, 100], got {k_percent}")
    rows: list[dict[str, Any]] = []
    failed: list[dict[str, str]] = []
    for start in range(0, len(items), BATCH):
        chunk = items[start:start + BATCH]
        responses = model.loglikelihood_rolling([LoglikelihoodRollingRequest(x.item.text) for x in chunk])
        for labelled, response in zip(chunk, responses, strict=True):
            if response.error:
                failed.append({"id": labelled.item.id, "error": response.error})
                continue
            scores = scores_from_meta(response.meta, k_percent, f"--model {model.spec}")
            rows.append({"id": labelled.item.id, "label": labelled.label, "n_tokens": response.n_tokens,
                         "logprob": response.logprob, **{k: round(v, 6) for k, v in scores.items()}})
    report: dict[str, Any] = {"model": model.spec, "k_percent": k_percent, "n_scored": len(rows),
                              "n_failed": len(failed), "failed": failed, "items": rows, "auroc": {}}
    labelled = [r for r in rows if r["label"] is not None]
    if labelled:
        for name in ("min_k", "min_k_plus_plus"):
            if all(name in r for r in labelled):
                report["auroc"][name] = auroc_with_ci([r[name] for r in labelled],
                                                      [r["label"] for r in labelled]).to_dict()
    return report
