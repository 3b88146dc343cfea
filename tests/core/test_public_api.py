"""The public surface: `assay.__all__` is what users rely on, so every name in it resolves, has a docstring, is
re-exported for type checkers, and type-checks strictly (mypy, configured in pyproject.toml); `import assay`
stays light."""

from __future__ import annotations

import ast
import inspect
import subprocess
import sys
from pathlib import Path

import assay

ROOT = Path(__file__).resolve().parents[2]


def test_every_public_name_resolves_and_has_a_docstring() -> None:
    undocumented = []
    for name in assay.__all__:
        value = getattr(assay, name)
        doc = (inspect.getdoc(value) or "").strip()
        # A dataclass without a docstring gets its signature as one: that is not documentation.
        if name != "__version__" and (not doc or doc.startswith(f"{name}(")):
            undocumented.append(name)
    assert not undocumented, f"public names without a docstring: {undocumented}"


def test_type_checkers_see_every_export() -> None:
    """The lazy `__getattr__` hides names from type checkers; the TYPE_CHECKING block re-exports each one."""
    tree = ast.parse((ROOT / "src" / "assay" / "__init__.py").read_text(encoding="utf-8"))
    block = next(node for node in tree.body if isinstance(node, ast.If) and getattr(node.test, "id", "") == "TYPE_CHECKING")
    reexported = {alias.name for node in block.body if isinstance(node, ast.ImportFrom) for alias in node.names
                  if alias.asname == alias.name}
    assert reexported == set(assay.__all__) - {"__version__"}


def test_the_public_surface_type_checks() -> None:
    result = subprocess.run([sys.executable, "-m", "mypy"], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]


def test_import_assay_loads_no_model_stack_nor_database() -> None:
    code = "import sys, assay; print(sorted(m for m in ('torch', 'transformers', 'sqlalchemy') if m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
