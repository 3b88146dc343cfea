"""Records for a declarative task: local files (resolved against the data directory, then the YAML
file's folder) or a Hugging Face `datasets` split; and the seeded choice of few-shot exemplars."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from assay.errors import AssayError, AssayProblems
from assay.tasks.benchmarks.common import read_rows
from assay.tasks.yaml_schema import DatasetSpec


def one_line(text: str) -> str:
    return " ".join(str(text).split())


def fail(yaml_path: Path, key: str, problem: str) -> AssayError:
    """The one-line error every declarative-task problem becomes: file, key path, problem."""
    return AssayError(f"{yaml_path}: {key}: {one_line(problem)}")


def fail_all(yaml_path: Path, problems: list[tuple[str, str]], shown: int) -> AssayError:
    """Every problem of a task file, one line each (the first `shown`, then how many more)."""
    if len(problems) == 1:
        return fail(yaml_path, *problems[0])
    lines = [str(fail(yaml_path, key, problem)) for key, problem in problems[:shown]]
    if len(problems) > shown:
        lines.append(f"{yaml_path}: and {len(problems) - shown} more problems")
    return AssayProblems(lines)


def resolve_file(relative: str, yaml_dir: Path, data_dir: Path | None) -> Path | None:
    """An absolute path as is; a relative one under the data directory (--data-dir, else the default
    data folder) first, so --data-dir always picks the data set, then beside the YAML file."""
    candidate = Path(relative).expanduser()
    if candidate.is_absolute():
        return candidate if candidate.is_file() else None
    for base in (data_dir, yaml_dir):
        if base is not None and (base / candidate).is_file():
            return base / candidate
    return None


def missing_file(yaml_path: Path, key: str, relative: str, data_dir: Path | None) -> AssayError:
    where = (f"--data-dir {data_dir} or " if data_dir is not None else "") + f"{yaml_path.parent}" + \
        ("" if data_dir is not None else " (no --data-dir given)")
    return fail(yaml_path, key, f"data file {relative!r} not found (looked in {where})")


def load_records(dataset: DatasetSpec, key: str, yaml_path: Path, data_dir: Path | None) -> tuple[list[dict[str, Any]], str]:
    """(records, a description of where they came from). Raises a one-line AssayError."""
    if dataset.hf is not None:
        return _hf_records(dataset, key, yaml_path), f"hf:{dataset.hf}/{dataset.config or ''}/{dataset.split}"
    assert dataset.path is not None
    path = resolve_file(dataset.path, yaml_path.parent, data_dir)
    if path is None:
        raise missing_file(yaml_path, f"{key}.path", dataset.path, data_dir)
    records = read_rows(path, f"{yaml_path}: {key}.path")
    if not records:
        raise fail(yaml_path, f"{key}.path", f"{path} holds no records")
    return records, str(path)


def _hf_records(dataset: DatasetSpec, key: str, yaml_path: Path) -> list[dict[str, Any]]:
    try:
        import datasets  # optional: only for hub datasets
    except ImportError:
        raise fail(yaml_path, f"{key}.hf", "the `datasets` package is not installed; install it or use "
                                           f"{key}.path with a local file") from None
    try:
        loaded = datasets.load_dataset(dataset.hf, dataset.config, split=dataset.split)
    except Exception as exc:  # the hub client raises many types (offline, missing config, ...)
        raise fail(yaml_path, f"{key}.hf", f"cannot load {dataset.hf!r} split {dataset.split!r}: "
                                           f"{type(exc).__name__}: {str(exc)[:200]}") from None
    return [dict(record) for record in loaded]


def exemplar_order(pool_size: int, count: int, seed: int) -> list[int]:
    """count + 1 distinct record positions drawn once with `seed` (one spare so a sample never
    serves as its own exemplar when exemplars come from the evaluated records)."""
    return random.Random(seed).sample(range(pool_size), min(count + 1, pool_size))


def exemplars_for(order: list[int], count: int, exclude: int | None) -> list[int]:
    return [position for position in order if position != exclude][:count]
