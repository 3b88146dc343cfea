"""A judge model from what the user named: its options checked (`--judge-args`, as `--model-args`), loaded,
run over a judge plan and closed. Errors name the judge's flags, since that is what the user typed."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from assay.errors import AssayError
from assay.judges.engine import JudgeOutcome, JudgePlan, JudgeSettings, execute
from assay.judges.prompts import JudgePrompt
from assay.models.base import Model
from assay.store import Store

_FLAG = re.compile(r"^--model(-args)?\b")


def as_judge_flag(message: str) -> str:
    """Backend errors name --model / --model-args; for a judge the user typed --judge / --judge-args."""
    return _FLAG.sub(lambda m: "--judge-args" if m.group(1) else "--judge", message)


def judge_options(spec: str, judge_args: Mapping[str, Any] | str | None) -> dict[str, Any]:
    """The judge backend's options (a dict, or `key=value,...` text), checked against the backend."""
    from assay.models.model_args import split_model_args
    from assay.models.registry import check_options

    given = split_model_args(judge_args) if isinstance(judge_args, str) else dict(judge_args or {})
    try:
        return check_options(spec, given)
    except AssayError as exc:
        raise AssayError(as_judge_flag(str(exc))) from None


def load_judge(spec: str, options: dict[str, Any]) -> Model:
    from assay.models import load_model

    try:
        return load_model(spec, **options)
    except AssayError as exc:
        raise AssayError(as_judge_flag(str(exc))) from None


def judge_settings(options: dict[str, Any], **values: Any) -> JudgeSettings:
    """Settings whose recorded model_args leave out transport options (they do not change a verdict)."""
    from assay.models.model_args import TRANSPORT_OPTIONS

    return JudgeSettings(model_args={k: v for k, v in options.items() if k not in TRANSPORT_OPTIONS}, **values)


def run_judge_plan(store: Store, spec: str, options: dict[str, Any], prompt: JudgePrompt, plan: JudgePlan,
                   settings: JudgeSettings) -> JudgeOutcome:
    """Load the judge, run the plan (re-asking once), store the judgments, close the judge."""
    model = load_judge(spec, options)
    try:
        return execute(store, model, prompt, plan, settings)
    except AssayError as exc:  # an unreachable judge (exit code 1, the run kept) is named as the user named it
        exc.args = (as_judge_flag(str(exc)),)
        raise
    finally:
        model.close()
