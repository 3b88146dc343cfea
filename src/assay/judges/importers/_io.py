"""Reading the files of published judgments: every failure is an `AssayError` naming the file (and the
line of a JSON-lines file), so a bad file stops the import before anything is stored."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from assay.errors import AssayError


def read_json(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise AssayError(f"{path}: cannot read ({exc})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise AssayError(f"{path}: line {exc.lineno}: not valid JSON ({exc.msg})") from None


def read_jsonl(path: Path) -> list[tuple[int, dict[str, Any]]]:
    """(line number, object) for every non-blank line; a line that is not a JSON object is an error."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise AssayError(f"{path}: cannot read ({exc})") from None
    rows = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            raise AssayError(f"{path}: line {number}: not valid JSON ({exc.msg})") from None
        if not isinstance(value, dict):
            raise AssayError(f"{path}: line {number}: expected a JSON object, got {type(value).__name__}")
        rows.append((number, value))
    return rows


def field(path: Path, where: str, row: Any, name: str, kind: type | tuple[type, ...]) -> Any:
    """row[name], which must be of `kind`; `where` locates the row (e.g. "line 3", "instance 12")."""
    if not isinstance(row, dict) or name not in row:
        raise AssayError(f"{path}: {where}: missing field {name!r}")
    value = row[name]
    if not isinstance(value, kind) or isinstance(value, bool) and bool not in (kind if isinstance(kind, tuple) else (kind,)):
        expected = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise AssayError(f"{path}: {where}: field {name!r} must be {expected}, got {value!r:.60}")
    return value
