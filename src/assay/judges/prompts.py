"""Judge prompts: Jinja2 templates (sandboxed, StrictUndefined, as YAML tasks use) shipped in
`judges/prompts/` for each mode, and written rubrics in `judges/prompts/rubrics/`; both overridable
by file (`--template FILE`, `--rubric FILE`), and templates by the name of an installed plugin's judge prompt
(`--template NAME`, entry-point group `assay.judges`). A template that is missing, does not parse or uses a
variable its mode does not provide is a one-line AssayError before anything runs."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml
from jinja2 import Template, TemplateError
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from assay.errors import AssayError
from assay.tasks.yaml_schema import JINJA
from assay.types import sha256_hex

Mode = Literal["pointwise", "pairwise", "pairwise_reference"]
MODES: tuple[str, ...] = ("pointwise", "pairwise", "pairwise_reference")
PROMPTS_DIR = Path(__file__).parent / "prompts"
RUBRICS_DIR = PROMPTS_DIR / "rubrics"
DEFAULT_RUBRIC = "helpfulness"

# What the re-ask asks for, per mode (shown to the judge after an unreadable reply).
EXPECTED_FORMAT = {
    "pointwise": '{"score": <a whole number from {min} to {max}>, "reason": "<why>"}',
    "pairwise": '{"verdict": "A" | "B" | "tie", "reason": "<why>"}',
}


class Rubric(BaseModel):
    """A written scale: a title, whole-number bounds and what each level means."""

    model_config = ConfigDict(extra="forbid", strict=True)
    title: str = Field(min_length=1)
    min: int
    max: int
    criteria: str = Field(min_length=1)

    @model_validator(mode="after")
    def _bounds(self) -> Rubric:
        if self.min >= self.max:
            raise ValueError(f"min ({self.min}) must be below max ({self.max})")
        return self


@dataclass(frozen=True)
class JudgePrompt:
    """A mode's template (and rubric, pointwise), with the hashes recorded in the judge run's task spec."""

    mode: str
    template: Template
    template_source: str
    template_name: str
    rubric: Rubric | None
    reask: Template
    reask_source: str
    # Whether the rubric was chosen (--rubric) rather than the default: a task's declared rubric yields to it.
    rubric_given: bool = False

    @property
    def template_sha256(self) -> str:
        return sha256_hex(self.template_source)

    def render(self, **values: Any) -> str:
        extra = {"rubric": self.rubric.model_dump()} if self.rubric is not None else {}
        return self.template.render(**values, **extra).strip()

    def expected_format(self) -> str:
        if self.rubric is not None:
            return EXPECTED_FORMAT["pointwise"].replace("{min}", str(self.rubric.min)).replace("{max}", str(self.rubric.max))
        return EXPECTED_FORMAT["pairwise"]

    def render_reask(self, problem: str) -> str:
        return self.reask.render(problem=problem, expected=self.expected_format()).strip()

    def spec(self) -> dict[str, Any]:
        return {"mode": self.mode, "template": self.template_name, "template_sha256": self.template_sha256,
                "reask_sha256": sha256_hex(self.reask_source),
                "rubric": self.rubric.model_dump() if self.rubric is not None else None}


# A value for every variable each mode provides: a template is rendered with these once when loaded, so a
# misspelt variable fails before a run starts (StrictUndefined), never as an empty string in a prompt.
_PROBE = {
    "pointwise": {"question": "q", "answer": "a", "reference": None,
                  "rubric": {"title": "t", "min": 1, "max": 5, "criteria": "c"}},
    "pairwise": {"question": "q", "answer_a": "a", "answer_b": "b"},
    "pairwise_reference": {"question": "q", "answer_a": "a", "answer_b": "b", "reference": "r"},
}


def _compile(source: str, where: str, mode: str) -> Template:
    try:
        template = JINJA.from_string(source)
        template.render(**_PROBE[mode])
    except TemplateError as exc:
        line = f" (line {exc.lineno})" if getattr(exc, "lineno", None) else ""
        variables = ", ".join(sorted(_PROBE[mode]))
        raise AssayError(f"{where}: bad {mode} judge template{line}: {exc.message or exc}; "
                         f"it may use {variables}") from None
    return template


def load_rubric(name_or_file: str) -> Rubric:
    """A shipped rubric by name (helpfulness, correctness) or a YAML file {title, min, max, criteria}."""
    path = Path(name_or_file)
    if not path.suffix:
        path = RUBRICS_DIR / f"{name_or_file}.yaml"
        if not path.is_file():
            known = ", ".join(sorted(p.stem for p in RUBRICS_DIR.glob("*.yaml")))
            raise AssayError(f"--rubric: unknown rubric {name_or_file!r}; expected one of {known} or a .yaml file")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise AssayError(f"--rubric {name_or_file}: cannot read it ({exc.strerror or exc})") from None
    except yaml.YAMLError as exc:
        raise AssayError(f"--rubric {name_or_file}: not valid YAML ({' '.join(str(exc).split())})") from None
    return parse_rubric(data, f"--rubric {name_or_file}")


def parse_rubric(data: Any, where: str) -> Rubric:
    """A rubric from its mapping {title, min, max, criteria}; a bad one is one line starting with `where`."""
    try:
        return Rubric.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "(top level)"
        raise AssayError(f"{where}: {field}: {first['msg']} (expected title, min, max, criteria)") from None


def _is_prompt_name(template: Path | str) -> bool:
    """A template given without a suffix that is no file names a plugin's judge prompt (assay.plugins)."""
    path = Path(template)
    return not path.suffix and len(path.parts) == 1 and not path.exists()


def load_prompt(mode: str, template: Path | str | None = None, rubric: str | None = None) -> JudgePrompt:
    """The judge prompt for `mode`: the shipped template, a template file, or a plugin's judge prompt by name."""
    if mode not in MODES:
        raise AssayError(f"--mode: unknown judge mode {mode!r}; expected one of {', '.join(MODES)}")
    if rubric is not None and mode != "pointwise":
        raise AssayError(f"--rubric: only pointwise judging (`assay judge`) uses a rubric, not {mode}")
    if template is not None and _is_prompt_name(template):
        from assay.plugins import plugin_judge_prompt

        plugin = plugin_judge_prompt(str(template))
        source = plugin.provides
        where, name = f"--template {plugin.name} (judge prompt of {plugin.package})", f"plugin:{plugin.name} ({plugin.package})"
    elif template is not None:
        template_file = Path(template)
        try:
            source = template_file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise AssayError(f"--template {template_file}: cannot read it ({getattr(exc, 'strerror', None) or exc})") from None
        where, name = f"--template {template_file}", f"file:{template_file.name}"
    else:
        source = (PROMPTS_DIR / f"{mode}.j2").read_text(encoding="utf-8")
        where, name = f"judge template {mode}.j2", f"builtin:{mode}"
    reask_source = (PROMPTS_DIR / "reask.j2").read_text(encoding="utf-8")
    return JudgePrompt(mode=mode, template=_compile(source, where, mode), template_source=source,
                       template_name=name, rubric=load_rubric(rubric or DEFAULT_RUBRIC) if mode == "pointwise" else None,
                       reask=JINJA.from_string(reask_source), reask_source=reask_source, rubric_given=rubric is not None)


def task_judge(template: str, rubric: str | dict[str, Any] | None, where: str) -> dict[str, Any]:
    """The judge a task declares (a pointwise template text and optionally its rubric: a shipped name or a
    {title, min, max, criteria} mapping), checked now and in the form stored in the task's spec."""
    _compile(template, where, "pointwise")
    if isinstance(rubric, str):
        declared = load_rubric(rubric)
    else:
        declared = parse_rubric(rubric, f"{where}: rubric") if rubric is not None else None
    return {"template": template, "template_sha256": sha256_hex(template),
            "rubric": declared.model_dump() if declared is not None else None}


def declared_prompt(prompt: JudgePrompt, task_spec: dict[str, Any] | None) -> JudgePrompt | None:
    """The pointwise prompt for a task whose stored spec declares a judge (`judge` in a Python task), when no
    template was chosen (`prompt` is the shipped one); None otherwise. A chosen --rubric wins over the task's."""
    judge = (task_spec or {}).get("judge")
    if prompt.mode != "pointwise" or not prompt.template_name.startswith("builtin:") or not judge:
        return None
    source = judge["template"]
    rubric = prompt.rubric
    if judge.get("rubric") is not None and not prompt.rubric_given:
        rubric = parse_rubric(judge["rubric"], "the task's declared judge rubric")
    return JudgePrompt(mode=prompt.mode, template=_compile(source, "the task's declared judge template", "pointwise"),
                       template_source=source, template_name="task:declared", rubric=rubric, reask=prompt.reask,
                       reask_source=prompt.reask_source, rubric_given=prompt.rubric_given)
