"""Sample-by-sample parity with lm-evaluation-harness on the same transformers model and prompts.

Both frameworks get the very same requests (assay's task renders them; chat prompts are rendered to
text once so both see the same string). assay answers them through its `hf`/`embedded` backend;
lm-eval through its `HFLM` wrapped around the *same* in-memory transformers model. We then compare
per-request log-likelihoods and per-sample correctness (scored by the assay task's own scorer).
lm-eval is optional (`pip install lm-eval`); this module imports it only when called.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from assay.data_paths import default_data_dir
from assay.models.hf import HFModel
from assay.tasks.base import Task, TaskContext
from assay.types import GenerateRequest, LoglikelihoodRequest, Request, Response, Sample


@dataclass
class ParityResult:
    task: str
    n_samples: int
    n_requests: int
    max_abs_logprob_diff: float | None
    correctness_mismatches: list[str]
    text_mismatches: list[str]
    assay_seconds: float
    lm_eval_seconds: float
    details: dict[str, Any] = field(default_factory=dict)
    # CPU seconds of this process on each side: with one thread each, far less shifted by other processes' load.
    assay_cpu_seconds: float = float("nan")
    lm_eval_cpu_seconds: float = float("nan")

    @property
    def time_ratio(self) -> float:
        return self.assay_seconds / self.lm_eval_seconds if self.lm_eval_seconds else float("nan")

    @property
    def cpu_ratio(self) -> float:
        return self.assay_cpu_seconds / self.lm_eval_cpu_seconds if self.lm_eval_cpu_seconds else float("nan")


def _as_text_prompt(model: HFModel, request: Request) -> Request:
    """Chat requests become raw prompts with the chat template applied, so both harnesses see one string."""
    if isinstance(request, GenerateRequest) and request.messages is not None:
        rendered = model.tokenizer().render_chat(request.messages)
        return dataclasses.replace(request, prompt=rendered, messages=None)
    return request


def collect(task: Task, ctx: TaskContext, limit: int, model: HFModel) -> list[tuple[Sample, list[Request]]]:
    samples = itertools.islice(task.samples(ctx), limit)
    return [(s, [_as_text_prompt(model, r) for r in task.requests(s)]) for s in samples]


def _lm_eval_model(model: HFModel, batch_size: int) -> Any:
    from lm_eval.models.huggingface import HFLM

    return HFLM(pretrained=model.hf_model, tokenizer=model.loaded.tokenizer, batch_size=batch_size,
                device="cpu", max_length=model.max_context)


def _lm_eval_answers(lm: Any, requests: Sequence[Request]) -> list[Response]:
    from lm_eval.api.instance import Instance

    answers: list[Response] = []
    loglik = [r for r in requests if isinstance(r, LoglikelihoodRequest)]
    generate = [r for r in requests if isinstance(r, GenerateRequest)]
    if loglik:
        instances = [Instance(request_type="loglikelihood", doc={}, arguments=(r.context, r.continuation), idx=i)
                     for i, r in enumerate(loglik)]
        for logprob, is_greedy in lm.loglikelihood(instances, disable_tqdm=True):
            answers.append(Response(logprob=float(logprob), is_greedy=bool(is_greedy)))
    if generate:
        instances = [Instance(request_type="generate_until", doc={}, idx=i, arguments=(
            r.prompt, {"until": list(r.until), "max_gen_toks": r.max_tokens, "do_sample": False}))
            for i, r in enumerate(generate)]
        answers.extend(Response(text=text) for text in lm.generate_until(instances, disable_tqdm=True))
    return answers


def _assay_answers(model: HFModel, requests: Sequence[Request]) -> list[Response]:
    loglik = [r for r in requests if isinstance(r, LoglikelihoodRequest)]
    generate = [r for r in requests if isinstance(r, GenerateRequest)]
    return (model.loglikelihood(loglik) if loglik else []) + (model.generate(generate) if generate else [])


def _ordered(requests: Sequence[Request]) -> list[Request]:
    # Both helpers answer log-likelihoods first, then generations: keep the requests in that order.
    return [r for r in requests if isinstance(r, LoglikelihoodRequest)] + \
           [r for r in requests if isinstance(r, GenerateRequest)]


def run_parity(task: Task, model: HFModel, limit: int, ctx: TaskContext | None = None,
               batch_size: int = 8) -> ParityResult:
    ctx = ctx or TaskContext(data_dir=default_data_dir())
    ctx.tokenizer = ctx.tokenizer or model.tokenizer()
    ctx.max_context = ctx.max_context or model.max_context
    items = collect(task, ctx, limit, model)
    unique = list(dict.fromkeys(_ordered([r for _, reqs in items for r in reqs])))
    lm = _lm_eval_model(model, batch_size)

    start, cpu_start = time.perf_counter(), time.process_time()
    theirs = dict(zip(unique, _lm_eval_answers(lm, unique), strict=True))
    lm_eval_seconds, lm_eval_cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
    start, cpu_start = time.perf_counter(), time.process_time()
    ours = dict(zip(unique, _assay_answers(model, unique), strict=True))
    assay_seconds, assay_cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start

    # A request one side could not score counts as an infinite difference, never as a skipped one.
    diffs = [abs(mine - other) if (mine := ours[r].logprob) is not None and (other := theirs[r].logprob) is not None
             else math.inf for r in unique if isinstance(r, LoglikelihoodRequest)]
    text_mismatches = [str(r.prompt)[-60:] for r in unique
                       if isinstance(r, GenerateRequest) and (ours[r].text or "") != (theirs[r].text or "")]
    mismatches = []
    for sample, requests in items:
        mine = task.score(sample, [ours[r] for r in requests]).scores
        other = task.score(sample, [theirs[r] for r in requests]).scores
        if mine != other:
            mismatches.append(sample.id)
    generations = [r for r in unique if isinstance(r, GenerateRequest)]
    details = {"greedy_mismatches": sum(1 for r in unique if isinstance(r, LoglikelihoodRequest)
                                        and ours[r].is_greedy != theirs[r].is_greedy),
               "non_empty_generations": sum(1 for r in generations if ours[r].text),
               "generation_errors": sum(1 for r in generations if ours[r].error)}
    return ParityResult(task.name, len(items), len(unique), max(diffs) if diffs else None, mismatches,
                        text_mismatches, assay_seconds, lm_eval_seconds, details, assay_cpu_seconds, lm_eval_cpu_seconds)
