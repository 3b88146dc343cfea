"""Faithfulness of a docqa run's answers by claim verification, as two judge runs through the normal Runner
(same cache, resume and store as `assay run`; the judge wrapped by the judges' `ReaskingJudge` for the one
bounded re-ask):

1. `ClaimsTask` ("claims:<task>"): the judge splits each answer into atomic claims (a bulleted list).
2. `VerifyTask` ("faithfulness:<task>"): each claim is checked against the answer's document: supported,
   contradicted or not found. Per answer, faithfulness = supported / claims, with a record per claim stored in
   the sample's metadata ("claims": claim, verdict, the judge's reply) and shown in the web sample browser.

Only answers are checked: outputs labelled as declines (correct declines, false refusals) make no claims and are
counted as skipped. A claim list or a claim verdict that cannot be read after the re-ask is a judge error: the
answer gets no faithfulness score (never 0), and the error is counted (`n_judge_errors`, `n_claims_unreadable`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from assay.docqa import prompts
from assay.docqa.parsing import Read, read_claims, read_verdict
from assay.docqa.task import document_from
from assay.judges.reask import ReaskingJudge
from assay.judges.task import REPLY_COUNT_SPECS, reply_count_rows
from assay.metric_specs import MetricSpec, score
from assay.models.base import Model
from assay.runner import Runner, RunOptions, RunResult
from assay.store import Store
from assay.tasks.base import TaskBase, TaskContext
from assay.types import GenerateRequest, Message, Request, Response, Sample, Scored, canonical_json, sha256_hex

MAX_TOKENS = 160
VERDICT_TOKENS = 16
DECLINES = ("correct_decline", "false_refusal")
_SOURCE_COLUMNS = ("sample_id", "cluster", "prompt", "responses", "metadata", "error_kind")


@dataclass(frozen=True)
class ClaimItem:
    sample_id: str
    cluster: str | None
    question: str
    answer: str
    document: str
    claims: tuple[str, ...] = ()


def _reply(response: Response, read: Read) -> dict[str, Any]:
    """The judge's reply in the judges' engine's shape (so its error and re-ask counts apply)."""
    return {"raw": response.text, "reason": None, "error": read.error, "reasked": bool(response.meta.get("reasked")),
            "first_output": response.meta.get("first_output"), "first_error": response.meta.get("first_error")}


class _JudgeTask(TaskBase):
    family = "judge"
    prefix = ""

    def __init__(self, source_task: str, source: dict[str, Any], items: Sequence[ClaimItem], max_tokens: int) -> None:
        self.name = f"{self.prefix}:{source_task}"
        self.source_task = source_task
        self.source = source
        self.items = list(items)
        self.max_tokens = max_tokens

    def spec(self) -> dict[str, Any]:
        items = [[i.sample_id, i.question, i.answer, sha256_hex(i.document), list(i.claims)] for i in self.items]
        return {"name": self.name, "source_task": self.source_task, "source": self.source, "max_tokens": self.max_tokens,
                "prompts_sha256": prompts.judging_prompts_sha256(), "items_sha256": sha256_hex(canonical_json(items))}

    def size(self, ctx: TaskContext) -> int:
        return len(self.items)

    def samples(self, ctx: TaskContext) -> Iterator[Sample]:
        for item in self.items:
            yield Sample(id=item.sample_id, input=item, cluster=item.cluster or item.sample_id,
                         metadata={"question": item.question, "answer": item.answer})

    def _request(self, text: str, max_tokens: int) -> GenerateRequest:
        return GenerateRequest(messages=(Message("user", text),), max_tokens=max_tokens, temperature=0.0)

    def aggregate(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return reply_count_rows(rows)


class ClaimsTask(_JudgeTask):
    prefix = "claims"
    reader = staticmethod(read_claims)
    kind = "claims"

    def metrics(self) -> Sequence[MetricSpec]:
        return [MetricSpec("n_claims", None, "count", "mean", primary=True, description="claims per answer"),
                *REPLY_COUNT_SPECS]

    def requests(self, sample: Sample) -> Sequence[Request]:
        item: ClaimItem = sample.input
        return [self._request(prompts.claims_prompt(item.question, item.answer), self.max_tokens)]

    def score(self, sample: Sample, responses: Sequence[Response]) -> Scored:
        read = read_claims(responses[0].text)
        reply = _reply(responses[0], read)
        if not read.ok:
            return Scored(extracted=None, scores={}, error=f"judge error: {read.error}", metadata={"judge": [reply]})
        return Scored(extracted=f"{len(read.value)} claims", scores={"n_claims": float(len(read.value))},
                      metadata={"claims": list(read.value), "judge": [reply]})


class VerifyTask(_JudgeTask):
    prefix = "faithfulness"
    reader = staticmethod(read_verdict)
    kind = "verdict"

    def metrics(self) -> Sequence[MetricSpec]:
        return [score("faithfulness", primary=True, description="supported claims / claims, per answer (answers "
                                                                "with an unreadable verdict are not scored)"),
                score("contradicted", False, "contradicted claims / claims, per answer"),
                score("not_found", False, "claims the document does not support or contradict / claims, per answer"),
                *(MetricSpec(name, None, "count", "count", description=text) for name, text in _CLAIM_COUNTS),
                *REPLY_COUNT_SPECS]

    def requests(self, sample: Sample) -> Sequence[Request]:
        item: ClaimItem = sample.input
        return [self._request(prompts.verify_prompt(item.document, claim), VERDICT_TOKENS) for claim in item.claims]

    def score(self, sample: Sample, responses: Sequence[Response]) -> Scored:
        item: ClaimItem = sample.input
        records, replies = [], []
        for claim, response in zip(item.claims, responses, strict=True):
            read = read_verdict(response.text)
            reply = _reply(response, read)
            replies.append(reply)
            records.append({"claim": claim, "verdict": read.value, "error": read.error, "raw": response.text,
                            "reasked": reply["reasked"]})
        meta = {"claims": records, "judge": replies}
        unreadable = [r for r in records if r["error"] is not None]
        if unreadable:
            return Scored(extracted=None, scores={}, metadata=meta,
                          error=f"judge error: {len(unreadable)} of {len(records)} claim verdicts unreadable "
                                f"({unreadable[0]['error']})")
        n = len(records)
        count = {v: sum(1 for r in records if r["verdict"] == v) for v in ("supported", "contradicted", "not_found")}
        return Scored(extracted=f"{count['supported']}/{n} supported",
                      scores={"faithfulness": count["supported"] / n, "contradicted": count["contradicted"] / n,
                              "not_found": count["not_found"] / n}, metadata=meta)

    def aggregate(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        records = [c for r in rows for c in (r["metadata"] or {}).get("claims", [])]
        counts = {"n_claims_checked": len(records),
                  "n_supported": sum(1 for c in records if c["verdict"] == "supported"),
                  "n_contradicted": sum(1 for c in records if c["verdict"] == "contradicted"),
                  "n_not_found": sum(1 for c in records if c["verdict"] == "not_found"),
                  "n_claims_unreadable": sum(1 for c in records if c["error"] is not None)}
        return [*({"name": k, "value": v, "n": len(rows), "method": "count"} for k, v in counts.items()),
                *reply_count_rows(rows)]


_CLAIM_COUNTS = (
    ("n_claims_checked", "claims sent for verification"),
    ("n_supported", "claims the judge found supported by the document"),
    ("n_contradicted", "claims the judge found contradicted by the document"),
    ("n_not_found", "claims the document neither supports nor contradicts, by the judge"),
    ("n_claims_unreadable", "claim verdicts unreadable after the re-ask (their answers are not scored)"),
)


def docqa_tasks(store: Store, run_id: str) -> list[str]:
    names = [t for t in store.sample_tasks(run_id) if t.startswith("docqa:")]
    if not names:
        from assay.errors import AssayError

        raise AssayError(f"RUN: run {run_id} has no docqa task (run one with `assay run --task docqa:SET.jsonl`)")
    return names


def claim_items(store: Store, run: dict[str, Any], task: str, skipped: dict[str, int]) -> list[ClaimItem]:
    """The answers of a docqa run to split into claims; declines and outputs without text are counted."""
    items = []
    for row in store.iter_samples(run["id"], task, columns=_SOURCE_COLUMNS):
        responses = row["responses"] or []
        text = responses[0].get("text") if responses else None
        label = (row["metadata"] or {}).get("label")
        if row["error_kind"] is not None or not text or not text.strip():
            skipped["no_answer"] = skipped.get("no_answer", 0) + 1
        elif label in DECLINES:
            skipped["declined"] = skipped.get("declined", 0) + 1
        else:
            items.append(ClaimItem(row["sample_id"], row["cluster"], row["metadata"]["question"], text.strip(),
                                   document_from(row)))
    return items


def verify_items(store: Store, claims_run_id: str, claims_task: ClaimsTask, skipped: dict[str, int]) -> list[ClaimItem]:
    """The claims of a claims run, each answer's claims with its document; unreadable claim lists are counted."""
    by_id = {i.sample_id: i for i in claims_task.items}
    items = []
    for row in store.iter_samples(claims_run_id, claims_task.name, columns=("sample_id", "metadata", "error_kind")):
        claims = (row["metadata"] or {}).get("claims")
        if row["error_kind"] is not None or not claims:
            skipped["claims_unreadable"] = skipped.get("claims_unreadable", 0) + 1
            continue
        item = by_id[row["sample_id"]]
        items.append(ClaimItem(item.sample_id, item.cluster, item.question, item.answer, item.document, tuple(claims)))
    return items


def run_judge_task(store: Store, judge: Model, task: _JudgeTask, options: RunOptions) -> RunResult:
    """One judge task through the Runner, with the judges' one bounded re-ask for unreadable replies."""
    reader: Callable[[str | None], Read] = task.reader
    wrapped = ReaskingJudge(judge, lambda text: reader(text).as_parsed(), prompts.reask(task.kind),
                            {"docqa_judge": task.kind, "prompts_sha256": prompts.judging_prompts_sha256()})
    return Runner(wrapped, store).run([task], options)
