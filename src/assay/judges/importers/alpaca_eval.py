"""AlpacaEval annotations (`annotations.json`: a list of objects with instruction, output_1, generator_1,
output_2, generator_2, annotator, preference). `preference` is in [1, 2]: 1 = output_1 better, 2 =
output_2 better (the weighted annotators give a probability in between; older ones 0 for a draw).
Model A = generator_1 (the baseline), B = generator_2; the stored preference for B is preference − 1,
the verdict B above 1.5, A below, a tie at 1.5 (or 0). A missing or unreadable preference is a rater
error, counted and never scored. The item is the instruction (its SHA-256 prefix), so annotations of
other models on the same instructions share clusters. The presentation order is not in the file."""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path
from typing import Any

from assay.errors import AssayError
from assay.judges.importers import importer
from assay.judges.types import Judgment

NAME = "alpaca_eval"
_REQUIRED = ("instruction", "output_1", "generator_1", "output_2", "generator_2")


def source_for(path: Path) -> str:
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
    return f"import:{NAME}:{digest}"


def _preference(raw: Any) -> float | None:
    if raw is None or isinstance(raw, bool):
        return None
    try:
        value = float(raw)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def _judgment(row: dict[str, Any], source: str, where: str) -> Judgment:
    missing = [key for key in _REQUIRED if not isinstance(row.get(key), str)]
    if missing:
        raise AssayError(f"{where}: field {missing[0]!r} missing or not a string")
    instruction = row["instruction"]
    common: dict[str, Any] = {
        "source": source, "kind": "pairwise", "task": NAME,
        "item": hashlib.sha256(instruction.encode("utf-8")).hexdigest()[:16],
        "model_a": row["generator_1"], "model_b": row["generator_2"],
        "rater": str(row.get("annotator") or NAME), "rater_kind": "judge", "prompt": instruction,
        "output_a": row["output_1"], "output_b": row["output_2"],
        "metadata": {k: row[k] for k in ("dataset", "preference") if k in row},
    }
    value = _preference(row.get("preference"))
    if value == 0.0:  # AlpacaEval 1 marks a draw with 0
        value = 1.5
    if value is None or not 1.0 <= value <= 2.0:
        return Judgment(**common, error=f"preference {row.get('preference')!r} is not a number in [1, 2]")
    verdict = "b" if value > 1.5 else "a" if value < 1.5 else "tie"
    return Judgment(**common, verdict=verdict, preference=value - 1.0)


@importer(NAME)
def import_alpaca_eval(path: Path) -> list[Judgment]:
    try:
        rows = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise AssayError(f"{path}: cannot read ({exc.strerror})") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise AssayError(f"{path}: not JSON ({exc})") from None
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise AssayError(f"{path}: expected a JSON list of annotation objects (AlpacaEval annotations.json)")
    source = source_for(path)
    return [_judgment(row, source, f"{path}: annotation {i}") for i, row in enumerate(rows)]
