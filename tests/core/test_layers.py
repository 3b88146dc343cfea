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

# Known imports of another module's `_private` names (to be made public where they belong); no new ones.
PRIVATE_IMPORTS_ALLOWED = {
    ("assay.cli_commands.docqa", "assay.cli", "_json_out"),
    ("assay.cli_commands.docqa", "assay.cli", "_store"),
    ("assay.cli_commands.docqa", "assay.cli_commands.judging", "_judge_options"),
    ("assay.cli_commands.docqa", "assay.cli_commands.judging", "_load_judge"),
    ("assay.cli_commands.docqa", "assay.cli_commands.judging", "_judge_errors_line"),
    ("assay.cli_commands.docqa", "assay.cli_commands.judging", "_count"),
    ("assay.cli_commands.docqa", "assay.cli_commands.judging", "_execute"),
    ("assay.cli_commands.docqa", "assay.cli_commands.judging", "_metric"),
    ("assay.cli_commands.docqa", "assay.cli_commands.judging", "_settings"),
    ("assay.cli_commands.judging", "assay.cli", "_resume_command"),
    ("assay.cli_commands.judging", "assay.cli", "_terminate_as_interrupt"),
    ("assay.cli_commands.judging", "assay.cli", "_json_out"),
    ("assay.cli_commands.judging", "assay.cli", "_store"),
    ("assay.cli_commands.sycophancy", "assay.cli", "_store"),
    ("assay.docqa.faithfulness", "assay.judges.task", "_COUNT_SPECS"),
    ("assay.docqa.faithfulness", "assay.judges.task", "_count_rows"),
}


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
               "store": {"errors"}, "models": {"errors", "types"}}
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
    offenders = {module for module, edges in _imports().items() if _package(module) not in ("cli", "cli_commands")
                 for target, _ in edges if _package(target) in ("cli", "cli_commands")}
    assert not offenders, sorted(offenders)


def test_no_new_imports_of_private_names() -> None:
    private = {(module, target, name) for module, edges in _imports().items() for target, name in edges
               if name is not None and name.startswith("_") and target != module}
    new = private - PRIVATE_IMPORTS_ALLOWED
    assert not new, f"imports of another module's _private names: {sorted(new)}"
    fixed = PRIVATE_IMPORTS_ALLOWED - private
    assert not fixed, f"no longer imported (remove from PRIVATE_IMPORTS_ALLOWED): {sorted(fixed)}"
