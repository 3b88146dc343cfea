"""Declarative tasks: a YAML file → a validated TaskSpec → one of the shared task types
(generative_task / multiple_choice_task / rolling_task), the same code the built-ins use.

Example (see examples/tasks/ for complete files):

    name: capitals
    output_type: generate_until
    dataset: {path: capitals.jsonl}
    prompt: {template: "Q: What is the capital of {{ country }}?\\nA:"}
    target: capital
    few_shot: {count: 2}
    generation: {until: ["\\n"], max_tokens: 16}
    metrics: [exact_match]

Any problem — YAML syntax, schema, template, regex, data file, a record the templates cannot
render — is an AssayError of one line: "<file>: <key path>: <problem>".
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from jinja2 import TemplateError
from pydantic import ValidationError

from assay import provenance
from assay.data_paths import default_data_dir
from assay.errors import AssayError
from assay.scoring.extraction import Extractor
from assay.tasks.base import Task, TaskContext
from assay.tasks.benchmarks.common import read_text
from assay.tasks.benchmarks.generative import generative_task
from assay.tasks.benchmarks.multiple_choice import multiple_choice_task
from assay.tasks.benchmarks.rolling import rolling_task
from assay.tasks.yaml_data import exemplar_order, exemplars_for, fail, fail_all, load_records, missing_file, resolve_file
from assay.tasks.yaml_schema import JINJA, MAX_PROBLEMS_SHOWN, ExtractionSpec, TaskSpec, validation_problems
from assay.types import Sample, sha256_hex

Record = dict[str, Any]


def _read_yaml(path: Path) -> tuple[Record, str]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise AssayError(f"--task {path}: task file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise AssayError(f"--task {path}: cannot read the task file ({exc})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else "unknown position"
        problem = getattr(exc, "problem", None) or str(exc)
        raise fail(path, "top level", f"invalid YAML at {where}: {problem}") from None
    if not isinstance(data, dict):
        raise fail(path, "top level", f"expected a mapping of task keys, got {type(data).__name__}")
    return data, text


class _Renderer:
    """Compiled templates/expressions of one spec; every failure names the key and the record."""

    def __init__(self, yaml_path: Path, spec: TaskSpec) -> None:
        self.yaml_path = yaml_path
        self.templates = {"prompt.template": JINJA.from_string(spec.prompt.template),
                          "prompt.answer_template": JINJA.from_string(spec.prompt.answer_template)}
        self.expressions = {key: JINJA.compile_expression(source, undefined_to_none=False)
                            for key, source in (("target", spec.target), ("choices", spec.choices), ("id", spec.id))
                            if source is not None}

    def _guard(self, key: str, where: str, call: Callable[[], Any]) -> Any:
        try:
            return call()
        except (TemplateError, TypeError, ValueError, KeyError, AttributeError, IndexError) as exc:
            raise fail(self.yaml_path, key, f"{where}: {type(exc).__name__}: {exc}") from None

    def text(self, key: str, record: Record, where: str, **extra: Any) -> str:
        # `extra` (the evaluated target, for answer_template) wins over a record field of the same name.
        return self._guard(key, where, lambda: self.templates[key].render({**record, "record": record, **extra}))

    def value(self, key: str, record: Record, where: str) -> Any:
        return self._guard(key, where, lambda: self.expressions[key]({**record, "record": record}))


class _YamlTask:
    """Turns records into samples for the spec's output type."""

    def __init__(self, yaml_path: Path, spec: TaskSpec, fixed_prompt: str) -> None:
        self.yaml_path = yaml_path
        self.spec = spec
        self.render = _Renderer(yaml_path, spec)
        # generate_until prompts: preamble, fixed few-shot prompt file, sampled exemplars, the record.
        self.fixed_prompt = fixed_prompt
        self.prefix = spec.prompt.preamble + fixed_prompt
        self.data_source = ""

    def samples(self, data_dir: Path | None) -> list[Sample]:
        self._read_fixed_prompt(data_dir)
        records, self.data_source = load_records(self.spec.dataset, "dataset", self.yaml_path, data_dir)
        label = Path(self.data_source).name
        few_shot = self.spec.few_shot
        pool, same_source, order = records, True, []
        if few_shot is not None and few_shot.count:
            if few_shot.source is not None:
                pool, _ = load_records(few_shot.source, "few_shot.source", self.yaml_path, data_dir)
                same_source = False
            available = len(pool) - (1 if same_source else 0)
            if few_shot.count > available:
                raise fail(self.yaml_path, "few_shot.count", f"{few_shot.count} exemplars requested but only "
                                                             f"{available} records can serve as exemplars")
            order = exemplar_order(len(pool), few_shot.count, few_shot.seed)
        out, seen = [], set()
        for position, record in enumerate(records):
            where = f"record {position + 1} of {label}"
            sample_id = str(self.render.value("id", record, where)) if self.spec.id else str(position)
            if sample_id in seen:
                raise fail(self.yaml_path, "id", f"{where}: sample id {sample_id!r} is used twice")
            seen.add(sample_id)
            exemplars = [pool[i] for i in exemplars_for(order, few_shot.count, position if same_source else None)] \
                if order and few_shot is not None else []
            out.append(self._sample(sample_id, record, where, exemplars))
        return out

    def _read_fixed_prompt(self, data_dir: Path | None) -> None:
        """The prompt file as the run's data directory has it (read again: its sha256 joins the run's
        provenance). Generated prompts use it; other task types were built with the file found at load."""
        fixed = _fixed_prompt(self.yaml_path, self.spec, data_dir)
        if fixed == self.fixed_prompt:
            return
        if self.spec.output_type != "generate_until":
            raise fail(self.yaml_path, "few_shot.prompt_file", f"the file under --data-dir {data_dir} differs from the "
                                                              "one found when the task was loaded; pass it by absolute path")
        self.prefix = self.spec.prompt.preamble + fixed

    def _sample(self, sample_id: str, record: Record, where: str, exemplars: list[Record]) -> Sample:
        kind = self.spec.output_type
        body = self.render.text("prompt.template", record, where)
        if kind == "loglikelihood_rolling":
            return Sample(id=sample_id, input=body)
        if kind == "multiple_choice":
            choices, target = self._choices_and_target(record, where)
            shots = []
            for exemplar in exemplars:
                shot_choices, shot_target = self._choices_and_target(exemplar, "a few-shot exemplar")
                shots.append({"input": self.render.text("prompt.template", exemplar, "a few-shot exemplar"),
                              "choices": shot_choices, "target": shot_target})
            return Sample(id=sample_id, input=body, choices=choices, target=target,
                          metadata={"fewshot": shots} if shots else {})
        target = str(self.render.value("target", record, where))
        prefix = self.prefix
        separator = self.spec.few_shot.separator if self.spec.few_shot else "\n\n"
        for exemplar in exemplars:
            shot_target = self.render.value("target", exemplar, "a few-shot exemplar")
            prefix += (self.render.text("prompt.template", exemplar, "a few-shot exemplar")
                       + self.render.text("prompt.answer_template", exemplar, "a few-shot exemplar", target=shot_target)
                       + separator)
        return Sample(id=sample_id, input=prefix + body, target=target)

    def _choices_and_target(self, record: Record, where: str) -> tuple[list[str], int]:
        choices = self.render.value("choices", record, where)
        if not isinstance(choices, (list, tuple)) or len(choices) < 2 or not all(isinstance(c, str) for c in choices):
            raise fail(self.yaml_path, "choices", f"{where}: expected a list of at least two strings, got {choices!r:.80}")
        raw = self.render.value("target", record, where)
        return list(choices), choice_index(raw, list(choices), lambda problem: fail(self.yaml_path, "target",
                                                                                      f"{where}: {problem}"))


def choice_index(raw: Any, choices: list[str], error: Callable[[str], AssayError]) -> int:
    """An answer given as a 0-based index, the choice text itself, or a letter (A, B, ...).
    A string equal to a choice is that choice, so choices like "42" are not read as indices."""
    if isinstance(raw, bool):
        raise error(f"answer {raw!r} is not an index, letter or choice text")
    if isinstance(raw, str) and raw in choices:
        index = choices.index(raw)
    elif isinstance(raw, int) or (isinstance(raw, str) and raw.strip().isdigit()):
        index = int(raw)
    elif isinstance(raw, str) and len(raw.strip()) == 1 and raw.strip().isupper():
        index = ord(raw.strip()) - ord("A")
    else:
        raise error(f"answer {raw!r:.60} is not an index, letter or one of the choices")
    if not 0 <= index < len(choices):
        raise error(f"answer {raw!r} is out of range for {len(choices)} choices")
    return index


def load_yaml_task(path: Path) -> Task:
    path = Path(path)
    data, text = _read_yaml(path)
    try:
        spec = TaskSpec.model_validate(data)
    except ValidationError as exc:
        raise fail_all(path, validation_problems(exc), MAX_PROBLEMS_SHOWN) from None
    fixed_prefix = _fixed_prompt(path, spec, default_data_dir())
    builder = _YamlTask(path, spec, fixed_prefix)
    # Records are read once per data directory (the files read are replayed to `assay.provenance` on
    # every use). Read now when the data is findable (the default data folder or beside the YAML), so
    # a bad record fails before a run starts; the run reads from its own --data-dir.
    loaded: dict[object, tuple[list[Sample], provenance.Reads]] = {}

    def load_from(data_dir: Path | None) -> list[Sample]:
        return provenance.memoised(loaded, str(data_dir), lambda: builder.samples(data_dir))

    data_dir_now = default_data_dir()
    if spec.dataset.hf is not None or resolve_file(spec.dataset.path or "", path.parent, data_dir_now) is not None:
        load_from(data_dir_now)

    def load(ctx: TaskContext) -> list[Sample]:
        return load_from(ctx.data_dir)

    # The file actually read and its sha256 join the spec at run time (`assay.manifest`).
    spec_fields = {"yaml": str(path), "yaml_sha256": sha256_hex(text), "config": spec.model_dump(mode="json"),
                   "data": spec.dataset.path or spec.dataset.hf,
                   "fixed_prompt_sha256": sha256_hex(fixed_prefix) if fixed_prefix else None}
    task = _build(spec, load, spec_fields, fixed_prefix)
    _check_name(path, spec)
    return task


def _fixed_prompt(path: Path, spec: TaskSpec, data_dir: Path | None) -> str:
    if spec.few_shot is None or spec.few_shot.prompt_file is None:
        return ""
    found = resolve_file(spec.few_shot.prompt_file, path.parent, data_dir)
    if found is None:
        raise missing_file(path, "few_shot.prompt_file", spec.few_shot.prompt_file, data_dir)
    return read_text(found, f"{path}: few_shot.prompt_file").rstrip("\n") + spec.few_shot.separator


def _build(spec: TaskSpec, load: Callable[[TaskContext], list[Sample]], spec_fields: dict[str, Any],
           fixed_prefix: str) -> Task:
    if spec.output_type == "multiple_choice":
        separator = spec.few_shot.separator if spec.few_shot else "\n\n"
        return multiple_choice_task(spec.name, family=spec.family, load=load, native_format=spec.prompt.format,
                                    preamble=spec.prompt.preamble + fixed_prefix, fewshot_separator=separator,
                                    spec=spec_fields)
    if spec.output_type == "loglikelihood_rolling":
        return rolling_task(spec.name, family=spec.family, load=load, metrics=spec.metrics, spec=spec_fields)
    extraction = spec.answer_extraction or ExtractionSpec()
    extractor = Extractor(patterns=tuple(extraction.patterns), match=extraction.match, fallback=extraction.fallback,
                          strip_think=extraction.strip_think)
    generation = spec.generation
    return generative_task(spec.name, family=spec.family, load=load, extract=lambda text, _sample: extractor(text),
                           until=generation.until if generation else ("\n\n",),
                           max_tokens=generation.max_tokens if generation else 256,
                           metrics=spec.metrics, normalizers=extraction.normalize, spec=spec_fields)


def _check_name(path: Path, spec: TaskSpec) -> None:
    """A YAML task may not take a built-in task's name (results would be filed under the wrong task)."""
    from assay.tasks.registry import task_entries  # the registry loads YAML tasks: imported here, not at the top

    if any(entry.name == spec.name for entry in task_entries()):
        raise fail(path, "name", f"{spec.name!r} is already the name of a built-in task; choose another")
