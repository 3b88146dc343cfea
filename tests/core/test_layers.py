"""The import rules docs/architecture.md states, checked against the source: which packages may import
which. Every import counts, the ones inside functions too (lazy imports are still dependencies). A rule
broken on purpose is listed here with its reason; a new break fails."""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"
PACKAGE = SRC / "assay"
# What `assay.models.base` brings with it (the package imports the registry, which loads backends lazily).
MODELS_PUBLIC = {"assay.models", "assay.models.base", "assay.models.registry", "assay.models.model_args"}

def _module_name(path: Path) -> str:
    return ".".join(path.relative_to(SRC).with_suffix("").parts).removesuffix(".__init__")


@cache
def _imports() -> dict[str, set[tuple[str, str | None]]]:
    """module → {(imported module, imported name or None)} for every `assay` import in it."""
    found: dict[str, set[tuple[str, str | None]]] = {}
    for path in PACKAGE.rglob("*.py"):
        edges: set[tuple[str, str | None]] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                edges |= {(alias.name, None) for alias in node.names if alias.name.split(".")[0] == "assay"}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").split(".")[0] == "assay":
                for alias in node.names:
                    submodule = f"{node.module}.{alias.name}"
                    is_module = (SRC / submodule.replace(".", "/")).with_suffix(".py").exists() or \
                        (SRC / submodule.replace(".", "/")).is_dir()
                    edges.add((submodule, None) if is_module else (node.module or "", alias.name))
        found[_module_name(path)] = edges
    return found


def _reach(start: str) -> set[str]:
    """Every assay module `start` imports, directly or through others."""
    graph = _imports()
    seen: set[str] = set()
    todo = [start]
    while todo:
        for target, _ in graph.get(todo.pop(), ()):
            parts = target.split(".")
            # importing a.b.c runs a and a.b too
            for end in range(2, len(parts) + 1):
                name = ".".join(parts[:end])
                if name not in seen:
                    seen.add(name)
                    todo.append(name)
    return seen


def _package(module: str) -> str:
    return module.split(".")[1] if module.count(".") else module


def _reach_of_package(package: str) -> set[str]:
    return {target for module in _imports() if _package(module) == package for target in _reach(module)}


def test_the_graph_is_read() -> None:
    assert "assay.runner" in _imports() and ("assay.store", "Store") in _imports()["assay.runner"]


def test_the_bottom_layer_imports_almost_nothing() -> None:
    allowed = {"types": set(), "errors": set(), "metric_specs": set(), "scoring": set(), "stats": {"errors"},
               "store": {"errors"}, "models": {"errors", "types", "plugins"},
               # entry points of installed packages, read lazily by the registries of models, tasks and judges
               "plugins": {"errors", "types", "models"}}
    for package, may in allowed.items():
        reached = {_package(m) for m in _reach_of_package(package)} - {package, "assay"}
        assert reached <= may, f"{package} imports {sorted(reached - may)}"


def test_tasks_never_reach_a_backend_the_runner_the_store_or_a_view() -> None:
    direct = {target for module, edges in _imports().items() if _package(module) == "tasks"
              for target, _ in edges if _package(target) == "models"}
    assert direct == {"assay.models.base"}, sorted(direct)  # the Tokenizer protocol only
    reached = _reach_of_package("tasks")
    assert {m for m in reached if _package(m) == "models"} <= MODELS_PUBLIC
    forbidden = {"runner", "store", "aggregate", "judges", "report", "web", "cli", "cli_commands", "executors"}
    # A Python task may declare its judge prompt: judges.prompts checks it (Jinja2 and pydantic, no model code).
    reached -= {"assay.judges", "assay.judges.prompts"}
    assert not {_package(m) for m in reached} & forbidden, sorted({_package(m) for m in reached} & forbidden)


def test_views_read_the_store_and_never_run_a_model() -> None:
    for package in ("report", "web", "stats", "arena"):
        reached = _reach_of_package(package)
        assert "assay.runner" not in reached, package
        assert {m for m in reached if _package(m) == "models"} <= MODELS_PUBLIC, package
        assert not {_package(m) for m in reached} & {"cli", "cli_commands", "executors"}, package


def test_only_the_registry_names_concrete_backends() -> None:
    # parity.py is the lm-evaluation-harness comparison: it needs the HF backend's own class.
    offenders = {(module, target) for module, edges in _imports().items() if _package(module) != "models"
                 for target, _ in edges if _package(target) == "models" and target not in MODELS_PUBLIC}
    assert offenders == {("assay.parity", "assay.models.hf")}, sorted(offenders)


def test_only_the_cli_imports_the_cli() -> None:
    cli = ("cli", "cli_commands", "cli_support", "cli_output")  # the library (assay.api included) prints nothing
    offenders = {module for module, edges in _imports().items() if _package(module) not in cli
                 for target, _ in edges if _package(target) in cli}
    assert not offenders, sorted(offenders)


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _private_attribute_uses(path: Path) -> set[tuple[str, str]]:
    """(module, name) for each `module._name` read through an imported assay module (`import assay.x as m;
    m._y`, `from assay import x; x._y`): the same reach into another module's internals as importing it."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    bound: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "assay":
                    bound[alias.asname or alias.name.split(".")[0]] = alias.name if alias.asname else "assay"
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").split(".")[0] == "assay":
            for alias in node.names:
                submodule = f"{node.module}.{alias.name}"
                if (SRC / submodule.replace(".", "/")).with_suffix(".py").exists() or \
                        (SRC / submodule.replace(".", "/")).is_dir():
                    bound[alias.asname or alias.name] = submodule
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and _private(node.attr):
            parts: list[str] = []
            value: ast.expr = node.value
            while isinstance(value, ast.Attribute):
                parts.insert(0, value.attr)
                value = value.value
            if isinstance(value, ast.Name) and value.id in bound:
                found.add((".".join([bound[value.id], *parts]), node.attr))
    return found


def test_no_module_imports_another_modules_private_names() -> None:
    private = {(module, target, name) for module, edges in _imports().items() for target, name in edges
               if name is not None and _private(name) and target != module}
    private |= {(_module_name(path), target, name) for path in PACKAGE.rglob("*.py")
                for target, name in _private_attribute_uses(path) if target != _module_name(path)}
    assert not private, f"imports of another module's _private names (make them public where they belong): " \
                        f"{sorted(private)}"


def test_the_private_name_check_sees_every_form(tmp_path: Path) -> None:
    # The forms the check must catch, in a file it reads the same way as the package's.
    sample = tmp_path / "sample.py"
    sample.write_text("import assay.cli as cli\nfrom assay import cli_support\nimport assay.store\n"
                      "cli._store(None)\ncli_support._invocation\nassay.store._x\ncli.app\n", encoding="utf-8")
    assert _private_attribute_uses(sample) == {("assay.cli", "_store"), ("assay.cli_support", "_invocation"),
                                               ("assay.store", "_x")}
