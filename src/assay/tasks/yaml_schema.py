"""The schema of a declarative task file, validated with pydantic (unknown keys are errors).

Everything that can be checked without the data is checked here — key names and types,
Jinja syntax, regexes, metric names per output type, few-shot settings — so a bad file fails
before any run starts, with one line per problem naming the key path (see `validation_problems`).

Templates are rendered in a sandboxed Jinja environment with StrictUndefined: a misspelt
field is an error, never an empty string.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from jinja2 import StrictUndefined, TemplateSyntaxError
from jinja2.sandbox import ImmutableSandboxedEnvironment
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from assay.scoring.metrics import METRICS_BY_OUTPUT_TYPE, NORMALIZERS
from assay.tasks.benchmarks.prompt_formats import FORMATS_BY_NAME

JINJA = ImmutableSandboxedEnvironment(undefined=StrictUndefined, keep_trailing_newline=True, autoescape=False)

OutputType = Literal["multiple_choice", "generate_until", "loglikelihood_rolling"]


def _check_template(source: str) -> str:
    try:
        JINJA.parse(source)
    except TemplateSyntaxError as exc:
        raise ValueError(f"Jinja syntax error (template line {exc.lineno}): {exc.message}") from None
    return source


def _check_expression(source: str) -> str:
    try:
        JINJA.compile_expression(source)
    except TemplateSyntaxError as exc:
        raise ValueError(f"Jinja expression syntax error: {exc.message}") from None
    return source


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class DatasetSpec(StrictModel):
    # A local file (.jsonl/.json/.csv/.parquet): relative to the YAML file's folder, then --data-dir.
    path: str | None = None
    # Or a Hugging Face `datasets` name (only when that package is installed and the hub reachable).
    hf: str | None = None
    config: str | None = None
    split: str = "test"

    @model_validator(mode="after")
    def _one_source(self) -> DatasetSpec:
        if (self.path is None) == (self.hf is None):
            raise ValueError("give exactly one of 'path' (a local file) or 'hf' (a datasets name)")
        return self


class FewShotSpec(StrictModel):
    count: int = Field(default=0, ge=0, le=64)
    # Exemplars are drawn once with this seed (fixed by the file, not the run, so the prompt is too).
    seed: int = 1234
    # Where exemplars come from (default: the task's own data, never the sample itself) ...
    source: DatasetSpec | None = None
    # ... or a fixed text file put before every prompt instead.
    prompt_file: str | None = None
    separator: str = "\n\n"

    @model_validator(mode="after")
    def _file_or_count(self) -> FewShotSpec:
        if self.prompt_file is not None and (self.count or self.source is not None):
            raise ValueError("'prompt_file' is a fixed prompt: do not combine it with 'count' or 'source'")
        if self.prompt_file is None and self.count == 0:
            raise ValueError("set 'count' >= 1 (or a 'prompt_file'), or leave out few_shot")
        return self


class PromptSpec(StrictModel):
    # Renders one record: the question stem (multiple_choice), the prompt (generate_until) or the
    # document (loglikelihood_rolling). Fields of the record are template variables.
    template: str
    # generate_until: how a solved exemplar's answer follows its prompt (default " {{ target }}").
    answer_template: str = " {{ target }}"
    # Plain text (not a template) before the exemplars and the question: an instruction.
    preamble: str = ""
    # multiple_choice: the prompt format (see assay.tasks.benchmarks.prompt_formats).
    format: str = "qa_dot_text"

    check_templates = field_validator("template", "answer_template")(_check_template)

    @field_validator("format")
    @classmethod
    def _known_format(cls, value: str) -> str:
        if value not in FORMATS_BY_NAME:
            raise ValueError(f"unknown prompt format {value!r}; expected one of {', '.join(FORMATS_BY_NAME)}")
        return value


class GenerationSpec(StrictModel):
    until: list[str] = Field(default_factory=lambda: ["\n\n"])
    max_tokens: int = Field(default=256, ge=1, le=32768)


class ExtractionSpec(StrictModel):
    # Tried in order; the first that matches anywhere wins; its first capture group is the answer.
    patterns: list[str] = Field(default_factory=list)
    match: Literal["first", "last"] = "last"
    fallback: Literal["none", "last_number", "first_line", "whole"] = "whole"
    strip_think: bool = True
    # Applied to both the answer and the reference before comparing.
    normalize: list[str] = Field(default_factory=lambda: ["strip"])

    @field_validator("patterns")
    @classmethod
    def _compile(cls, patterns: list[str]) -> list[str]:
        for index, pattern in enumerate(patterns):
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"pattern {index} {pattern!r} does not compile: {exc}") from None
        return patterns

    @field_validator("normalize")
    @classmethod
    def _known_normalizers(cls, steps: list[str]) -> list[str]:
        unknown = [s for s in steps if s not in NORMALIZERS]
        if unknown:
            raise ValueError(f"unknown normaliser {unknown[0]!r}; expected any of {', '.join(NORMALIZERS)}")
        return steps


class TaskSpec(StrictModel):
    name: str = Field(pattern=r"^[A-Za-z0-9_.\-]+$", max_length=100)
    description: str = ""
    family: str = "yaml"
    output_type: OutputType
    dataset: DatasetSpec
    prompt: PromptSpec
    # Jinja expressions over a record: the reference answer (generate_until: text; multiple_choice:
    # index, letter or choice text) and the list of choice texts (multiple_choice).
    target: str | None = None
    choices: str | None = None
    # Jinja expression for a stable sample id (default: the record's position).
    id: str | None = None
    few_shot: FewShotSpec | None = None
    generation: GenerationSpec | None = None
    answer_extraction: ExtractionSpec | None = None
    metrics: list[str] = Field(min_length=1)

    check_expressions = field_validator("target", "choices", "id")(_check_expression)

    @model_validator(mode="after")
    def _consistent(self) -> TaskSpec:
        known = METRICS_BY_OUTPUT_TYPE[self.output_type]
        for index, metric in enumerate(self.metrics):
            if metric not in known:
                raise _KeyError(f"metrics.{index}", f"unknown metric {metric!r} for output_type {self.output_type}; "
                                                    f"expected one of {', '.join(known)}")
        if self.output_type != "loglikelihood_rolling" and self.target is None:
            raise _KeyError("target", f"required for output_type {self.output_type}")
        if self.output_type == "multiple_choice" and self.choices is None:
            raise _KeyError("choices", "required for output_type multiple_choice")
        if self.output_type != "generate_until":
            for key in ("generation", "answer_extraction"):
                if getattr(self, key) is not None:
                    raise _KeyError(key, f"only used with output_type generate_until, not {self.output_type}")
        if self.output_type == "loglikelihood_rolling" and self.few_shot is not None:
            raise _KeyError("few_shot", "not used with output_type loglikelihood_rolling")
        return self


class _KeyError(ValueError):
    """A cross-field problem that belongs to one key path (pydantic would report it at the top)."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key
        self.message = message


MAX_PROBLEMS_SHOWN = 10


def validation_problems(error: ValidationError) -> list[tuple[str, str]]:
    """(key path, problem) for every error pydantic found, in its order."""
    return [_problem(detail) for detail in error.errors()]


def _problem(detail: Any) -> tuple[str, str]:
    location = ".".join(str(part) for part in detail["loc"]) or "top level"
    context = detail.get("ctx") or {}
    cause = context.get("error")
    if isinstance(cause, _KeyError):
        return cause.key, cause.message
    if detail["type"] == "extra_forbidden":
        return location, "unknown key (not part of the task schema)"
    if detail["type"] == "missing":
        return location, "required key is missing"
    if isinstance(cause, ValueError):
        return location, str(cause)
    return location, f"{detail['msg']}, got {_short(detail.get('input'))}"


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
