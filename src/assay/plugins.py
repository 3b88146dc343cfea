"""Plugins: installed packages that add tasks, model backends and judge prompts through entry points.

Three entry-point groups, each entry point `name = "module:attribute"` in the package's pyproject.toml:

- `assay.tasks`: `attribute` is a task factory `(variant: str | None) -> Task`, the contract of a
  `@register_task` factory; the entry point's name is the task's name (`--task name` or `name:variant`), the
  first line of the factory's docstring its description in `assay list tasks`.
- `assay.models`: `attribute` is `load(rest: str, **options) -> Model` for the spec prefix `name`
  (`--model name:rest`). The options it takes are declared by a dict `OPTIONS: dict[str, ModelOption]` in the
  entry point's module (none if absent), so an unknown or bad `--model-args` key is a one-line error, as for
  the built-in backends. A plugin cannot replace a built-in prefix.
- `assay.judges`: `attribute` is a judge prompt, the text of a Jinja2 template (a `str`), chosen by name where a
  judge template is chosen (`assay judge --template name`).

Entry points are read lazily, the first time tasks, backends or judge prompts are looked up or listed, never
at `import assay`. A broken entry point (its import fails, the attribute is missing or of the wrong type, its
name is taken) is skipped and reported once, in one line on stderr naming the package, the entry point and
the problem; everything else keeps working.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib.metadata import EntryPoint, entry_points
from typing import Any, Generic, TypeVar

from assay.errors import AssayError
from assay.models.base import Model
from assay.models.model_args import ModelOption

TASKS_GROUP = "assay.tasks"
MODELS_GROUP = "assay.models"
JUDGES_GROUP = "assay.judges"

Adopted = TypeVar("Adopted")


class PluginRefused(Exception):
    """What is wrong with a loaded entry point (raised by a group's `adopt` function)."""


@dataclass(frozen=True)
class PluginProblem:
    """An entry point that was skipped, and why."""

    group: str
    entry_point: str
    value: str
    package: str
    problem: str

    def line(self) -> str:
        return (f"assay: plugin {self.package}: entry point {self.entry_point} = {self.value!r} "
                f"({self.group}): {self.problem}; skipped")


@dataclass(frozen=True)
class PluginPackage:
    """The installed distribution that declares an entry point."""

    name: str
    version: str

    def __str__(self) -> str:
        return f"{self.name} {self.version}".strip()


@dataclass(frozen=True)
class Plugin(Generic[Adopted]):
    """A working entry point: its name, what it provides, and the package it comes from."""

    name: str
    provides: Adopted
    package: PluginPackage
    description: str


@dataclass(frozen=True)
class PluginBackend:
    """A model backend from a plugin: its load function and the options it declares."""

    load: Callable[..., Any]
    options: Mapping[str, ModelOption]


def package_of(entry_point: EntryPoint) -> PluginPackage:
    """The package that declares `entry_point` (unknown for an entry point made by hand, as in tests)."""
    dist = getattr(entry_point, "dist", None)
    return PluginPackage(dist.name, dist.version) if dist is not None else PluginPackage("(unknown package)", "")


def _description(loaded: Any) -> str:
    doc = (getattr(loaded, "__doc__", None) or "").strip() if callable(loaded) else ""
    return doc.splitlines()[0].strip() if doc else ""


def load_group(found: Iterable[EntryPoint], adopt: Callable[[EntryPoint, Any], Adopted],
               reserved: Collection[str] = (), name_problem: Callable[[str], str | None] = lambda name: None,
               ) -> tuple[list[Plugin[Adopted]], list[PluginProblem]]:
    """Load each entry point of one group: the working ones in order, and one problem per broken one.

    `adopt(entry_point, loaded)` turns a loaded object into what the group provides, or raises PluginRefused;
    `reserved` are the names assay's built-ins own; `name_problem` says what is wrong with a name (None: fine).
    When two packages claim one name, the first keeps it.
    """
    plugins: list[Plugin[Adopted]] = []
    problems: list[PluginProblem] = []
    taken: dict[str, PluginPackage] = {}
    for entry_point in found:
        package = package_of(entry_point)
        try:
            if wrong_name := name_problem(entry_point.name):
                raise PluginRefused(wrong_name)
            if entry_point.name in reserved:
                raise PluginRefused(f"{entry_point.name!r} is built into assay; a plugin cannot replace it")
            if entry_point.name in taken:
                raise PluginRefused(f"{entry_point.name!r} is already provided by {taken[entry_point.name]}")
            try:
                loaded = entry_point.load()
            except Exception as exc:  # a plugin's import may fail in any way; it must not stop assay
                raise PluginRefused(f"cannot load it ({type(exc).__name__}: {' '.join(str(exc).split())})") from None
            provides = adopt(entry_point, loaded)
        except PluginRefused as refused:
            problems.append(PluginProblem(entry_point.group, entry_point.name, entry_point.value, str(package),
                                          str(refused)))
            continue
        taken[entry_point.name] = package
        plugins.append(Plugin(entry_point.name, provides, package, _description(loaded)))
    return plugins, problems


def _task_name_problem(name: str) -> str | None:
    if not name or any(c in name for c in ":,/+= ") or name.endswith((".yaml", ".yml", ".py")):
        return f"a task name cannot be empty, hold any of ':,/+= ' or end in .yaml/.yml/.py, got {name!r}"
    return None


def _prefix_problem(name: str) -> str | None:
    if not name or any(c in name for c in ":, "):
        return f"a backend prefix cannot be empty or hold any of ':, ', got {name!r}"
    return None


def _plugin_failed(what: str, package: PluginPackage, exc: Exception) -> AssayError:
    return AssayError(f"{what}: the plugin {package} failed ({type(exc).__name__}: {' '.join(str(exc).split())})")


def adopt_task(entry_point: EntryPoint, loaded: Any) -> Callable[[str | None], Any]:
    """The factory, checked when called: what it raises or returns wrongly is a one-line AssayError."""
    if not callable(loaded):
        raise PluginRefused(f"expected a task factory (variant: str | None) -> Task, got {type(loaded).__name__}")
    name, package = entry_point.name, package_of(entry_point)

    def build(variant: str | None) -> Any:
        # Whether it is a Task is checked by assay.tasks.registry: this module sits below the tasks layer.
        try:
            return loaded(variant)
        except AssayError:
            raise
        except Exception as exc:  # a plugin's bug is reported in one line, like bad input
            raise _plugin_failed(f"--task {name}", package, exc) from None

    return build


def adopt_backend(entry_point: EntryPoint, loaded: Any) -> PluginBackend:
    if not callable(loaded):
        raise PluginRefused(f"expected load(rest: str, **options) -> Model, got {type(loaded).__name__}")
    options = getattr(importlib.import_module(entry_point.module), "OPTIONS", {})
    if not isinstance(options, Mapping) or not all(
            isinstance(key, str) and isinstance(value, ModelOption) for key, value in options.items()):
        raise PluginRefused(f"{entry_point.module}.OPTIONS: expected a dict of option name → "
                            "assay.models.model_args.ModelOption")
    return PluginBackend(loaded, dict(options))


def load_plugin_model(plugin: Plugin[PluginBackend], spec: str, rest: str, options: Mapping[str, Any]) -> Model:
    """`plugin`'s model for `spec`: what its load raises or returns wrongly is a one-line AssayError."""
    try:
        model = plugin.provides.load(rest, **options)
    except AssayError:
        raise
    except Exception as exc:  # a plugin's bug is reported in one line, like bad input
        raise _plugin_failed(f"--model {spec}", plugin.package, exc) from None
    if not isinstance(model, Model):
        raise AssayError(f"--model {spec}: the plugin {plugin.package} returned {type(model).__name__}, not a Model "
                         "(spec, max_context, fingerprint, tokenizer, the three request kinds, close)")
    return model


def adopt_judge_prompt(entry_point: EntryPoint, loaded: Any) -> str:
    if not isinstance(loaded, str) or not loaded.strip():
        raise PluginRefused(f"expected a judge prompt (a Jinja2 template's text, str), got {type(loaded).__name__}")
    return loaded


_problems_found: list[PluginProblem] = []
_packages_loaded: dict[str, str] = {}


def _note(plugins: Iterable[Plugin[Any]], problems: Iterable[PluginProblem]) -> None:
    """Remember the packages whose entry points were loaded (for run manifests); report each problem once."""
    _packages_loaded.update((plugin.package.name, plugin.package.version) for plugin in plugins)
    for problem in problems:
        if problem not in _problems_found:
            _problems_found.append(problem)
            print(problem.line(), file=sys.stderr)


@cache
def plugin_tasks(builtin: frozenset[str]) -> tuple[Plugin[Callable[[str | None], Any]], ...]:
    """The task factories of installed plugins (a name in `builtin` is refused). Read once per process."""
    plugins, problems = load_group(entry_points(group=TASKS_GROUP), adopt_task, builtin, _task_name_problem)
    _note(plugins, problems)
    return tuple(plugins)


@cache
def plugin_backends(builtin: frozenset[str]) -> dict[str, Plugin[PluginBackend]]:
    """Model backends of installed plugins by spec prefix (a prefix in `builtin` is refused)."""
    plugins, problems = load_group(entry_points(group=MODELS_GROUP), adopt_backend, builtin, _prefix_problem)
    _note(plugins, problems)
    return {plugin.name: plugin for plugin in plugins}


@cache
def plugin_judge_prompts() -> dict[str, Plugin[str]]:
    """Judge prompts (Jinja2 template text) of installed plugins, by name."""
    plugins, problems = load_group(entry_points(group=JUDGES_GROUP), adopt_judge_prompt)
    _note(plugins, problems)
    return {plugin.name: plugin for plugin in plugins}


def plugin_judge_prompt(name: str) -> Plugin[str]:
    """The judge prompt `name` of an installed plugin, or a one-line AssayError naming the known ones."""
    prompts = plugin_judge_prompts()
    if name not in prompts:
        known = ", ".join(sorted(prompts)) or "none installed"
        raise AssayError(f"--template {name}: no such file, and no plugin judge prompt of that name "
                         f"(plugin judge prompts: {known})")
    return prompts[name]


def plugin_problems() -> list[PluginProblem]:
    """The broken entry points found so far (each group is read when it is first used)."""
    return list(_problems_found)


def plugin_packages() -> dict[str, str]:
    """{distribution: version} of the plugin packages whose entry points this process has loaded so far."""
    return dict(_packages_loaded)
