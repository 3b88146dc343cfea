"""A user-supplied corpus folder: every .txt and .md file is one document, every line of a .jsonl file is
one document (its "text" field). Documents are read lazily, in a stable (sorted) order."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from assay.errors import AssayError

SUFFIXES = (".txt", ".md", ".jsonl")


def corpus_files(directory: Path) -> list[Path]:
    if not directory.is_dir():
        raise AssayError(f"--corpus: {directory} is not a directory")
    files = sorted(p for p in directory.rglob("*") if p.is_file() and p.suffix in SUFFIXES)
    if not files:
        raise AssayError(f"--corpus {directory}: no .txt, .md or .jsonl files in it")
    return files


def iter_documents(directory: Path) -> Iterator[tuple[str, str]]:
    """(document id, text): the relative path, with ':line' for a .jsonl line."""
    for path in corpus_files(directory):
        name = path.relative_to(directory).as_posix()
        try:
            if path.suffix != ".jsonl":
                yield name, path.read_text(encoding="utf-8", errors="replace")
                continue
            with path.open(encoding="utf-8", errors="replace") as handle:
                for number, line in enumerate(handle, start=1):
                    if not line.strip():
                        continue
                    try:
                        record = json.loads(line)
                    except json.JSONDecodeError as exc:
                        raise AssayError(f"--corpus: {path} line {number}: not JSON ({exc.msg})") from None
                    text = record.get("text") if isinstance(record, dict) else None
                    if not isinstance(text, str):
                        raise AssayError(f"--corpus: {path} line {number}: expected an object with a \"text\" string")
                    yield f"{name}:{number}", text
        except OSError as exc:
            raise AssayError(f"--corpus: cannot read {path}: {exc.strerror}") from None
