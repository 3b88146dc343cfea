"""assay: evaluation of language models with long context first and an error bar on every number.

The public API is what `assay.__all__` lists (docs/python.md); everything else is internal and may change.
Names load on first use, so `import assay` stays light (no torch, no database) until a verb is called."""

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
    "compare": "assay.api.comparing",
    "power": "assay.api.comparing",
    "judge": "assay.api.judging",
    "battle": "assay.api.judging",
    "JudgeRunOutcome": "assay.api.judging",
    "arena": "assay.api.leaderboards",
    "winrate": "assay.api.leaderboards",
    "agreement": "assay.api.leaderboards",
    "Comparison": "assay.comparison",
    "ComparedMetric": "assay.comparison",
    "TaskOverlap": "assay.comparison",
    "PowerAnalysis": "assay.stats.power",
    "Leaderboard": "assay.arena.leaderboard",
    "RatedModel": "assay.arena.leaderboard",
    "WinRates": "assay.arena.winrate",
    "WinRateRow": "assay.arena.winrate",
    "AgreementReport": "assay.judges.agreement_report",
    "task": "assay.tasks.python_task",
    "generate": "assay.tasks.python_task",
    "choice": "assay.tasks.python_task",
    "scorer": "assay.tasks.python_scorer",
    "unparsable": "assay.tasks.python_scorer",
    "score": "assay.metric_specs",
    "MetricSpec": "assay.metric_specs",
    "Task": "assay.tasks.base",
    "TaskContext": "assay.tasks.base",
    "Sample": "assay.types",
    "Response": "assay.types",
    "Heatmap": "assay.tasks.longctx.heatmap",
    "load_model": "assay.models.registry",
    "Model": "assay.models.base",
    "AssayError": "assay.errors",
}

__all__ = ["__version__", *sorted(_EXPORTS)]

if TYPE_CHECKING:
    # `name as name`: re-exported for type checkers (at run time the names load lazily through __getattr__).
    from assay.api.comparing import compare as compare
    from assay.api.comparing import power as power
    from assay.api.evaluate import evaluate as evaluate
    from assay.api.judging import JudgeRunOutcome as JudgeRunOutcome
    from assay.api.judging import battle as battle
    from assay.api.judging import judge as judge
    from assay.api.leaderboards import agreement as agreement
    from assay.api.leaderboards import arena as arena
    from assay.api.leaderboards import winrate as winrate
    from assay.api.run import MetricRow as MetricRow
    from assay.api.run import Run as Run
    from assay.api.run import RunOutcome as RunOutcome
    from assay.api.run import SampleRow as SampleRow
    from assay.api.run import load_run as load_run
    from assay.arena.leaderboard import Leaderboard as Leaderboard
    from assay.arena.leaderboard import RatedModel as RatedModel
    from assay.arena.winrate import WinRateRow as WinRateRow
    from assay.arena.winrate import WinRates as WinRates
    from assay.comparison import ComparedMetric as ComparedMetric
    from assay.comparison import Comparison as Comparison
    from assay.comparison import TaskOverlap as TaskOverlap
    from assay.errors import AssayError as AssayError
    from assay.judges.agreement_report import AgreementReport as AgreementReport
    from assay.metric_specs import MetricSpec as MetricSpec
    from assay.metric_specs import score as score
    from assay.models.base import Model as Model
    from assay.models.registry import load_model as load_model
    from assay.stats.power import PowerAnalysis as PowerAnalysis
    from assay.tasks.base import Task as Task
    from assay.tasks.base import TaskContext as TaskContext
    from assay.tasks.longctx.heatmap import Heatmap as Heatmap
    from assay.tasks.python_scorer import scorer as scorer
    from assay.tasks.python_scorer import unparsable as unparsable
    from assay.tasks.python_task import choice as choice
    from assay.tasks.python_task import generate as generate
    from assay.tasks.python_task import task as task
    from assay.types import Response as Response
    from assay.types import Sample as Sample


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'assay' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})
