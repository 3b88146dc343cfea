"""`hf:PATH` — a local transformers model folder or .gguf file, run in process with torch.

Log-likelihoods follow lm-evaluation-harness's token boundaries (see hf_tokenizer.py) and reuse a
shared context's KV cache across its choices (hf_scoring.py); generation reuses the KV cache of
shared prompt prefixes (hf_generate.py), or decodes greedy prompts without one in batches
(hf_batch_generate.py). Options: device (cpu), dtype (bfloat16 on cuda, float32 elsewhere),
max_context, reuse_prefix (true), batch_size (16 on CPU, 64 on cuda; 1 decodes every prompt on its
own). How much one forward pass may take is the device's budget (hf_budget.py). torch and
transformers are imported only when a model is loaded.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assay.errors import AssayError
from assay.types import (
    GenerateRequest,
    LoglikelihoodRequest,
    LoglikelihoodRollingRequest,
    Response,
)

if TYPE_CHECKING:
    from assay.models.hf_generate import PrefixCachingGenerator
    from assay.models.hf_loading import LoadedModel
    from assay.models.hf_scoring import Scorer
    from assay.models.hf_tokenizer import HFTokenizer

_DEFAULT_CONTEXT = 2048


def _context_from_config(config: Any) -> int:
    for attribute in ("max_position_embeddings", "n_positions", "max_sequence_length", "seq_length"):
        value = getattr(config, attribute, None)
        if isinstance(value, int) and value > 0:
            return value
    return _DEFAULT_CONTEXT


def _option_bool(value: Any) -> bool:
    return value if isinstance(value, bool) else str(value).strip().lower() not in ("0", "false", "no", "off")


class HFModel:
    def __init__(self, spec: str, name: str, loaded: LoadedModel, device: str = "cpu",
                 max_context: int | None = None, reuse_prefix: bool = True, batch_size: int | None = None) -> None:
        from assay.models.hf_budget import budget_for
        from assay.models.hf_generate import PrefixCachingGenerator
        from assay.models.hf_scoring import Scorer
        from assay.models.hf_tokenizer import HFTokenizer

        self.spec = spec
        self.name = name
        self.loaded = loaded
        self.hf_model = loaded.model
        self.max_context: int | None = max_context or _context_from_config(loaded.model.config)
        self._tokenizer: HFTokenizer = HFTokenizer(name, loaded.tokenizer)
        pad = loaded.tokenizer.pad_token_id
        pad = pad if pad is not None else self._tokenizer.prefix_token_id
        self.scorer: Scorer = Scorer(loaded.model, device, self.max_context, pad)
        self.scorer.share_document_prefix = reuse_prefix  # contexts sharing a long prefix run it once
        eos_ids = {self._tokenizer.eos_token_id} if self._tokenizer.eos_token_id is not None else set()
        configured = getattr(getattr(loaded.model, "generation_config", None), "eos_token_id", None)
        eos_ids |= set(configured) if isinstance(configured, list) else ({configured} if configured is not None else set())
        self.generator: PrefixCachingGenerator = PrefixCachingGenerator(
            self.scorer, self._tokenizer, eos_ids, reuse_prefix, batch_size or budget_for(device).generate_batch)

    # -- identity --------------------------------------------------------------------------------
    @property
    def prefill_stats(self) -> dict[str, int]:
        """Prompt tokens actually run through the model for generation vs. without prefix reuse."""
        return dict(self.generator.stats)

    @property
    def loglikelihood_stats(self) -> dict[str, int]:
        return dict(self.scorer.stats)

    def fingerprint(self) -> dict[str, Any]:
        return {
            "backend": "hf",
            "model": self.name,
            "format": self.loaded.source_format,
            "weights_sha256": self.loaded.weights_sha256,
            "model_class": type(self.hf_model).__name__,
            "dtype": str(self.hf_model.dtype).removeprefix("torch."),
            "chat_template_sha256": self._tokenizer.chat_template_sha256,
            "max_context": self.max_context,
        }

    def tokenizer(self) -> HFTokenizer:
        return self._tokenizer

    # -- requests --------------------------------------------------------------------------------
    def loglikelihood(self, requests: Sequence[LoglikelihoodRequest]) -> list[Response]:
        from assay.models.hf_scoring import TokenItem

        pairs = self._tokenizer.encode_pairs([(request.context, request.continuation) for request in requests])
        return self._score([TokenItem(tuple(context), tuple(continuation)) for context, continuation in pairs])

    def _score(self, items: list[Any]) -> list[Response]:
        assert self.max_context is not None
        responses: list[Response | None] = [None] * len(items)
        runnable = []
        for index, item in enumerate(items):
            if len(item.continuation) > self.max_context:
                responses[index] = Response(error=f"continuation of {len(item.continuation)} tokens exceeds the "
                                                  f"model's context of {self.max_context}")
            else:
                runnable.append(index)
        scores = self.scorer.score([items[i] for i in runnable])
        for index, score in zip(runnable, scores, strict=True):
            responses[index] = Response(logprob=score.logprob, is_greedy=score.is_greedy, n_tokens=score.n_tokens)
        return [r for r in responses if r is not None]

    def loglikelihood_rolling(self, requests: Sequence[LoglikelihoodRollingRequest]) -> list[Response]:
        from assay.models.hf_scoring import TokenItem
        from assay.models.hf_tokenizer import rolling_windows

        assert self.max_context is not None
        windows: list[Any] = []
        owners: list[int] = []
        for index, request in enumerate(requests):
            tokens = self._tokenizer.encode(request.text)
            for context, scored in rolling_windows(tokens, self._tokenizer.prefix_token_id, self.max_context):
                windows.append(TokenItem(tuple(context), tuple(scored)))
                owners.append(index)
        totals = [0.0] * len(requests)
        counts = [0] * len(requests)
        # Per-token values in the response meta (Min-K% / Min-K%++ membership scores read them).
        per_token: list[dict[str, list[float]]] = [{"token_logprobs": [], "token_mu": [], "token_sigma": []}
                                                   for _ in requests]
        for owner, window in zip(owners, windows, strict=True):
            score, columns = self.scorer.score_per_token(window)
            totals[owner] += score.logprob
            counts[owner] += score.n_tokens
            for name, values in columns.items():
                per_token[owner][name].extend(values)
        return [Response(logprob=totals[i], n_tokens=counts[i], meta=per_token[i]) for i in range(len(requests))]

    def generate(self, requests: Sequence[GenerateRequest]) -> list[Response]:
        from assay.models.hf_generate import GenerationJob
        from assay.models.hf_tokenizer import encode_prompt

        assert self.max_context is not None
        responses: list[Response | None] = [None] * len(requests)
        jobs, positions, metas = [], [], []
        for index, request in enumerate(requests):
            tokens, meta, refused = encode_prompt(self._tokenizer, request, self.max_context)
            if refused is not None:
                responses[index] = refused
                continue
            jobs.append(GenerationJob(tuple(tokens), tuple(request.until), request.max_tokens, request.temperature,
                                      request.seed))
            positions.append(index)
            metas.append(meta)
        for index, meta, result in zip(positions, metas, self.generator.run(jobs), strict=True):
            responses[index] = Response(text=result.text, n_tokens=result.n_tokens,
                                        meta={**meta, "finish_reason": result.finish_reason})
        return [r for r in responses if r is not None]

    def close(self) -> None:
        self.generator.release()


def _check_device(spec: str, device: str) -> None:
    import torch

    if device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise AssayError(f"--model {spec}: device={device}, but torch sees no CUDA device")
        index = int(device.partition(":")[2] or 0)
        if index >= torch.cuda.device_count():
            raise AssayError(f"--model {spec}: device={device}, but torch sees {torch.cuda.device_count()} CUDA device(s)")
    if device == "mps" and not torch.backends.mps.is_available():
        raise AssayError(f"--model {spec}: device=mps, but torch sees no MPS device")


def build_model(path: Path, spec: str, name: str, options: dict[str, Any]) -> HFModel:
    """`options` are checked by the registry (models/model_args.py HF_OPTIONS)."""
    try:
        import torch  # noqa: F401
        import transformers  # noqa: F401

        from assay.models.hf_loading import load_path
    except ModuleNotFoundError as exc:
        raise AssayError(f"--model {spec}: the local model stack needs the package '{exc.name}' "
                         "(pip install 'assay[local]')") from None
    from assay.models.hf_budget import budget_for, default_dtype
    from assay.models.host_memory import return_large_frees_to_os

    return_large_frees_to_os()
    device = str(options.get("device", "cpu"))
    _check_device(spec, device)
    batch_size = int(options.get("batch_size", budget_for(device).generate_batch))
    if batch_size < 1:
        raise AssayError(f"--model {spec}: option batch_size must be a positive integer, got {batch_size!r}")
    loaded = load_path(path, spec, dtype=str(options.get("dtype", default_dtype(device))), device=device)
    max_context = options.get("max_context")
    return HFModel(spec, name, loaded, device=device, max_context=int(max_context) if max_context else None,
                   reuse_prefix=_option_bool(options.get("reuse_prefix", True)), batch_size=batch_size)


def load(rest: str, **options: Any) -> HFModel:
    if not rest:
        raise AssayError("--model hf:PATH: expected the path of a model folder or .gguf file after 'hf:'")
    path = Path(rest).expanduser()
    return build_model(path, f"hf:{rest}", path.name, options)
