"""Task names → task objects. Every module under `assay.tasks` registers its tasks with
`@register_task`; modules are imported on first lookup (they must not import torch at import time).

Names may carry a variant after ':' (`bbh_cot:boolean_expressions`); a path ending in .yaml/.yml
loads a declarative task, `file.py:function` (or `file.py` with one `@assay.task`) a Python task.
A task list is separated by commas; inside a grid parameter list values are joined by '+'
(`niah_single:lengths=512+1024`), and the comma form people type (`niah_single:lengths=512,1024`) means the same.
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
    # Where the task comes from: "assay" for the built-ins, "name version" of a plugin's package.
    package: str = "assay"


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
    _add_plugin_tasks()
    _discovered = True


def _add_plugin_tasks() -> None:
    """Tasks of installed packages (entry-point group `assay.tasks`, see assay.plugins); built-in names win."""
    from assay.plugins import plugin_tasks

    for plugin in plugin_tasks(frozenset(_REGISTRY)):
        _REGISTRY[plugin.name] = TaskEntry(plugin.name, _returning_a_task(plugin.name, str(plugin.package),
                                                                          plugin.provides),
                                           "plugin", plugin.description, package=str(plugin.package))


def _returning_a_task(name: str, package: str, factory: TaskFactory) -> TaskFactory:
    """A plugin's factory whose result is checked: anything but a Task is a one-line error naming the package."""
    def build(variant: str | None) -> Task:
        task = factory(variant)
        if not isinstance(task, Task):
            raise AssayError(f"--task {name}: the plugin {package} returned {type(task).__name__}, not a Task")
        return task

    return build


def task_entries() -> list[TaskEntry]:
    _discover()
    return [_REGISTRY[name] for name in sorted(_REGISTRY)]


def get_task(name: str) -> Task:
    name = name.strip()
    if name.endswith((".yaml", ".yml")):
        from assay.tasks.yaml_task import load_yaml_task

        return load_yaml_task(Path(name))
    if name.partition(":")[0].endswith(".py"):
        from assay.tasks.python_loader import load_python_task

        return load_python_task(name)
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


GRID_SYNTAX_HELP = ("list values join with '+' (niah_single:lengths=512+1024/depths=0+50/n=2); "
                    "commas separate tasks, and lengths=512,1024 is read as lengths=512+1024")


def _continues_value(previous: str, piece: str) -> bool:
    """Whether `piece` is more values of the previous task's last `key=` parameter rather than a new
    task: the previous piece ends in an open `key=value` and this one starts with a number (no task
    name does), e.g. `1024` or `2048/n=2` after `niah_single:lengths=512`."""
    _, sep, variant = previous.partition(":")
    last_part = variant.rsplit("/", 1)[-1]
    if not sep or "=" not in last_part or previous.strip().endswith((".yaml", ".yml")):
        return False
    head = piece.strip()
    return bool(head) and head[0].isdigit() and not head.endswith((".yaml", ".yml"))


def split_task_list(spec: str) -> list[str]:
    """`--task` text → one string per task. Commas separate tasks, except that a piece continuing an
    open grid value (see `_continues_value`) is joined to it with '+'."""
    names: list[str] = []
    for piece in spec.split(","):
        if not piece.strip():
            continue
        if names and _continues_value(names[-1], piece):
            names[-1] = f"{names[-1]}+{piece.strip()}"
        else:
            names.append(piece.strip())
    return names


def parse_task_list(spec: str) -> list[Task]:
    names = split_task_list(spec)
    if not names:
        raise AssayError("--task: expected one or more task names separated by commas")
    tasks: list[Task] = []
    for index, name in enumerate(names):
        try:
            tasks.append(get_task(name))
        except AssayError as error:
            previous = names[index - 1] if index else ""
            if "=" in previous.partition(":")[2].rsplit("/", 1)[-1] and name.partition(":")[0] not in _REGISTRY:
                # Most likely a non-numeric value meant for the previous task's open key=.
                raise AssayError(f"{error}; if {name!r} is a value of {previous!r}: {GRID_SYNTAX_HELP}") from None
            raise
    return tasks
