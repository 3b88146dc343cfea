"""Importers of published judgments and human labels: one module per format, each registering a
function `path -> list[Judgment]` with `@importer(NAME)`. `assay import judgments PATH --format NAME`
stores the result as source "import:NAME:<sha256 prefix of PATH>" (re-importing replaces it)."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from pathlib import Path

from assay.errors import AssayError
from assay.judges.types import Judgment

Importer = Callable[[Path], list[Judgment]]
_IMPORTERS: dict[str, Importer] = {}


def importer(name: str) -> Callable[[Importer], Importer]:
    def register(function: Importer) -> Importer:
        _IMPORTERS[name] = function
        return function
    return register


def importers() -> dict[str, Importer]:
    for module in pkgutil.iter_modules(__path__, prefix=f"{__name__}."):
        importlib.import_module(module.name)
    return dict(sorted(_IMPORTERS.items()))


def get_importer(name: str) -> Importer:
    known = importers()
    if name not in known:
        raise AssayError(f"--format: unknown judgment format {name!r}; expected one of {', '.join(known)}")
    return known[name]
