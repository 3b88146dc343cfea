"""`--perturb NAMES`: each sample of a task, then one perturbed copy of it per perturbation.

The clean copy keeps its id, cluster and scores (its rows equal a plain run's); a perturbed copy is
`{id}~{perturbation}`, in the original's cluster, with metadata `base_id` and `perturbation`, and its
scores renamed `{score}@{perturbation}` (`renamed`) so that the per-sample means stay apart. The task-level rows
pair every perturbed copy with its original on the task's primary score (`paired_rows`). A copy
whose requests are identical to the original's is still run and paired, and counted (`n_unchanged`);
a sample a perturbation cannot change (the generator wrote nothing) gets no copy and is counted
(`n_skipped`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence
from typing import Any

from assay.metric_specs import MetricDeclarations, MetricSpec, aggregate
from assay.perturb.base import Perturbation, PerturbationError, rng_for
from assay.perturb.paired_rows import paired_rows
from assay.tasks.base import Task, TaskContext
from assay.types import Request, Response, Sample, Scored, request_to_dict

CLEAN = "clean"


def renamed(score: str, perturbation: str, families: tuple[str, ...] = ()) -> str:
    """A perturbed copy's score name: `acc` → `acc@typos`; a member of a declared family `leak/*`
    (families are prefixes such as "leak/") → `leak@typos/email`, so it stays a family member."""
    if score.endswith("/*"):
        return f"{score[:-2]}@{perturbation}/*"
    for prefix in families:
        if score.startswith(prefix):
            return f"{prefix[:-1]}@{perturbation}/{score[len(prefix):]}"
    return f"{score}@{perturbation}"


class PerturbedTask:
    # The paired rows' name (`{diff_name}/{perturbation}`); sycophancy's conditions use their own.
    diff_name = "perturb_diff"

    def __init__(self, inner: Task, perturbations: Sequence[Perturbation], generator: str | None = None) -> None:
        self.inner = inner
        self.perturbations = list(perturbations)
        self.generator = generator
        self.name = inner.name
        self.family = inner.family
        self._seed = 0
        declared = MetricDeclarations(inner.name, inner.metrics())
        self._primary = declared.primary
        self._inner_families = tuple(declared.families)

    def spec(self) -> dict[str, Any]:
        extra = {"perturb_generator": self.generator} if self.generator else {}
        return {**self.inner.spec(), "perturb": [p.name for p in self.perturbations], **extra}

    def run_options(self) -> frozenset[str]:
        return self.inner.run_options()

    def size(self, ctx: TaskContext) -> int | None:
        inner_size = self.inner.size(ctx)
        if inner_size is None or any(p.name == "paraphrase" for p in self.perturbations):
            return None
        return inner_size * (1 + len(self.perturbations))

    def metrics(self) -> Sequence[MetricSpec]:
        inner = list(self.inner.metrics())
        perturbed = [MetricSpec(renamed(s.name, p.name), s.higher_is_better, s.scale, "mean", False,
                                f"{s.name} on the copies perturbed by {p.name}")
                     for p in self.perturbations for s in inner if s.aggregation == "mean"]
        return [*inner, *perturbed,
                aggregate(f"{self.diff_name}/*", True, f"perturbed − clean {self._primary}, paired (CI, p in extra)",
                          scale="difference"),
                aggregate("flip_rate/*", False, f"share of items whose {self._primary} changes when perturbed"),
                aggregate("flip_to_wrong/*", False, "right when clean, wrong when perturbed (among clean rights)"),
                aggregate("flip_to_right/*", None, "wrong when clean, right when perturbed (among clean wrongs)")]

    def samples(self, ctx: TaskContext) -> Iterator[Sample]:
        self._seed = ctx.seed
        for sample in self.inner.samples(ctx):
            copies, skipped = [], {}
            original_requests = [request_to_dict(r) for r in self.inner.requests(sample)]
            for perturbation in self.perturbations:
                try:
                    changed = perturbation.apply(sample, rng_for(ctx.seed, perturbation.name, sample.id))
                except PerturbationError as exc:
                    skipped[perturbation.name] = str(exc)
                    continue
                unchanged = [request_to_dict(r) for r in self.inner.requests(changed)] == original_requests
                copies.append(dataclasses.replace(
                    changed, id=f"{sample.id}~{perturbation.name}", cluster=sample.cluster or sample.id,
                    metadata={**changed.metadata, "base_id": sample.id, "perturbation": perturbation.name,
                              "unchanged": unchanged}))
            clean_meta = {**sample.metadata, "base_id": sample.id, "perturbation": CLEAN}
            if skipped:
                clean_meta["perturb_skipped"] = skipped
            yield dataclasses.replace(sample, metadata=clean_meta)
            yield from copies

    def _base(self, sample: Sample) -> Sample:
        return dataclasses.replace(sample, id=sample.metadata["base_id"])

    def requests(self, sample: Sample) -> Sequence[Request]:
        return self.inner.requests(self._base(sample))

    def score(self, sample: Sample, responses: Sequence[Response]) -> Scored:
        scored = self.inner.score(self._base(sample), responses)
        perturbation = sample.metadata["perturbation"]
        if perturbation != CLEAN:
            families = self._inner_families
            scored = dataclasses.replace(scored, scores={renamed(k, perturbation, families): v
                                                         for k, v in scored.scores.items()})
        return scored

    def aggregate(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        clean_rows = [r for r in rows if (r["metadata"] or {}).get("perturbation", CLEAN) == CLEAN]
        out = list(self.inner.aggregate(clean_rows))
        clean = {r["sample_id"]: r for r in clean_rows if r["error_kind"] != "request_failed"}
        for perturbation in self.perturbations:
            name = perturbation.name
            key = f"{self._primary}@{name}"
            a, b, clusters = [], [], []
            unpaired = unchanged = 0
            for row in rows:
                meta = row["metadata"] or {}
                if meta.get("perturbation") != name:
                    continue
                original = clean.get(meta.get("base_id"))
                value = (row["scores"] or {}).get(key)
                if original is None or value is None or (original["scores"] or {}).get(self._primary) is None:
                    unpaired += 1
                    continue
                a.append(float(original["scores"][self._primary]))
                b.append(float(value))
                clusters.append(original["cluster"])
                unchanged += bool(meta.get("unchanged"))
            skipped = sum(1 for r in clean_rows if name in ((r["metadata"] or {}).get("perturb_skipped") or {}))
            out.extend(paired_rows(name, a, b, clusters, {"metric": self._primary, "n_unpaired": unpaired,
                                                         "n_unchanged": unchanged, "n_skipped": skipped},
                                   diff_name=self.diff_name))
        return out
