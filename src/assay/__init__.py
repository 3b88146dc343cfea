"""assay: evaluation of language models with long context first and an error bar on every number.

The public API is what `assay.__all__` lists; everything else is internal and may change. Names load on first
use, so `import assay` stays light (no torch, no database) until a verb is called."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# public name -> the module that defines it
_EXPORTS: dict[str, str] = {
    "evaluate": "assay.api.evaluate",
    "Run": "assay.api.run",
    "RunOutcome": "assay.api.run",
    "MetricRow": "assay.api.run",
    "SampleRow": "assay.api.run",
    "load_run": "assay.api.run",
    "load_model": "assay.models.registry",
    "AssayError": "assay.errors",
}

__all__ = ["__version__", *sorted(_EXPORTS)]

if TYPE_CHECKING:
    # `name as name`: re-exported for type checkers (the names load lazily through __getattr__ at run time).
    from assay.api.evaluate import evaluate as evaluate
    from assay.api.run import MetricRow as MetricRow
    from assay.api.run import Run as Run
    from assay.api.run import RunOutcome as RunOutcome
    from assay.api.run import SampleRow as SampleRow
    from assay.api.run import load_run as load_run
    from assay.errors import AssayError as AssayError
    from assay.models.registry import load_model as load_model


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'assay' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})
