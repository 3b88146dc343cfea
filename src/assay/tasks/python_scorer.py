"""Scorers written in Python: `@scorer(metrics=[score("exact", primary=True)])` on a function of
(sample, response) that returns {metric name: value}, or `unparsable(reason)` when the response holds
no answer.

The metrics are declared once, on the decorator, with the same `MetricSpec` declarations the built-in
tasks use; the task's `metrics()` returns them. A returned score that is not declared, or a declared one
missing, is a bug in the scorer: an AssayError naming the scorer and the metric, raised at the first
sample (the run stops there, exit code 2), never a silently dropped or half-declared row.
"""

from __future__ import annotations

import hashlib
import inspect
import math
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from assay.errors import AssayError
from assay.metric_specs import COUNTS, MetricDeclarations, MetricSpec
from assay.types import Sample, Scored

ScoreFunction = Callable[[Sample, str], "Mapping[str, float] | Unparsable"]


@dataclass(frozen=True)
class Unparsable:
    """What a scorer returns when the response holds no answer: the sample is counted in `n_unparsable`."""

    reason: str
    scores: Mapping[str, float] | None = None


def unparsable(reason: str, scores: Mapping[str, float] | None = None) -> Unparsable:
    """The scorer found no answer in the response. Its higher-is-better metrics score 0 (incorrect); a scorer
    with a lower-is-better metric passes the values to store in `scores`."""
    return Unparsable(reason, scores)


def source_sha256(function: Callable[..., Any]) -> str:
    """sha256 of a function's source text (of its bytecode and constants when the source is not available,
    as for a function typed into a REPL): it goes into the task spec, so editing the function changes it."""
    try:
        text = inspect.getsource(function)
    except (OSError, TypeError):
        code = getattr(function, "__code__", None)
        text = repr((code.co_code, code.co_consts)) if code is not None else repr(function)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def where_raised(error: BaseException) -> str:
    """' (file.py line N)' for the innermost frame of a traceback: where a user's code failed."""
    frames = traceback.extract_tb(error.__traceback__)
    if not frames:
        return ""
    last = frames[-1]
    return f" ({last.filename.rsplit('/', 1)[-1]} line {last.lineno})"


@dataclass(frozen=True)
class Scorer:
    """A scoring function with its declared per-sample metrics (made by `@scorer`)."""

    function: ScoreFunction
    name: str
    declared: tuple[MetricSpec, ...]

    def __call__(self, sample: Sample, response: str) -> Mapping[str, float] | Unparsable:
        return self.function(sample, response)

    def spec(self) -> dict[str, Any]:
        return {"name": self.name, "source_sha256": source_sha256(self.function),
                "metrics": [{"name": m.name, **m.fields()} for m in self.declared]}

    def score(self, sample: Sample, response: str, extracted: str | None = None,
              metadata: Mapping[str, Any] | None = None) -> Scored:
        """Run the scorer on one sample and check what it returned against the declarations."""
        try:
            result = self.function(sample, response)
        except Exception as error:  # the user's scorer failed: one line naming it, the sample and the line
            raise AssayError(f"scorer {self.name} raised {type(error).__name__}: {error} on sample {sample.id!r}"
                             f"{where_raised(error)}") from None
        meta = dict(metadata or {})
        if isinstance(result, Unparsable):
            scores = self._unparsable_scores(result)
            return Scored(extracted=None, scores=scores, error=f"unparsable: {result.reason}", metadata=meta)
        return Scored(extracted=extracted, scores=self.checked(result, sample), metadata=meta)

    def unparsable_scores(self, reason: str) -> dict[str, float]:
        """The scores stored for a response the task itself could not read (0 for each metric)."""
        return self._unparsable_scores(Unparsable(reason))

    def _unparsable_scores(self, result: Unparsable) -> dict[str, float]:
        if result.scores is not None:
            return self.checked(result.scores, None)
        lower = [m.name for m in self.declared if m.higher_is_better is not True]
        if lower:
            raise AssayError(f"scorer {self.name}: unparsable() without scores, but {', '.join(lower)} is not "
                             "higher-is-better, so 0 is not 'incorrect'; pass unparsable(reason, scores={...})")
        return {m.name: 0.0 for m in self.declared}

    def checked(self, result: Any, sample: Sample | None) -> dict[str, float]:
        on = f" on sample {sample.id!r}" if sample is not None else ""
        if not isinstance(result, Mapping):
            raise AssayError(f"scorer {self.name}: returned {type(result).__name__}{on}; expected a dict of "
                             f"scores {{{', '.join(repr(m.name) for m in self.declared)}: number}} or unparsable(reason)")
        names = [m.name for m in self.declared]
        for key in result:
            if key not in names:
                raise AssayError(f"scorer {self.name}: returned metric {key!r}{on}, which it does not declare "
                                 f"(declared: {', '.join(names)}); add score({key!r}) to @scorer(metrics=...)")
        scores: dict[str, float] = {}
        for name in names:
            if name not in result:
                raise AssayError(f"scorer {self.name}: declared metric {name!r} is missing from what it returned{on}")
            value = result[name]
            if not isinstance(value, (int, float)) or (isinstance(value, float) and math.isnan(value)):
                raise AssayError(f"scorer {self.name}: metric {name!r} is {value!r}{on}; expected a number")
            scores[name] = float(value)
        return scores


def scorer(*, metrics: Sequence[MetricSpec], name: str | None = None) -> Callable[[ScoreFunction], Scorer]:
    """Decorate `function(sample, response) -> {metric: value}` as a scorer declaring `metrics`
    (`assay.score(...)`, exactly one primary). `sample` is the `Sample` (`.target`, `.input`, `.choices`,
    `.metadata["record"]`: the data record); `response` is the model's text (the chosen choice's text in a
    multiple-choice task)."""

    def decorate(function: ScoreFunction) -> Scorer:
        scorer_name: str = name or str(getattr(function, "__name__", "scorer"))
        declared = tuple(metrics)
        counts = {c.name for c in COUNTS}
        for spec in declared:
            if not isinstance(spec, MetricSpec):
                raise AssayError(f"scorer {scorer_name}: metrics: expected assay.score(...) declarations, "
                                 f"got {type(spec).__name__}")
            if spec.aggregation != "mean" or spec.name.endswith("/*"):
                raise AssayError(f"scorer {scorer_name}: metric {spec.name!r} is not a per-sample score; "
                                 "declare it with assay.score(name, ...)")
            if spec.name in counts:
                raise AssayError(f"scorer {scorer_name}: metric {spec.name!r} is a count every task gets; choose "
                                 "another name")
        try:
            MetricDeclarations(scorer_name, declared)  # exactly one primary, no name declared twice differently
        except ValueError as error:
            raise AssayError(f"scorer {scorer_name}: {str(error).removeprefix(f'task {scorer_name}: ')}") from None
        if len({spec.name for spec in declared}) != len(declared):
            raise AssayError(f"scorer {scorer_name}: a metric is declared twice")
        return Scorer(function, scorer_name, declared)

    return decorate
