"""`--model-args key=value,...` (lm-evaluation-harness's convention): parsed and checked against the
options each backend declares, so an unknown key or a bad value is a one-line error before anything
loads, and the parsed values (typed) are what the manifest records."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from difflib import get_close_matches
from typing import Any

from assay.errors import AssayError

DTYPES = ("float32", "bfloat16", "float16")
_DEVICE = re.compile(r"^(cpu|mps|cuda(:\d+)?)$")
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise ValueError
    return value


def _non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise ValueError
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise ValueError
    return value


def _non_negative_float(text: str) -> float:
    value = float(text)
    if not value >= 0:
        raise ValueError
    return value


def _boolean(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ValueError


def _fraction(text: str) -> float:
    value = float(text)
    if not 0 < value <= 1:
        raise ValueError
    return value


def _vllm_dtype(text: str) -> str:
    if text != "auto" and text not in DTYPES:
        raise ValueError
    return text


def _device(text: str) -> str:
    if not _DEVICE.match(text):
        raise ValueError
    return text


def _dtype(text: str) -> str:
    if text not in DTYPES:
        raise ValueError
    return text


@dataclass(frozen=True)
class ModelOption:
    parse: Callable[[str], Any]
    expected: str


POSITIVE_INT = ModelOption(_positive_int, "a whole number ≥ 1")
NON_NEGATIVE_INT = ModelOption(_non_negative_int, "a whole number ≥ 0")
POSITIVE_FLOAT = ModelOption(_positive_float, "a number > 0")
NON_NEGATIVE_FLOAT = ModelOption(_non_negative_float, "a number ≥ 0")
BOOLEAN = ModelOption(_boolean, "true or false")
DEVICE = ModelOption(_device, "cpu, cuda, cuda:N or mps")
DTYPE = ModelOption(_dtype, " | ".join(DTYPES))

# The local transformers stack (hf: and embedded).
HF_OPTIONS: dict[str, ModelOption] = {
    "device": DEVICE, "dtype": DTYPE, "batch_size": POSITIVE_INT, "max_context": POSITIVE_INT,
    "reuse_prefix": BOOLEAN,
}
# OpenAI-compatible servers; concurrency, max_retries and timeout are also --concurrency, --max-retries, --timeout.
API_OPTIONS: dict[str, ModelOption] = {
    "concurrency": POSITIVE_INT, "max_retries": NON_NEGATIVE_INT, "timeout": POSITIVE_FLOAT,
    "backoff_s": NON_NEGATIVE_FLOAT, "max_context": POSITIVE_INT,
}
# Options that change how requests travel, never what a response says: not part of a run's identity.
TRANSPORT_OPTIONS = frozenset({"concurrency", "max_retries", "timeout", "backoff_s"})
LLAMACPP_OPTIONS: dict[str, ModelOption] = {"n_ctx": POSITIVE_INT, "n_threads": POSITIVE_INT}
SCRIPTED_OPTIONS: dict[str, ModelOption] = {"delay_s": NON_NEGATIVE_FLOAT}
# vLLM in process (models/vllm_backend.py); the names are vllm.LLM's own keyword arguments.
VLLM_OPTIONS: dict[str, ModelOption] = {
    "dtype": ModelOption(_vllm_dtype, "auto | " + " | ".join(DTYPES)),
    "gpu_memory_utilization": ModelOption(_fraction, "a number > 0 and ≤ 1"),
    "tensor_parallel_size": POSITIVE_INT, "max_model_len": POSITIVE_INT, "enable_prefix_caching": BOOLEAN,
}


def split_model_args(text: str) -> dict[str, str]:
    """`a=1,b=x` → {"a": "1", "b": "x"}; raises AssayError on a malformed pair or a repeated key."""
    pairs: dict[str, str] = {}
    for part in text.split(","):
        if not part.strip():
            continue
        key, sep, value = part.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or not key or not value:
            raise AssayError(f"--model-args: expected key=value pairs separated by commas, got {part.strip()!r}")
        if key in pairs:
            raise AssayError(f"--model-args: {key} is given twice")
        pairs[key] = value
    return pairs


def check_model_args(backend: str, raw: Mapping[str, str], declared: Mapping[str, ModelOption]) -> dict[str, Any]:
    """Typed values for `raw`, or AssayError naming the first unknown key or bad value."""
    parsed: dict[str, Any] = {}
    for key, text in raw.items():
        option = declared.get(key)
        if option is None:
            known = ", ".join(sorted(declared)) or "none"
            close = get_close_matches(key, list(declared), n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise AssayError(f"--model-args: unknown key {key!r} for the {backend} backend{hint}; it takes {known}")
        try:
            parsed[key] = option.parse(text)
        except ValueError:
            raise AssayError(f"--model-args {key}={text}: expected {option.expected}") from None
    return parsed
