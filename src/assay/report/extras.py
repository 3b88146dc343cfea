"""Shapes of the structured `extra` of task-level metric rows (method "task") that the report plots.

Tasks write these rows; the report only reads them. Each shape is validated before plotting so a
malformed row becomes a stated note in the report instead of a crash or a silently wrong picture.
The heatmap's shape is owned by its producer (`assay.tasks.longctx.heatmap.Heatmap`) and validated
with that class, never re-described here.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator, model_validator

from assay.tasks.longctx.heatmap import Heatmap

# Metric names the report knows; a task may suffix them ("heatmap:recall", "ece_letters").
TASK_METRIC_KINDS = ("heatmap", "length_curve", "effective_length", "ece", "brier", "format_sensitivity")


def metric_kind(name: str) -> str | None:
    for kind in TASK_METRIC_KINDS:
        if name == kind or name.startswith((f"{kind}:", f"{kind}_", f"{kind}/")):
            return kind
    return None


class _Extra(BaseModel):
    model_config = ConfigDict(extra="ignore")


class LengthCurveExtra(_Extra):
    lengths: list[float]
    mean: list[float | None]
    ci_low: list[float | None] | None = None
    ci_high: list[float | None] | None = None

    @model_validator(mode="after")
    def _shape(self) -> LengthCurveExtra:
        if not self.lengths:
            raise ValueError("lengths must be non-empty")
        for name in ("mean", "ci_low", "ci_high"):
            values = getattr(self, name)
            if values is not None and len(values) != len(self.lengths):
                raise ValueError(f"{name} has {len(values)} values for {len(self.lengths)} lengths")
        return self


class EffectiveLengthExtra(_Extra):
    threshold: float | None = None


class CalibrationBin(_Extra):
    low: float
    high: float
    count: int
    confidence: float | None = None
    accuracy: float | None = None


class EceExtra(_Extra):
    bins: list[CalibrationBin]

    @field_validator("bins")
    @classmethod
    def _some_bins(cls, bins: list[CalibrationBin]) -> list[CalibrationBin]:
        if not bins:
            raise ValueError("bins must be non-empty")
        return bins


class FormatScore(_Extra):
    mean: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    n: int | None = None


class FormatSensitivityExtra(_Extra):
    per_format: dict[str, FormatScore]
    spread: float | None = None
    std: float | None = None
    variance_share: float | None = None
    consistency: float | None = None

    @field_validator("per_format")
    @classmethod
    def _some_formats(cls, per_format: dict[str, FormatScore]) -> dict[str, FormatScore]:
        if not per_format:
            raise ValueError("per_format must be non-empty")
        return per_format


_MODELS: dict[str, type[BaseModel]] = {
    "heatmap": Heatmap,
    "length_curve": LengthCurveExtra,
    "effective_length": EffectiveLengthExtra,
    "ece": EceExtra,
    "format_sensitivity": FormatSensitivityExtra,
}


def parse_extra(kind: str, extra: Any) -> BaseModel | None:
    """The validated extra of a task metric of `kind`; raises ValueError with a one-line reason."""
    model = _MODELS.get(kind)
    if model is None:
        return None
    try:
        return model.model_validate(extra or {})
    except ValidationError as exc:
        first = exc.errors()[0]
        message = first["msg"].removeprefix("Value error, ")
        where = ".".join(str(part) for part in first["loc"])
        raise ValueError(f"{where}: {message}" if where else message) from None
