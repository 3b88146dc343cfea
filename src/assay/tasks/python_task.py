"""Tasks written in Python, as short as a YAML task:

    @assay.task
    def capitals():
        return assay.generate(dataset="capitals.jsonl", prompt="Q: Capital of {{ country }}?\\nA:",
                              target="capital", scorer=exact, until=["\\n"], max_tokens=8)

`generate` and `choice` build the shared task types the built-in and YAML tasks use (`generative_task`,
`multiple_choice_task`); a `@scorer` replaces their built-in metrics. The data is read when the task is
built; the spec holds the records' hash, the prompt (template text or the function's source hash), the
scorer's name and source hash, the generation settings and any declared judge, so two runs are comparable
exactly when these agree. Tasks are pure: no model calls; a judge runs later over the stored run
(`assay judge RUN --judge SPEC` uses the template declared here when no --template is given).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, overload

from jinja2 import Template, TemplateError

from assay.errors import AssayError
from assay.metric_specs import MetricSpec
from assay.scoring.extraction import Extractor
from assay.tasks.base import Task, TaskContext
from assay.tasks.benchmarks.common import read_rows
from assay.tasks.benchmarks.generative import GenerativeTask, generative_task
from assay.tasks.benchmarks.multiple_choice import MC_METRICS, MultipleChoiceTask, multiple_choice_task
from assay.tasks.python_scorer import Scorer, source_sha256, where_raised
from assay.tasks.yaml_schema import JINJA
from assay.tasks.yaml_task import choice_index
from assay.types import Request, Response, Sample, Scored, canonical_json, sha256_hex

Record = dict[str, Any]
Dataset = Sequence[Mapping[str, Any]] | str | Path | Iterable[Mapping[str, Any]]
Prompt = str | Callable[[Record], str]
Field = str | Callable[[Record], Any]

# What an output is compared with by the built-in metrics: the whole output, stripped (as YAML tasks by default).
_WHOLE_OUTPUT = Extractor(fallback="whole")
# The folder of the task file being loaded: relative dataset paths are looked up there first, then in the cwd.
_TASK_FOLDER: ContextVar[Path | None] = ContextVar("assay_python_task_folder", default=None)


@dataclass
class PythonTask:
    """A task built by `generate` or `choice`: a shared task type, optionally scored by a `Scorer`."""

    inner: GenerativeTask | MultipleChoiceTask
    scorer: Scorer | None
    details: dict[str, Any]
    name: str = "python_task"
    description: str = ""
    family: str = "python"

    def spec(self) -> dict[str, Any]:
        base = self.inner.spec()
        if self.scorer is not None:  # the shared type's built-in metrics are not used
            base = {k: v for k, v in base.items() if k not in ("metrics", "normalizers")}
        return {**base, **self.details, "name": self.name, "family": self.family,
                "scorer": self.scorer.spec() if self.scorer is not None else None}

    def samples(self, ctx: TaskContext) -> Iterator[Sample]:
        return self.inner.samples(ctx)

    def size(self, ctx: TaskContext) -> int | None:
        return self.inner.size(ctx)

    def requests(self, sample: Sample) -> Sequence[Request]:
        return self.inner.requests(sample)

    def run_options(self) -> frozenset[str]:
        return self.inner.run_options()

    def aggregate(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return self.inner.aggregate(rows)

    def metrics(self) -> Sequence[MetricSpec]:
        if self.scorer is None:
            return self.inner.metrics()
        task_level = [m for m in MC_METRICS if m.aggregation == "task"] if isinstance(self.inner, MultipleChoiceTask) \
            else []
        return [*self.scorer.declared, *task_level]

    def score(self, sample: Sample, responses: Sequence[Response]) -> Scored:
        if self.scorer is None:
            return self.inner.score(sample, responses)
        if isinstance(self.inner, MultipleChoiceTask):
            # The shared type reads the choice (log-likelihood or generated letter); the scorer scores that choice.
            read = self.inner.score(sample, responses)
            picked = read.metadata.get("predicted_index")
            if read.error is not None or picked is None:
                return Scored(None, self.scorer.unparsable_scores(read.error or ""), error=read.error,
                              metadata=read.metadata)
            return self.scorer.score(sample, list(sample.choices or ())[picked], read.extracted, read.metadata)
        text = responses[0].text or ""
        return self.scorer.score(sample, text, extracted=text.strip())


def _resolve(path: Path) -> Path:
    folder = _TASK_FOLDER.get()
    if not path.is_absolute() and folder is not None and (folder / path).exists():
        return folder / path
    return path


def load_dataset(dataset: Dataset) -> tuple[list[Record], str]:
    """The records (read now) and where they came from: "list", "iterable" or "file:<path>"."""
    if isinstance(dataset, (str, Path)):
        path = _resolve(Path(dataset))
        if not path.is_file():
            raise AssayError(f"dataset: {dataset}: file not found (looked beside the task file and in the current "
                             "directory)")
        return read_rows(path, "dataset"), f"file:{path}"
    if isinstance(dataset, Mapping) or not isinstance(dataset, Iterable):
        raise AssayError(f"dataset: expected a list of dicts, a JSONL path or an iterable of dicts, "
                         f"got {type(dataset).__name__}")
    source = "list" if isinstance(dataset, Sequence) else "iterable"
    records = []
    for position, record in enumerate(dataset, start=1):
        if not isinstance(record, Mapping):
            raise AssayError(f"dataset: record {position} is {type(record).__name__}; expected a dict")
        records.append(dict(record))
    return records, source


def _describe(value: Field | Prompt | None) -> Any:
    """How a field or prompt goes into the spec: its text, or a function's name and source hash."""
    if value is None or isinstance(value, str):
        return value
    return {"function": getattr(value, "__qualname__", repr(value)), "source_sha256": source_sha256(value)}


def _target_error(position: int, problem: str) -> AssayError:
    return AssayError(f"target: record {position}: {problem}")


def _value(what: str, given: Field, record: Record, position: int) -> Any:
    if isinstance(given, str):
        if given not in record:
            raise AssayError(f"{what}: record {position} has no field {given!r} (it has {', '.join(record) or 'none'})")
        return record[given]
    try:
        return given(record)
    except Exception as error:  # the user's function failed on this record
        raise AssayError(f"{what}: {getattr(given, '__name__', what)}() raised {type(error).__name__}: {error} "
                         f"on record {position}{where_raised(error)}") from None


def _compile(prompt: Prompt) -> Callable[[Record, int], str]:
    """A renderer of the prompt for one record: a Jinja2 template (fields by name) or a function of the record."""
    if isinstance(prompt, str):
        try:
            template: Template = JINJA.from_string(prompt)
        except TemplateError as error:
            raise AssayError(f"prompt: bad template: {error}") from None

        def render(record: Record, position: int) -> str:
            try:
                return template.render({**record, "record": record})
            except (TemplateError, TypeError, ValueError, KeyError, AttributeError, IndexError) as error:
                raise AssayError(f"prompt: record {position}: {type(error).__name__}: {error}") from None
        return render
    if not callable(prompt):
        raise AssayError(f"prompt: expected a template string or a function of the record, got {type(prompt).__name__}")

    def call(record: Record, position: int) -> str:
        text = _value("prompt", prompt, record, position)
        if not isinstance(text, str):
            raise AssayError(f"prompt: {getattr(prompt, '__name__', 'prompt')}() returned {type(text).__name__} for "
                             f"record {position}; expected a string")
        return text
    return call


def _sample_id(record: Record, position: int, seen: set[str]) -> str:
    sample_id = str(record["id"]) if "id" in record else str(position - 1)
    if sample_id in seen:
        raise AssayError(f"dataset: record {position}: sample id {sample_id!r} is used twice")
    seen.add(sample_id)
    return sample_id


def _details(records: list[Record], source: str, prompt: Prompt, **fields: Any) -> dict[str, Any]:
    dataset = {"source": source, "n_records": len(records), "records_sha256": sha256_hex(canonical_json(records))}
    return {"dataset": dataset, "prompt": _describe(prompt), **{k: _describe(v) for k, v in fields.items()}}


def _judge(judge: str | None, rubric: str | dict[str, Any] | None) -> dict[str, Any]:
    if judge is None:
        if rubric is not None:
            raise AssayError("rubric: only with judge=<a judge prompt template>")
        return {}
    from assay.judges.prompts import task_judge  # jinja2 and pydantic only: no model code

    return {"judge": task_judge(judge, rubric, "judge")}


def generate(*, dataset: Dataset, prompt: Prompt, target: Field | None = None, scorer: Scorer | str = "exact_match",
             until: Sequence[str] = ("\n\n",), max_tokens: int = 256, judge: str | None = None,
             rubric: str | dict[str, Any] | None = None) -> PythonTask:
    """A generate-until task: one prompt per record (a Jinja2 template over the record's fields, or a function
    of the record), greedy generation until a stop string. `target`: the reference (a field name or a function
    of the record). `scorer`: a `@scorer`, or a built-in metric name (exact_match, contains, f1) comparing the
    stripped output with the target. `judge`: a pointwise judge prompt template (variables question, answer,
    reference, rubric) stored with the task, which `assay judge RUN` uses; `rubric`: its scale (a shipped name
    or {title, min, max, criteria})."""
    records, source = load_dataset(dataset)
    if isinstance(scorer, str) and target is None:
        raise AssayError(f"generate: target: the built-in {scorer} scorer compares with a target; give target= "
                         "(a field name or a function of the record) or a @scorer")
    if not isinstance(scorer, (Scorer, str)):
        raise AssayError(f"generate: scorer: expected a @assay.scorer function or a metric name, got "
                         f"{type(scorer).__name__}")
    render = _compile(prompt)
    seen: set[str] = set()
    samples = [Sample(id=_sample_id(record, position, seen), input=render(record, position),
                      target=_value("target", target, record, position) if target is not None else None,
                      metadata={"record": record})
               for position, record in enumerate(records, start=1)]
    details = {**_details(records, source, prompt, target=target), **_judge(judge, rubric)}
    try:
        inner = generative_task("python_task", family="python", load=lambda _ctx: list(samples),
                                extract=lambda text, _sample: _WHOLE_OUTPUT(text), until=until,
                                max_tokens=max_tokens, metrics=(scorer,) if isinstance(scorer, str) else ("exact_match",))
    except ValueError as error:
        raise AssayError(f"generate: scorer: {error}") from None
    return PythonTask(inner, scorer if isinstance(scorer, Scorer) else None, details)


def choice(*, dataset: Dataset, prompt: Prompt, choices: Field, target: Field, scorer: Scorer | None = None,
           format: str = "qa_dot_text") -> PythonTask:
    """A multiple-choice task scored by log-likelihood of each choice (acc, acc_norm, calibration) unless
    `scorer` is given (it then scores the most likely choice's text). `prompt` renders the question;
    `choices`: a field (or function) giving the list of choice texts; `target`: the answer as a 0-based index,
    a letter or the choice text; `format`: the prompt format (`assay run --prompt-formats` adds others)."""
    records, source = load_dataset(dataset)
    render = _compile(prompt)
    seen: set[str] = set()
    samples = []
    for position, record in enumerate(records, start=1):
        options = _value("choices", choices, record, position)
        if not isinstance(options, (list, tuple)) or len(options) < 2 or not all(isinstance(c, str) for c in options):
            raise AssayError(f"choices: record {position}: expected a list of at least two strings, got {options!r:.80}")
        answer = choice_index(_value("target", target, record, position), list(options),
                              functools.partial(_target_error, position))
        samples.append(Sample(id=_sample_id(record, position, seen), input=render(record, position),
                              choices=list(options), target=answer, metadata={"record": record}))
    if scorer is not None and not isinstance(scorer, Scorer):
        raise AssayError(f"choice: scorer: expected a @assay.scorer function, got {type(scorer).__name__}")
    try:
        inner = multiple_choice_task("python_task", family="python", load=lambda _ctx: list(samples),
                                     native_format=format)
    except ValueError as error:
        raise AssayError(f"choice: format: {error}") from None
    return PythonTask(inner, scorer, _details(records, source, prompt, choices=choices, target=target))


@dataclass
class TaskFunction:
    """A function decorated with `@task`: calling it builds the task, named after the function."""

    function: Callable[..., Any]
    name: str
    description: str = ""
    folder: Path | None = field(default=None)

    def __call__(self, *args: Any, **kwargs: Any) -> Task:
        token = _TASK_FOLDER.set(self.folder)
        try:
            built = self.function(*args, **kwargs)
        finally:
            _TASK_FOLDER.reset(token)
        if isinstance(built, PythonTask):
            built.name, built.description = self.name, self.description or built.description
            built.inner.name = self.name
            if args or kwargs:  # a parameterised task: its arguments are part of what it is
                built.details["arguments"] = canonical_json([list(args), kwargs])
            return built
        if not isinstance(built, Task):
            raise AssayError(f"{self.name}() returned {type(built).__name__}; expected a task (build it with "
                             "assay.generate or assay.choice)")
        return built


@overload
def task(function: Callable[..., Any], /) -> TaskFunction: ...


@overload
def task(*, name: str | None = None, description: str | None = None) -> Callable[[Callable[..., Any]], TaskFunction]: ...


def task(function: Callable[..., Any] | None = None, /, *, name: str | None = None,
         description: str | None = None) -> TaskFunction | Callable[[Callable[..., Any]], TaskFunction]:
    """Mark a function that returns a task (`assay.generate(...)`, `assay.choice(...)`): `@task` or
    `@task(name=..., description=...)`. The name defaults to the function's, the description to the first
    line of its docstring; `assay run --task FILE.py:NAME` and `assay.evaluate` load it."""

    def decorate(inner: Callable[..., Any]) -> TaskFunction:
        doc = (inner.__doc__ or "").strip().splitlines()
        code = getattr(inner, "__code__", None)
        folder = Path(code.co_filename).parent if code is not None and Path(code.co_filename).is_file() else None
        wrapped = TaskFunction(inner, name or inner.__name__, description or (doc[0] if doc else ""), folder)
        functools.update_wrapper(wrapped, inner)
        return wrapped

    return decorate(function) if function is not None else decorate
