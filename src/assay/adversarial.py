"""Adversarial set generation: a generator model rewrites a task's items into harder variants that keep the
gold answer (negated wording, an irrelevant distractor, renamed entities); the target model answers the
originals and the variants; the variants that flip it (original right, variant wrong by the task's own
primary score) are kept and written as a versioned set file that `adversarial:PATH` runs as a task.

Set file (JSONL): a header line {"format": "assay-adversarial", "version", "source_task",
"source_spec_sha256", "generator", "target", "kinds", "seed", "counts"}, then one line per kept variant
{"id", "source_id", "kind", "original", "rewritten", "sample": {input, target, choices, metadata, cluster}}."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from assay.contamination.items import item_text
from assay.errors import AssayError
from assay.metric_specs import MetricDeclarations
from assay.models.base import Model
from assay.tasks.base import Task
from assay.types import GenerateRequest, Request, Response, Sample, canonical_json, sha256_hex

SET_FORMAT = "assay-adversarial"
SET_VERSION = 1
# Each kind asks for a harder wording with the same answer (the set is scored with the source's targets).
KINDS: dict[str, str] = {
    "negation": "rephrase it using negation (for example 'not fewer than', 'none of ... except'), so that the "
                "meaning and the correct answer stay exactly the same",
    "distractor": "add one sentence with irrelevant numbers or facts that do not change the correct answer",
    "rename": "rename every person, place and object to different invented names, changing nothing else",
}
GENERATOR_PROMPT = ("Rewrite the question below to make it harder: {instruction}. Output only the rewritten "
                    "question, nothing else.\n\nQuestion:\n{question}\n\nRewritten question:")


def spec_sha256(task: Task) -> str:
    return sha256_hex(canonical_json(task.spec()))


def rewrite_sample(sample: Sample, rewritten: str) -> Sample:
    """The sample with its question text replaced (inside the rendered input when the task keeps the
    question apart, else the whole string input)."""
    question = item_text(sample)
    metadata = dict(sample.metadata or {})
    if isinstance(metadata.get("question"), str):
        metadata["question"] = rewritten
    if isinstance(sample.input, str):
        new_input: Any = sample.input.replace(question, rewritten) if question in sample.input else rewritten
    elif isinstance(sample.input, dict) and sample.input.get("messages"):
        messages = [dict(m) for m in sample.input["messages"]]
        messages[-1]["content"] = messages[-1]["content"].replace(question, rewritten)
        new_input = {**sample.input, "messages": messages}
    else:
        raise AssayError(f"adversarial: sample {sample.id}: cannot place a rewritten question in its input")
    return replace(sample, input=new_input, metadata=metadata)


def _clean(text: str) -> str:
    text = text.strip()
    for label in ("Rewritten question:", "Question:"):
        if text.startswith(label):
            text = text[len(label):].strip()
    return text.split("\n\n")[0].strip()


def _answer(model: Model, requests: Sequence[Request]) -> list[Response]:
    """One response per request, in order, each kind sent as one batch."""
    out: list[Response | None] = [None] * len(requests)
    for kind, call in (("generate", model.generate), ("loglikelihood", model.loglikelihood),
                       ("loglikelihood_rolling", model.loglikelihood_rolling)):
        indices = [i for i, r in enumerate(requests) if r.kind == kind]
        if indices:
            for i, response in zip(indices, call([requests[i] for i in indices]), strict=True):  # type: ignore[arg-type]
                out[i] = response
    return [r if r is not None else Response(error="no response") for r in out]


@dataclass
class Outcome:
    variants: list[dict[str, Any]]
    counts: Counter[str]


def _primary_value(task: Task, sample: Sample, model: Model) -> float | None:
    responses = _answer(model, task.requests(sample))
    if any(r.error for r in responses):
        return None
    primary = MetricDeclarations(task.name, task.metrics()).primary
    return task.score(sample, responses).scores.get(primary)


def generate_variants(task: Task, samples: Sequence[Sample], generator: Model, target: Model,
                      kinds: Sequence[str], seed: int) -> Outcome:
    unknown = [k for k in kinds if k not in KINDS]
    if unknown or not kinds:
        raise AssayError(f"--kinds: expected some of {', '.join(KINDS)}, got {', '.join(kinds) or 'none'}")
    declarations = MetricDeclarations(task.name, task.metrics())
    if declarations.exact[declarations.primary].higher_is_better is not True:
        raise AssayError(f"--task {task.name}: its primary metric {declarations.primary} is not higher-is-better")
    counts: Counter[str] = Counter()
    kept: list[dict[str, Any]] = []
    # The target answers the originals first: only items it gets right are worth rewriting.
    original_scores = {s.id: _primary_value(task, s, target) for s in samples}
    for sample in samples:
        if original_scores[sample.id] is None:
            counts["target_error"] += len(kinds)
        elif original_scores[sample.id] < 1.0:
            counts["original_already_wrong"] += len(kinds)
    prompts = [(s, kind) for s in samples if (original_scores[s.id] or 0.0) >= 1.0 for kind in kinds]
    rewrites = _answer(generator, [GenerateRequest(prompt=GENERATOR_PROMPT.format(instruction=KINDS[kind],
                                                                                  question=item_text(s)),
                                                   until=("\n\n",), max_tokens=160, temperature=0.0, seed=seed)
                                   for s, kind in prompts])
    for (sample, kind), response in zip(prompts, rewrites, strict=True):
        original = item_text(sample)
        rewritten = _clean(response.text or "") if not response.error else ""
        if response.error:
            counts["generator_error"] += 1
            continue
        if not rewritten or rewritten == original:
            counts["empty_or_unchanged"] += 1
            continue
        variant = rewrite_sample(sample, rewritten)
        value = _primary_value(task, variant, target)
        if value is None:
            counts["target_error"] += 1
        elif value < original_scores[sample.id]:
            counts["kept_flipped"] += 1
            kept.append({"id": f"{sample.id}-{kind}", "source_id": sample.id, "kind": kind, "original": original,
                         "rewritten": rewritten, "sample": {"input": variant.input, "target": variant.target,
                                                            "choices": variant.choices, "metadata": variant.metadata,
                                                            "cluster": variant.cluster or sample.id}})
        else:
            counts["not_flipped"] += 1
    return Outcome(kept, counts)


def write_set(path: Path, task: Task, outcome: Outcome, generator: Model, target: Model, kinds: Sequence[str],
              seed: int, n_source: int) -> None:
    header = {"format": SET_FORMAT, "version": SET_VERSION, "source_task": task.name,
              "source_spec_sha256": spec_sha256(task), "generator": generator.spec, "target": target.spec,
              "kinds": list(kinds), "seed": seed, "n_source_items": n_source, "counts": dict(sorted(outcome.counts.items()))}
    lines = [canonical_json(header)] + [canonical_json(v) for v in outcome.variants]
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")


def read_set(path: Path) -> tuple[dict[str, Any], list[Sample]]:
    where = f"--task adversarial:{path}"
    try:
        lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        records = [json.loads(line) for line in lines]
    except OSError as exc:
        raise AssayError(f"{where}: cannot read the set: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise AssayError(f"{where}: not a JSONL file ({exc.msg} at line {exc.lineno})") from None
    if not records or not isinstance(records[0], dict) or records[0].get("format") != SET_FORMAT:
        raise AssayError(f"{where}: the first line must be a header with \"format\": \"{SET_FORMAT}\"")
    header = records[0]
    if header.get("version") != SET_VERSION:
        raise AssayError(f"{where}: set version {header.get('version')!r}, this assay reads version {SET_VERSION}")
    samples = []
    for number, record in enumerate(records[1:], start=2):
        body = record.get("sample") if isinstance(record, dict) else None
        if not isinstance(body, dict) or "input" not in body or "id" not in record:
            raise AssayError(f"{where}: line {number}: expected {{id, sample: {{input, target, ...}}}}")
        samples.append(Sample(id=str(record["id"]), input=body["input"], target=body.get("target"),
                              choices=body.get("choices"), metadata={**(body.get("metadata") or {}),
                                                                     "kind": record.get("kind"),
                                                                     "source_id": record.get("source_id")},
                              cluster=body.get("cluster")))
    return header, samples
