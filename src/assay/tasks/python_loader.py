"""`--task path/to/file.py:function` (or `file.py` alone when it defines one `@assay.task`): import the file by
path under a stable module name, call the task function, return its task. Every failure is one AssayError
line naming the file and what was expected."""

from __future__ import annotations

import hashlib
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from assay.errors import AssayError
from assay.tasks.base import Task
from assay.tasks.python_scorer import where_raised
from assay.tasks.python_task import TaskFunction


def module_name(path: Path) -> str:
    """The same name for the same file in every process (readable, and unique per absolute path)."""
    digest = hashlib.sha256(str(path.resolve()).encode("utf-8")).hexdigest()[:12]
    stem = "".join(c if c.isalnum() else "_" for c in path.stem)
    return f"assay_task_file_{stem}_{digest}"


def _import(path: Path, where: str) -> ModuleType:
    if not path.is_file():
        raise AssayError(f"{where}: file not found")
    name = module_name(path)
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise AssayError(f"{where}: cannot import it as a Python file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses and pickling look the module up by name
    try:
        spec.loader.exec_module(module)
    except SyntaxError as error:
        sys.modules.pop(name, None)
        raise AssayError(f"{where}: line {error.lineno}: invalid Python ({error.msg})") from None
    except AssayError as error:  # a builder called at import time (bad data, bad template)
        sys.modules.pop(name, None)
        raise AssayError(f"{where}: {error}") from None
    except Exception as error:  # the user's module failed while importing: named, with its line
        sys.modules.pop(name, None)
        raise AssayError(f"{where}: importing it raised {type(error).__name__}: {error}{where_raised(error)}") from None
    return module


def _task_functions(module: ModuleType) -> dict[str, TaskFunction]:
    return {attribute: value for attribute, value in vars(module).items() if isinstance(value, TaskFunction)}


def load_python_task(entry: str) -> Task:
    """The task of `file.py:function`, or of `file.py` when it defines exactly one @assay.task function."""
    file_part, _, function_name = entry.strip().partition(":")
    path = Path(file_part)
    where = f"--task {entry.strip()}"
    module = _import(path, where)
    tasks = _task_functions(module)
    if function_name:
        found = getattr(module, function_name, None)
        if found is None:
            known = ", ".join(sorted(tasks)) or "none"
            raise AssayError(f"{where}: no function {function_name!r} in {path} (its @assay.task functions: {known})")
        if not isinstance(found, TaskFunction):
            raise AssayError(f"{where}: {function_name} is not decorated with @assay.task")
        task_function = found
    elif len(tasks) == 1:
        task_function = next(iter(tasks.values()))
    else:
        listed = f" ({', '.join(sorted(tasks))})" if tasks else ""
        raise AssayError(f"{where}: expected one @assay.task function in the file, found {len(tasks)}{listed}; "
                         f"name one as {path}:FUNCTION")
    try:
        built = task_function()
    except AssayError as error:
        raise AssayError(f"{where}: {error}") from None
    except Exception as error:  # the user's task function failed
        raise AssayError(f"{where}: {task_function.name}() raised {type(error).__name__}: {error}"
                         f"{where_raised(error)}") from None
    _check_name(built, where)
    return built


def _check_name(built: Task, where: str) -> None:
    """A task file may not take a built-in task's name (results would be filed under the wrong task)."""
    from assay.tasks.registry import task_entries  # the registry loads task files: imported here, not at the top

    if any(entry.name == built.name for entry in task_entries()):
        raise AssayError(f"{where}: {built.name!r} is already the name of a built-in task; choose another "
                         "(@assay.task(name=...))")
