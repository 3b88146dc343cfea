"""Task names → task objects. Every module under `assay.tasks` registers its tasks with
`@register_task`; modules are imported on first lookup (they must not import torch at import time).

Names may carry a variant after ':' (`bbh_cot:boolean_expressions`); a path ending in .yaml/.yml
loads a declarative task.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from difflib import get_close_matches
from pathlib import Path

from assay.errors import AssayError
from assay.tasks.base import Task

TaskFactory = Callable[[str | None], Task]


@dataclass(frozen=True)
class TaskEntry:
    name: str
    factory: TaskFactory
    family: str
    description: str
    # Known variants, listed by `assay list tasks` (empty: no variants, or free-form).
    variants: tuple[str, ...] = ()


_REGISTRY: dict[str, TaskEntry] = {}
_discovered = False


def register_task(name: str, *, family: str, description: str,
                  variants: tuple[str, ...] = ()) -> Callable[[TaskFactory], TaskFactory]:
    def decorate(factory: TaskFactory) -> TaskFactory:
        _REGISTRY[name] = TaskEntry(name, factory, family, description, variants)
        return factory
    return decorate


def _discover() -> None:
    global _discovered
    if _discovered:
        return
    import assay.tasks as package

    for module in pkgutil.walk_packages(package.__path__, prefix="assay.tasks."):
        importlib.import_module(module.name)
    _discovered = True


def task_entries() -> list[TaskEntry]:
    _discover()
    return [_REGISTRY[name] for name in sorted(_REGISTRY)]


def get_task(name: str) -> Task:
    name = name.strip()
    if name.endswith((".yaml", ".yml")):
        from assay.tasks.yaml_task import load_yaml_task

        return load_yaml_task(Path(name))
    _discover()
    base, sep, variant = name.partition(":")
    entry = _REGISTRY.get(base)
    if entry is None:
        close = get_close_matches(base, list(_REGISTRY), n=1, cutoff=0.6)
        hint = f" (did you mean {close[0]}{sep}{variant}?)" if close else ""
        raise AssayError(f"--task: unknown task {name!r}{hint}; see `assay list tasks` for the names")
    if entry.variants and sep and variant not in entry.variants:
        close = get_close_matches(variant, list(entry.variants), n=1, cutoff=0.6)
        hint = f" (did you mean {base}:{close[0]}?)" if close else ""
        raise AssayError(f"--task {name}: unknown variant {variant!r} of {base}{hint}; "
                         f"expected one of {', '.join(entry.variants)}")
    return entry.factory(variant if sep else None)


def parse_task_list(spec: str) -> list[Task]:
    names = [part for part in spec.split(",") if part.strip()]
    if not names:
        raise AssayError("--task: expected one or more task names separated by commas")
    return [get_task(n) for n in names]
