"""`vllm:PATH` — a local model folder served in process by vLLM (optional extra `assay[vllm]`, CUDA GPU).

Written against vLLM's offline API as documented for vLLM 0.10–0.15 and unchanged in 0.33:
`vllm.LLM(model=..., tokenizer=..., dtype=..., gpu_memory_utilization=..., tensor_parallel_size=...,
max_model_len=..., enable_prefix_caching=...)`, `LLM.generate(prompts, sampling_params, use_tqdm=False)`
with one `vllm.SamplingParams` per prompt, prompts given as token ids (`TokensPrompt`, a TypedDict
`{"prompt_token_ids": [...]}`), and `RequestOutput.prompt_logprobs` (position 0 is None; every later
position maps token id → `Logprob(logprob, rank, decoded_token)`, rank 1 = the model's top choice).

- Tokens are ours: assay's HFTokenizer (hf_tokenizer.py) encodes every prompt and vLLM receives token
  ids, so log-likelihood boundaries (lm-eval's rules) and chat rendering are those of the hf backend.
- Log-likelihood: the prompt is context + continuation with `prompt_logprobs=1` and one generated
  token (vLLM needs max_tokens ≥ 1; it is ignored); the continuation's log-likelihood is the sum of
  its tokens' prompt logprobs, greedy when each of them has rank 1. vLLM runs the whole prompt, so a
  too-long pair is left-truncated to max_model_len - 1 tokens (the hf backend keeps max_context + 1).
- Generation: greedy at temperature 0, else sampled with the request's seed; stop strings = `until`
  (vLLM leaves them out of the text; the text is cut at them here too), at most max_tokens tokens.
- Prefix caching (`enable_prefix_caching`, default true) lets many prompts over one long document —
  a depth × length grid, questions about one file — reuse the document's KV cache in generation.
  vLLM's V1 KV-cache manager skips the cache for requests that ask for prompt logprobs, so
  log-likelihood requests run in full.
- Prompts that cannot fit become Response(error=...) before anything reaches vLLM, which would
  otherwise fail the whole batch.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assay.errors import AssayError
from assay.models.hf_files import directory_sha256
from assay.models.hf_tokenizer import HFTokenizer, encode_prompt, rolling_windows
from assay.types import GenerateRequest, LoglikelihoodRequest, LoglikelihoodRollingRequest, Response

INSTALL_HINT = "pip install 'assay[vllm]'; vLLM needs a CUDA GPU"
# A token counts as the top choice when no rank is given and its logprob is the top one up to float noise.
GREEDY_TOLERANCE = 1e-6
DEFAULTS: dict[str, Any] = {"dtype": "auto", "gpu_memory_utilization": 0.9, "tensor_parallel_size": 1,
                            "enable_prefix_caching": True}


@dataclass(frozen=True)
class PromptScore:
    logprob: float
    is_greedy: bool
    n_tokens: int
    token_logprobs: list[float]


def score_prompt(prompt_logprobs: Sequence[Mapping[int, Any] | None] | None, tokens: Sequence[int],
                 first_scored: int) -> PromptScore:
    """Sum the logprobs vLLM gave `tokens[first_scored:]` as prompt tokens (first_scored ≥ 1)."""
    if prompt_logprobs is None or len(prompt_logprobs) < len(tokens):
        raise ValueError("vLLM returned no prompt logprobs for every prompt token")
    values: list[float] = []
    greedy = True
    for position in range(first_scored, len(tokens)):
        candidates = prompt_logprobs[position]
        if candidates is None or tokens[position] not in candidates:
            raise ValueError(f"vLLM returned no logprob for prompt token {position}")
        chosen = candidates[tokens[position]]
        values.append(float(chosen.logprob))
        rank = getattr(chosen, "rank", None)
        if rank is not None:
            greedy = greedy and rank == 1
        else:
            best = max(float(c.logprob) for c in candidates.values())
            greedy = greedy and float(chosen.logprob) >= best - GREEDY_TOLERANCE
    return PromptScore(sum(values), greedy, len(values), values)


def _cut_at_stops(text: str, stops: Sequence[str]) -> str:
    cut = len(text)
    for stop in stops:
        if stop and (position := text.find(stop)) != -1:
            cut = min(cut, position)
    return text[:cut]


def _finish_reason(completion: Any) -> str | None:
    """vLLM says "stop" for both a stop string and EOS; assay's hf backend says "stop" vs "eos"."""
    reason = getattr(completion, "finish_reason", None)
    if reason == "stop" and getattr(completion, "stop_reason", None) is None:
        return "eos"
    return reason


class VLLMModel:
    """The three request kinds over a `vllm.LLM` (or anything with its `generate` signature)."""

    def __init__(self, spec: str, llm: Any, tokenizer: HFTokenizer, max_context: int,
                 sampling_params: Callable[..., Any], identity: Mapping[str, Any]) -> None:
        if max_context < 3:
            raise AssayError(f"--model {spec}: max_model_len={max_context} is too small (need at least 3 tokens)")
        self.spec = spec
        self.llm = llm
        self.max_context: int | None = max_context
        self._limit = max_context - 1  # longest prompt: vLLM generates ≥ 1 token after it
        self._tokenizer = tokenizer
        self._sampling_params = sampling_params
        self._identity = dict(identity)

    def fingerprint(self) -> dict[str, Any]:
        return {"backend": "vllm", **self._identity, "chat_template_sha256": self._tokenizer.chat_template_sha256,
                "max_context": self.max_context}

    def tokenizer(self) -> HFTokenizer:
        return self._tokenizer

    def close(self) -> None:
        self.llm = None

    def _run(self, prompts: list[list[int]], params: list[Any]) -> list[Any]:
        if not prompts:
            return []
        if self.llm is None:
            raise AssayError(f"--model {self.spec}: the model was closed")
        outputs = self.llm.generate([{"prompt_token_ids": p} for p in prompts], params, use_tqdm=False)
        return list(outputs)

    # ---- log-likelihood ---------------------------------------------------------------------
    def _score_params(self) -> Any:
        return self._sampling_params(max_tokens=1, temperature=0.0, prompt_logprobs=1, detokenize=False)

    def _score(self, items: list[tuple[list[int], int]]) -> list[PromptScore | str]:
        """(prompt tokens, first scored position) → scores, or an error text per item."""
        outputs = self._run([tokens for tokens, _ in items], [self._score_params() for _ in items])
        scores: list[PromptScore | str] = []
        for (tokens, first), output in zip(items, outputs, strict=True):
            try:
                scores.append(score_prompt(getattr(output, "prompt_logprobs", None), tokens, first))
            except ValueError as exc:
                scores.append(str(exc))
        return scores

    def loglikelihood(self, requests: Sequence[LoglikelihoodRequest]) -> list[Response]:
        responses: list[Response | None] = [None] * len(requests)
        items: list[tuple[list[int], int]] = []
        owners: list[tuple[int, dict[str, Any]]] = []
        for index, request in enumerate(requests):
            context, continuation = self._tokenizer.encode_pair(request.context, request.continuation)
            if not continuation:
                responses[index] = Response(logprob=0.0, is_greedy=True, n_tokens=0)
                continue
            if len(continuation) >= self._limit:
                responses[index] = Response(error=f"continuation of {len(continuation)} tokens does not fit the model's "
                                                  f"context of {self.max_context} (vLLM prompts hold at most "
                                                  f"{self._limit - 1} scored tokens)")
                continue
            whole = context + continuation
            meta: dict[str, Any] = {}
            if len(whole) > self._limit:
                # Keep the continuation and the latest context, as lm-eval does.
                meta["truncated_context_tokens"] = len(whole) - self._limit
                whole = whole[-self._limit:]
            items.append((whole, len(whole) - len(continuation)))
            owners.append((index, meta))
        for (index, meta), score in zip(owners, self._score(items), strict=True):
            responses[index] = (Response(error=score, meta=meta) if isinstance(score, str) else
                                Response(logprob=score.logprob, is_greedy=score.is_greedy, n_tokens=score.n_tokens,
                                         meta=meta))
        return [r for r in responses if r is not None]

    def loglikelihood_rolling(self, requests: Sequence[LoglikelihoodRollingRequest]) -> list[Response]:
        items: list[tuple[list[int], int]] = []
        owners: list[int] = []
        for index, request in enumerate(requests):
            tokens = self._tokenizer.encode(request.text)
            # rolling_windows keeps context + scored ≤ max_length + 1 tokens; a prompt holds at most _limit.
            for context, scored in rolling_windows(tokens, self._tokenizer.prefix_token_id, self._limit - 1):
                items.append((context + scored, len(context)))
                owners.append(index)
        totals = [0.0] * len(requests)
        counts = [0] * len(requests)
        per_token: list[list[float]] = [[] for _ in requests]
        errors: list[str | None] = [None] * len(requests)
        for owner, score in zip(owners, self._score(items), strict=True):
            if isinstance(score, str):
                errors[owner] = errors[owner] or score
                continue
            totals[owner] += score.logprob
            counts[owner] += score.n_tokens
            per_token[owner].extend(score.token_logprobs)
        # Only token_logprobs: Min-K%++ needs the mean and spread of the whole distribution, which
        # prompt_logprobs does not give.
        return [Response(error=errors[i]) if errors[i] else
                Response(logprob=totals[i], n_tokens=counts[i], meta={"token_logprobs": per_token[i]})
                for i in range(len(requests))]

    # ---- generate ---------------------------------------------------------------------------
    def generate(self, requests: Sequence[GenerateRequest]) -> list[Response]:
        assert self.max_context is not None
        responses: list[Response | None] = [None] * len(requests)
        prompts: list[list[int]] = []
        params: list[Any] = []
        owners: list[tuple[int, GenerateRequest, dict[str, Any]]] = []
        for index, request in enumerate(requests):
            tokens, meta, refused = encode_prompt(self._tokenizer, request, self.max_context)
            if refused is not None:
                responses[index] = refused
                continue
            budget = min(request.max_tokens, self.max_context - len(tokens))
            if budget < 1:
                responses[index] = Response(text="", n_tokens=0, meta={**meta, "finish_reason": "length"})
                continue
            prompts.append(tokens)
            # A sampled request without a seed uses seed 0 (as the hf backend): the engine's shared generator
            # would make its text depend on what else is in the batch.
            seed = request.seed if request.seed is not None else 0
            params.append(self._sampling_params(max_tokens=budget, temperature=request.temperature, seed=seed,
                                                stop=list(request.until) or None, skip_special_tokens=True))
            owners.append((index, request, meta))
        for (index, request, meta), output in zip(owners, self._run(prompts, params), strict=True):
            completion = output.outputs[0]
            responses[index] = Response(text=_cut_at_stops(completion.text, request.until),
                                        n_tokens=len(completion.token_ids),
                                        meta={**meta, "finish_reason": _finish_reason(completion)})
        return [r for r in responses if r is not None]


# ---- loading ----------------------------------------------------------------------------------
def _max_model_len(llm: Any) -> int | None:
    for owner in (getattr(llm, "llm_engine", None), llm):
        value = getattr(getattr(owner, "model_config", None), "max_model_len", None)
        if isinstance(value, int) and value > 0:
            return value
    return None


def _model_dtype(llm: Any, asked: str) -> str:
    """The dtype vLLM chose (it resolves "auto" from the checkpoint's config)."""
    value = getattr(getattr(getattr(llm, "llm_engine", None), "model_config", None), "dtype", None)
    return str(value).removeprefix("torch.") if value is not None else asked


def engine_arguments(path: Path, options: Mapping[str, Any]) -> dict[str, Any]:
    """Keyword arguments for `vllm.LLM` from the checked options (models/model_args.py VLLM_OPTIONS)."""
    settings = {**DEFAULTS, **{k: v for k, v in options.items() if v is not None}}
    arguments = {"model": str(path), "tokenizer": str(path), "dtype": settings["dtype"],
                 "gpu_memory_utilization": settings["gpu_memory_utilization"],
                 "tensor_parallel_size": settings["tensor_parallel_size"],
                 "enable_prefix_caching": settings["enable_prefix_caching"], "seed": 0}
    if settings.get("max_model_len") is not None:
        arguments["max_model_len"] = settings["max_model_len"]
    return arguments


def load(rest: str, **options: Any) -> VLLMModel:
    spec = f"vllm:{rest}"
    if not rest:
        raise AssayError("--model vllm:PATH: expected the path of a model folder (config.json + safetensors) after 'vllm:'")
    path = Path(rest).expanduser()
    if not (path / "config.json").is_file():
        raise AssayError(f"--model {spec}: expected a model folder with a config.json (vLLM reads transformers "
                         f"checkpoints), got {path}")
    try:
        import vllm
    except ModuleNotFoundError as exc:
        raise AssayError(f"--model {spec}: the vLLM backend needs the package '{exc.name}' ({INSTALL_HINT})") from None
    try:
        from transformers import AutoTokenizer
    except ModuleNotFoundError as exc:
        raise AssayError(f"--model {spec}: the vLLM backend needs the package '{exc.name}' ({INSTALL_HINT})") from None
    tokenizer = HFTokenizer(path.name, AutoTokenizer.from_pretrained(path))
    arguments = engine_arguments(path, options)
    llm = vllm.LLM(**arguments)
    max_context = _max_model_len(llm) or arguments.get("max_model_len")
    if not max_context:
        raise AssayError(f"--model {spec}: vLLM did not report max_model_len; give --model-args max_model_len=N")
    identity = {"model": path.name, "weights_sha256": directory_sha256(path), "dtype": _model_dtype(llm, str(arguments["dtype"])),
                "tensor_parallel_size": arguments["tensor_parallel_size"]}
    return VLLMModel(spec, llm, tokenizer, int(max_context), vllm.SamplingParams, identity)
