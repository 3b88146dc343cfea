"""A generated question set as a task (`assay run --task docqa:SET.jsonl`): each question with its document in
the prompt, the document BEFORE the question (so the questions of one document share a prompt prefix), the
chat template applied by the backend, the exact token length of each rendered prompt recorded (as the
long-context suite does), samples clustered by document.

Per sample: `score` (token F1 against the gold answer on answerable questions, 0 when declined; a correct
decline on no_info questions), `f1`, and the no-info labels of the needle suite's twins, with the same decline
detection (`assay.scoring.ruler.is_abstention`): correct_decline / hallucination on no_info questions,
false_refusal / answered on the others. Task level: the score by evidence depth (quarters of the document)
and by question type, each mean ± CI clustered by document, and the label counts."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from assay.docqa.documents import DEPTH_BINS
from assay.docqa.prompts import TASK_INSTRUCTION
from assay.docqa.question_set import QUESTION_TYPES, QuestionSet, load_set
from assay.errors import AssayError
from assay.metric_specs import MetricSpec, aggregate, score
from assay.scoring.ruler import is_abstention, token_f1
from assay.stats.summary import summarize
from assay.tasks.base import TaskBase, TaskContext, prompt_of
from assay.tasks.longctx.fallback_tokenizer import RegexWordpieceTokenizer
from assay.tasks.longctx.length import PromptTemplate
from assay.types import GenerateRequest, Request, Response, Sample, Scored, messages_from, sha256_hex

TASK_VERSION = 1
MAX_TOKENS = 128
LABELS = ("correct_decline", "hallucination", "false_refusal", "answered")

DOCQA_METRICS: tuple[MetricSpec, ...] = (
    score("score", primary=True, description="answerable: token F1 against the gold answer (0 when declined); "
                                             "no_info: 1 for a correct decline"),
    score("f1", description="SQuAD token F1 of the output against the gold answer (answerable questions)"),
    score("false_refusal", False, "declined although the document answers the question (answerable questions)"),
    score("hallucination", False, "answered a no_info question instead of declining"),
    score("correct_decline", description="declined a no_info question"),
    score("empty_output", False, "the model returned nothing"),
    MetricSpec("depth/*", True, aggregation="task", description="score by evidence depth (quarter of the "
                                                                "document), mean ± CI clustered by document"),
    MetricSpec("type/*", True, aggregation="task", description="score by question type, mean ± CI clustered by document"),
    MetricSpec("label/*", None, "count", "task", description="samples per no-info label: correct_decline, "
                                                             "hallucination, false_refusal, answered"),
    aggregate("realized_length_max", None, "the longest rendered prompt, in the model's tokens", scale="tokens"),
)


def document_span(stored_prompt: str, document: str) -> list[int]:
    """Where the document lies in the stored prompt text (the faithfulness judge reads it back from there)."""
    start = stored_prompt.find(document)
    if start < 0:
        raise RuntimeError("the document is not in the stored prompt")
    return [start, start + len(document)]


def document_from(row: dict[str, Any]) -> str:
    """The document of a stored docqa sample, from its stored prompt, checked against its hash."""
    meta = row.get("metadata") or {}
    span = meta.get("document_span")
    prompt = row.get("prompt") or ""
    if not span:
        raise AssayError(f"sample {row.get('sample_id')}: not a docqa sample (no document_span in its metadata)")
    text = prompt[span[0]:span[1]]
    if sha256_hex(text) != meta.get("document_sha256"):
        raise AssayError(f"sample {row.get('sample_id')}: its stored prompt does not hold its document (hash differs)")
    return text


class DocQATask(TaskBase):
    family = "docqa"

    def __init__(self, path: Path, max_tokens: int = MAX_TOKENS) -> None:
        self.name = f"docqa:{path}"
        self.path = path
        self.max_tokens = max_tokens
        self._loaded: tuple[QuestionSet, str] | None = None

    def _set(self) -> tuple[QuestionSet, str]:
        if self._loaded is None:
            self._loaded = load_set(self.path)
        return self._loaded

    def spec(self) -> dict[str, Any]:
        question_set, digest = self._set()
        return {"task": "docqa", "family": self.family, "version": TASK_VERSION, "set_sha256": digest,
                "instruction": TASK_INSTRUCTION, "max_tokens": self.max_tokens,
                "fallback_tokenizer": RegexWordpieceTokenizer.name}

    def size(self, ctx: TaskContext) -> int:
        return len(self._set()[0].questions)

    def template(self, question: str) -> PromptTemplate:
        return PromptTemplate(instruction=TASK_INSTRUCTION, question=f"Question: {question}")

    def samples(self, ctx: TaskContext) -> Iterator[Sample]:
        question_set, _ = self._set()
        tokenizer = ctx.tokenizer if ctx.tokenizer is not None else RegexWordpieceTokenizer()
        for q in question_set.questions:
            document = question_set.document(q.doc)
            messages = self.template(q.question).messages(document.text)
            realized = len(tokenizer.encode(tokenizer.render_chat(messages)))
            if ctx.max_context is not None and realized + self.max_tokens > ctx.max_context:
                raise AssayError(f"--task {self.name}: question {q.id}: the prompt with document {q.doc} is {realized} "
                                 f"tokens; with {self.max_tokens} to generate it exceeds the model's context of "
                                 f"{ctx.max_context}")
            raw = [{"role": m.role, "content": m.content} for m in messages]
            stored = prompt_of([GenerateRequest(messages=messages)])
            metadata = {"doc": q.doc, "type": q.type, "question": q.question, "evidence": [e.model_dump() for e in q.evidence],
                        "depth_percent": q.depth_percent, "depth_bin": q.depth_bin, "realized_length": realized,
                        "tokenizer": tokenizer.name, "max_tokens": self.max_tokens, "document_sha256": document.sha256,
                        "document_span": document_span(stored, document.text)}
            yield Sample(id=q.id, input={"messages": raw}, target=q.answer, metadata=metadata, cluster=q.doc)

    def requests(self, sample: Sample) -> Sequence[Request]:
        return [GenerateRequest(messages=messages_from(sample.input["messages"]), max_tokens=self.max_tokens,
                                temperature=0.0)]

    def score(self, sample: Sample, responses: Sequence[Response]) -> Scored:
        return grade_answer(sample.metadata["type"], responses[0].text or "", str(sample.target))

    def metrics(self) -> Sequence[MetricSpec]:
        return DOCQA_METRICS

    def aggregate(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return docqa_aggregate(rows)


def grade_answer(kind: str, text: str, gold: str) -> Scored:
    """Score one output; the label is the needle suite's three-way no-info label (plus `answered`)."""
    if not text.strip():
        scores = {"score": 0.0, "empty_output": 1.0}
        return Scored(extracted=None, scores=scores, error="empty output", metadata={"label": "empty"})
    declined = is_abstention(text)
    if kind == "no_info":
        label = "correct_decline" if declined else "hallucination"
        scores = {"score": float(declined), "correct_decline": float(declined), "hallucination": float(not declined)}
    else:
        f1 = token_f1(text, [gold])
        label = "false_refusal" if declined else "answered"
        scores = {"score": 0.0 if declined else f1, "f1": f1, "false_refusal": float(declined)}
    return Scored(extracted=text.strip(), scores={**scores, "empty_output": 0.0}, metadata={"label": label})


def _summary_row(name: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
    values = [float(r["scores"]["score"]) for r in rows]
    return {"name": name, **summarize(values, [r["cluster"] for r in rows]).to_dict()}


def docqa_aggregate(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    scored = [r for r in rows if r["error_kind"] != "request_failed" and "score" in (r["scores"] or {})]
    out = []
    for depth in DEPTH_BINS:
        group = [r for r in scored if (r["metadata"] or {}).get("depth_bin") == depth]
        if group:
            out.append(_summary_row(f"depth/{depth}", group))
    for kind in QUESTION_TYPES:
        group = [r for r in scored if (r["metadata"] or {}).get("type") == kind]
        if group:
            out.append(_summary_row(f"type/{kind}", group))
    labels = Counter((r["metadata"] or {}).get("label") for r in rows)
    out.extend({"name": f"label/{label}", "value": labels[label], "n": len(rows), "method": "count"} for label in LABELS)
    lengths = [(r["metadata"] or {}).get("realized_length") for r in rows]
    known = [n for n in lengths if isinstance(n, int)]
    if known:
        out.append({"name": "realized_length_max", "value": max(known), "n": len(known), "method": "max"})
    return out
