"""Grid parameters of a long-context task and the variant string that sets them.

Variant grammar (after the task name and ':'): parts separated by '/', each `key=value` or a bare
word. Lists use '+'. Lengths accept a k suffix (4k = 4096).

    niah_single:uuid                               value kind
    niah_single:lengths=1k+2k/depths=0+50+100/n=3  grid
    niah_multikey:needles/decoys=5                 haystack made of decoy needles
    variable_tracking:chains=2/hops=3/noise

Common keys: lengths, depths, n (samples per cell), max_tokens, haystack (prose|noise|needles|docs),
value (number|uuid|word), threshold (effective-length threshold on the 0..100 scale, default 85.6).
Task-specific keys are listed by each task. `ctx.options` may also set lengths / depths /
samples_per_cell / max_tokens; the variant string wins.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from assay.errors import AssayError
from assay.tasks.longctx.haystack import HAYSTACK_KINDS
from assay.tasks.longctx.needles import VALUE_KINDS

# RULER's threshold: Llama-2-7B-chat's score at 4K tokens, on the 0..100 scale.
RULER_THRESHOLD = 85.6
DEFAULT_LENGTHS = (512, 1024, 2048, 4096)
DEFAULT_DEPTHS = (0.0, 25.0, 50.0, 75.0, 100.0)
_MAY_BE_ZERO = frozenset({"decoys", "distractors"})


@dataclass(frozen=True)
class GridParams:
    lengths: tuple[int, ...] = DEFAULT_LENGTHS
    # None = the task places its needles itself (spread over the document), no depth axis.
    depths: tuple[float | None, ...] = DEFAULT_DEPTHS
    samples_per_cell: int = 2
    max_tokens: int = 32
    # None: the task builds its own document (word lists, coded text) and reads no haystack.
    haystack: str | None = "prose"
    value_kind: str = "number"
    threshold: float = RULER_THRESHOLD
    extra: Mapping[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"lengths": list(self.lengths), "depths": list(self.depths), "samples_per_cell": self.samples_per_cell,
                "max_tokens": self.max_tokens, "haystack": self.haystack, "value_kind": self.value_kind,
                "threshold": self.threshold, **dict(sorted(self.extra.items()))}


def _length(text: str, where: str) -> int:
    raw = text.strip().lower()
    try:
        value = int(float(raw[:-1]) * 1024) if raw.endswith("k") else int(raw)
    except ValueError:
        raise AssayError(f"{where}: expected a token count such as 2048 or 4k, got {text!r}") from None
    if value < 0:
        raise AssayError(f"{where}: lengths must be positive, got {text!r}")
    return value


def _depth(text: str, where: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise AssayError(f"{where}: expected depths in percent (0..100), got {text!r}") from None
    if not 0.0 <= value <= 100.0:
        raise AssayError(f"{where}: depth {text} is outside 0..100")
    return value


def _count(text: str, where: str, minimum: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise AssayError(f"{where}: expected a whole number, got {text!r}") from None
    if value < minimum:
        raise AssayError(f"{where}: expected a number >= {minimum}, got {text!r}")
    return value


def parse_variant(task: str, variant: str | None, defaults: GridParams,
                  extra_keys: Mapping[str, int] | None = None) -> GridParams:
    """Apply a variant string to the task's defaults; unknown keys or values are an AssayError."""
    extra_keys = dict(extra_keys or {})
    params = replace(defaults, extra={**extra_keys, **dict(defaults.extra)})
    if not variant:
        return params
    extra = dict(params.extra)
    for part in variant.split("/"):
        part = part.strip()
        if not part:
            continue
        where = f"--task {task}:{variant}"
        key, sep, value = part.partition("=")
        if (key == "haystack" or (not sep and key in HAYSTACK_KINDS)) and defaults.haystack is None:
            raise AssayError(f"{where}: {task} builds its own document; it has no haystack parameter")
        if not sep:
            if key in VALUE_KINDS:
                params = replace(params, value_kind=key)
            elif key in HAYSTACK_KINDS:
                params = replace(params, haystack=key)
            else:
                raise AssayError(f"{where}: unknown variant {key!r}; expected key=value or one of "
                                 f"{', '.join(VALUE_KINDS + HAYSTACK_KINDS)}")
            continue
        if key == "lengths":
            params = replace(params, lengths=tuple(_length(v, where) for v in value.split("+")))
        elif key == "depths":
            if params.depths == (None,):
                raise AssayError(f"{where}: {task} spreads its needles itself; it has no depths parameter")
            params = replace(params, depths=tuple(_depth(v, where) for v in value.split("+")))
        elif key == "n":
            params = replace(params, samples_per_cell=_count(value, where, minimum=1))
        elif key == "max_tokens":
            params = replace(params, max_tokens=_count(value, where, minimum=1))
        elif key == "haystack":
            if value not in HAYSTACK_KINDS:
                raise AssayError(f"{where}: unknown haystack {value!r}; expected one of {', '.join(HAYSTACK_KINDS)}")
            params = replace(params, haystack=value)
        elif key == "value":
            if value not in VALUE_KINDS:
                raise AssayError(f"{where}: unknown value kind {value!r}; expected one of {', '.join(VALUE_KINDS)}")
            params = replace(params, value_kind=value)
        elif key == "threshold":
            try:
                params = replace(params, threshold=float(value))
            except ValueError:
                raise AssayError(f"{where}: threshold must be a number on the 0..100 scale, got {value!r}") from None
        elif key in extra_keys:
            # Counts of optional extras (decoys, distractors) may be 0; structural sizes may not.
            extra[key] = _count(value, where, minimum=0 if key in _MAY_BE_ZERO else 1)
        else:
            known = ["lengths", "depths", "n", "max_tokens", "haystack", "value", "threshold", *extra_keys]
            raise AssayError(f"{where}: unknown parameter {key!r}; expected one of {', '.join(known)}")
    if not params.lengths:
        raise AssayError(f"--task {task}:{variant}: lengths is empty")
    return replace(params, extra=extra)


def haystack_named_by_variant(variant: str | None) -> str | None:
    """The haystack kind a variant string sets (`haystack=K` or a bare kind), else None."""
    for part in (variant or "").split("/"):
        key, sep, value = part.strip().partition("=")
        if sep and key == "haystack":
            return value
        if not sep and key in HAYSTACK_KINDS:
            return key
    return None


def uses_haystack_folder(params: GridParams, variant: str | None) -> bool:
    """Whether `--haystack DIR` applies: the task reads a text haystack (prose, noise or docs) that
    its variant did not fix to a built-in kind."""
    if params.haystack in (None, "needles"):
        return False
    return haystack_named_by_variant(variant) in (None, "docs")


def apply_options(params: GridParams, options: Mapping[str, Any], variant: str | None) -> GridParams:
    """ctx.options overrides (lengths, depths, samples_per_cell, max_tokens) unless the variant set them;
    `haystack_dir` (--haystack DIR) makes every task that can use it read the user's documents."""
    given = {part.partition("=")[0].strip() for part in (variant or "").split("/")}
    if options.get("haystack_dir") and uses_haystack_folder(params, variant):
        params = replace(params, haystack="docs")
    if "lengths" in options and "lengths" not in given:
        params = replace(params, lengths=tuple(_length(str(v), "option lengths") for v in options["lengths"]))
    if "depths" in options and "depths" not in given and params.depths != (None,):
        params = replace(params, depths=tuple(_depth(str(v), "option depths") for v in options["depths"]))
    if "samples_per_cell" in options and "n" not in given:
        params = replace(params, samples_per_cell=_count(str(options["samples_per_cell"]), "option samples_per_cell", 1))
    if "max_tokens" in options and "max_tokens" not in given:
        params = replace(params, max_tokens=_count(str(options["max_tokens"]), "option max_tokens", 1))
    return params
