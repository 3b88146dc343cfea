"""The long-context task shell: a grid of (length, depth, sample index) cells, each turned into one
or more samples by a task-specific builder. Shared by every task of the family."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from assay.errors import AssayError
from assay.metric_specs import MetricSpec
from assay.models.base import Tokenizer
from assay.tasks.base import TaskContext
from assay.tasks.longctx.declared import LONGCTX_METRICS
from assay.tasks.longctx.fallback_tokenizer import RegexWordpieceTokenizer
from assay.tasks.longctx.grading import grade
from assay.tasks.longctx.haystack import Haystack, select_haystack
from assay.tasks.longctx.length import FittedPrompt
from assay.tasks.longctx.params import GridParams, apply_options, parse_variant, uses_haystack_folder
from assay.tasks.longctx.summary import longctx_aggregate
from assay.tasks.registry import register_task
from assay.types import GenerateRequest, Request, Response, Sample, Scored, messages_from

# 2: samples record every candidate value (decoy_values) and grading scores what the model answered
# (docs/longctx-scoring.md), so runs scored before are not resumed into or compared with later ones.
SUITE_VERSION = 2


@dataclass
class BuildState:
    """What a builder needs for one run: the resolved parameters, tokenizer and haystack."""

    task: str
    params: GridParams
    seed: int
    tokenizer: Tokenizer
    max_context: int | None
    haystack: Haystack | None
    options: dict[str, Any]
    # Per-run memo (e.g. a decoy-needle haystack per length), so samples of one length share it.
    memo: dict[Any, Any] = field(default_factory=dict)

    @property
    def forbidden_text(self) -> str:
        return self.haystack.lowered_text if self.haystack is not None else ""


Builder = Callable[[BuildState, int, "float | None", int], list[Sample]]


def make_sample(state: BuildState, *, sample_id: str, fitted: FittedPrompt | None, messages: Sequence[Any] | None = None,
                length: int | None, depth: float | None, variant: str, scorer: str, references: list[str],
                cluster: str, in_heatmap: bool, haystack: Haystack | None = None, **extra: Any) -> Sample:
    """A sample with the metadata every long-context sample carries (lengths, needle offsets, haystack)."""
    haystack = haystack if haystack is not None else state.haystack
    prompt_messages = fitted.messages if fitted is not None else tuple(messages or ())
    metadata: dict[str, Any] = {
        "task": state.task, "variant": variant, "scorer": scorer, "references": references,
        "target_length": length, "depth_percent": depth, "in_heatmap": in_heatmap,
        "max_tokens": state.params.max_tokens, "tokenizer": state.tokenizer.name,
    }
    if fitted is not None:
        metadata.update({
            "realized_length": fitted.realized_length, "n_units": fitted.n_units, "needles": fitted.placements,
            "haystack_kind": haystack.kind if haystack else None,
            "haystack_source": haystack.source if haystack else None,
            "haystack_sha256": haystack.sha256 if haystack else None,
            "haystack_exhausted": bool(haystack and not haystack.cyclic and fitted.n_units == len(haystack.units)),
        })
    elif messages is not None:
        rendered = state.tokenizer.render_chat(tuple(messages))
        metadata["realized_length"] = len(state.tokenizer.encode(rendered))
    metadata.update(extra)
    return Sample(id=sample_id, input={"messages": [{"role": m.role, "content": m.content} for m in prompt_messages]},
                  target=references, metadata=metadata, cluster=cluster)


def depth_label(depth: float | None) -> str:
    return "spread" if depth is None else f"{depth:g}"


class LongContextTask:
    family = "longctx"

    def __init__(self, name: str, variant: str | None, params: GridParams, builder: Builder, description: str,
                 samples_per_cell_factor: int = 1) -> None:
        self.name = name if variant is None else f"{name}:{variant}"
        self.base_name = name
        self.variant = variant
        self.params = params
        self.builder = builder
        self.description = description
        # How many samples one cell yields (twins: 2), for progress totals.
        self.samples_per_cell_factor = samples_per_cell_factor

    def spec(self) -> dict[str, Any]:
        # The haystack actually read (its sha256: the prose one depends on the Python version's
        # docstrings, docs on the user's folder) is added by the runner from `assay.provenance`.
        return {"task": self.base_name, "family": self.family, "suite_version": SUITE_VERSION,
                "params": self.params.to_dict(), "fallback_tokenizer": RegexWordpieceTokenizer.name}

    def run_options(self) -> frozenset[str]:
        # --repeats samples the (greedy) generation; --haystack replaces a prose/noise haystack.
        return frozenset({"repeats", "haystack"} if uses_haystack_folder(self.params, self.variant) else {"repeats"})

    def _resolved(self, ctx: TaskContext) -> GridParams:
        params = apply_options(self.params, ctx.options, self.variant)
        if ctx.max_context is not None:
            too_long = [length for length in params.lengths if length > ctx.max_context]
            if too_long:
                raise AssayError(f"--task {self.name}: target length {too_long[0]} exceeds the model's context "
                                 f"of {ctx.max_context} tokens")
        return params

    def size(self, ctx: TaskContext) -> int:
        params = self._resolved(ctx)
        return len(params.lengths) * len(params.depths) * params.samples_per_cell * self.samples_per_cell_factor

    def state(self, ctx: TaskContext) -> BuildState:
        params = self._resolved(ctx)
        tokenizer = ctx.tokenizer if ctx.tokenizer is not None else RegexWordpieceTokenizer()
        kind = params.haystack
        haystack = None if kind in (None, "needles") else select_haystack(kind, ctx.options.get("haystack_dir"))
        return BuildState(self.name, params, ctx.seed, tokenizer, ctx.max_context, haystack, dict(ctx.options))

    def samples(self, ctx: TaskContext) -> Iterator[Sample]:
        state = self.state(ctx)
        for length in state.params.lengths:
            resolved_length = length or (ctx.max_context or 8192)
            for depth in state.params.depths:
                for index in range(state.params.samples_per_cell):
                    yield from self.builder(state, resolved_length, depth, index)

    def requests(self, sample: Sample) -> Sequence[Request]:
        return [GenerateRequest(messages=messages_from(sample.input["messages"]),
                                max_tokens=int(sample.metadata["max_tokens"]), temperature=0.0)]

    def score(self, sample: Sample, responses: Sequence[Response]) -> Scored:
        return grade(sample.metadata, responses[0].text or "", sample.input["messages"])

    def metrics(self) -> Sequence[MetricSpec]:
        return LONGCTX_METRICS

    def aggregate(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return longctx_aggregate(rows, threshold=self.params.threshold)


CellBuilder = Callable[[BuildState, int, "float | None", int, dict[str, int]], list[Sample]]


def register_longctx(name: str, description: str, defaults: GridParams, extra_keys: dict[str, int],
                     build: CellBuilder, samples_per_cell_factor: int = 1) -> None:
    """Register a long-context task: `name[:variant]` parses the variant's grid keys (and the task's own
    extra keys) and builds each cell with `build(state, length, depth, index, extra)`."""
    def make(variant: str | None) -> LongContextTask:
        params = parse_variant(name, variant, defaults, extra_keys)
        return LongContextTask(name, variant, params, lambda s, length, d, i: build(s, length, d, i, params.extra),
                               description, samples_per_cell_factor=samples_per_cell_factor)
    register_task(name, family="longctx", description=description)(make)
