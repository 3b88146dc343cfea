"""The generic JSON-lines format: `assay import judgments FILE --format jsonl`, one judgment per line.

Fields (docs/judges.md has the table): `item`, `model_a`, `rater` (required strings); `model_b` (required
for a pairwise judgment); `kind` ("pairwise" when `model_b` is given, else "pointwise"); `rater_kind`
("judge", "human" or "label"; default "judge"); `verdict` ("a", "b" or "tie", canonical: "a" = model_a
won, whatever order the rater saw); `order` ("ab": model_a shown first, "ba"); `preference` (for B, 0..1);
`score` (a number, pointwise); `error` (a rater output that could not be read); `task`, `prompt`,
`output_a`, `output_b`, `reference`, `reasoning` (strings); `metadata` (an object). A pairwise line needs
a `verdict` or an `error`. An unknown field, a wrong type or value is an error naming the line; the
source is set by the import, never read from the file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from assay.errors import AssayError
from assay.judges.importers import importer
from assay.judges.importers._io import read_jsonl
from assay.judges.types import Judgment

_STRINGS = ("item", "model_a", "model_b", "rater", "task", "prompt", "output_a", "output_b", "reference",
            "reasoning", "error")
_CHOICES: dict[str, tuple[str, ...]] = {"kind": ("pairwise", "pointwise"), "rater_kind": ("judge", "human", "label"),
                                        "verdict": ("a", "b", "tie"), "order": ("ab", "ba")}
_NUMBERS = ("preference", "score")
FIELDS = frozenset((*_STRINGS, *_CHOICES, *_NUMBERS, "metadata"))
REQUIRED = ("item", "model_a", "rater")


@importer("jsonl")
def import_jsonl(path: Path) -> list[Judgment]:
    path = Path(path)
    if not path.is_file():
        raise AssayError(f"{path}: not a file (the jsonl format reads one JSON-lines file)")
    rows = [_judgment(path, number, row) for number, row in read_jsonl(path)]
    if not rows:
        raise AssayError(f"{path}: no judgments (an empty file)")
    return rows


def _judgment(path: Path, number: int, row: dict[str, Any]) -> Judgment:
    where = f"{path}: line {number}"
    unknown = sorted(set(row) - FIELDS)
    if unknown:
        raise AssayError(f"{where}: unknown field {unknown[0]!r}; expected fields: {', '.join(sorted(FIELDS))}")
    for name in REQUIRED:
        if not row.get(name):
            raise AssayError(f"{where}: missing field {name!r}")
    for name in _STRINGS:
        if row.get(name) is not None and not isinstance(row[name], str):
            raise AssayError(f"{where}: field {name!r} must be a string, got {row[name]!r:.60}")
    for name, choices in _CHOICES.items():
        if row.get(name) is not None and row[name] not in choices:
            raise AssayError(f"{where}: field {name!r} must be one of {', '.join(choices)}, got {row[name]!r:.60}")
    for name in _NUMBERS:
        value = row.get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
            raise AssayError(f"{where}: field {name!r} must be a number, got {value!r:.60}")
    if row.get("metadata") is not None and not isinstance(row["metadata"], dict):
        raise AssayError(f"{where}: field 'metadata' must be an object")
    kind = row.get("kind") or ("pairwise" if row.get("model_b") else "pointwise")
    if kind == "pairwise":
        if not row.get("model_b"):
            raise AssayError(f"{where}: a pairwise judgment needs 'model_b'")
        if row.get("verdict") is None and row.get("error") is None and row.get("preference") is None:
            raise AssayError(f"{where}: a pairwise judgment needs 'verdict' (a, b or tie), 'preference' or 'error'")
    if row.get("error") is not None and row.get("verdict") is not None:
        raise AssayError(f"{where}: a judgment with an 'error' has no 'verdict'")
    preference = row.get("preference")
    if preference is not None and not 0.0 <= preference <= 1.0:
        raise AssayError(f"{where}: field 'preference' must be in 0..1, got {preference}")
    values = {name: row.get(name) for name in FIELDS if name != "metadata"}
    return Judgment(source="import:jsonl", **{**values, "kind": kind, "rater_kind": row.get("rater_kind") or "judge",
                                               "metadata": row.get("metadata") or {}})
