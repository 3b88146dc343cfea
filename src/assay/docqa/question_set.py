"""A generated question set on disk (JSONL): the first line a header (format, generator, seed, prompts hash,
generation counts and every document's text, so a set is self-contained), then one question per line. Read
back with one-line errors naming the file, line and field."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from assay.errors import AssayError
from assay.types import sha256_hex

FORMAT = "assay-docqa-set"
VERSION = 1
QUESTION_TYPES = ("factual", "multi_hop", "summary", "no_info")


class Evidence(BaseModel):
    model_config = ConfigDict(extra="forbid")
    start: int = Field(ge=0)
    end: int = Field(ge=0)
    depth_percent: float = Field(ge=0, le=100)


class Question(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(min_length=1)
    doc: str = Field(min_length=1)
    type: Literal["factual", "multi_hop", "summary", "no_info"]
    question: str = Field(min_length=1)
    answer: str = Field(min_length=1)
    # Character spans in the document that answer the question (none for no_info questions).
    evidence: list[Evidence]
    # The mean of the evidence spans' middles, in percent of the document; None for no_info.
    depth_percent: float | None
    depth_bin: str | None
    checks: dict[str, Any] = Field(default_factory=dict)


class SetDocument(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(min_length=1)
    path: str
    sha256: str
    text: str = Field(min_length=1)


class Header(BaseModel):
    model_config = ConfigDict(extra="forbid")
    format: Literal["assay-docqa-set"]
    version: Literal[1]
    generator: str
    generator_fingerprint: dict[str, Any]
    seed: int
    types: list[str]
    per_doc: int
    prompts_sha256: str
    rules: dict[str, str]
    counts: dict[str, int]
    # Each candidate not kept: doc, type, index, reason (a key of counts), its question if any, the problem.
    rejected: list[dict[str, Any]] = Field(default_factory=list)
    documents: list[SetDocument]


class QuestionSet(BaseModel):
    header: Header
    questions: list[Question]

    def document(self, doc_id: str) -> SetDocument:
        return next(d for d in self.header.documents if d.id == doc_id)


def write_set(path: Path, question_set: QuestionSet) -> None:
    lines = [json.dumps(question_set.header.model_dump(), ensure_ascii=False)]
    lines += [json.dumps(q.model_dump(), ensure_ascii=False) for q in question_set.questions]
    try:
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    except OSError as exc:
        raise AssayError(f"-o {path}: cannot write it ({exc.strerror or exc})") from None


def _error(where: str, exc: ValidationError) -> AssayError:
    first = exc.errors()[0]
    field = ".".join(str(p) for p in first["loc"]) or "(top level)"
    return AssayError(f"{where}: {field}: {first['msg']}")


def load_set(path: Path) -> tuple[QuestionSet, str]:
    """The set and the sha256 of the file's text."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise AssayError(f"--task docqa:{path}: cannot read the question set ({getattr(exc, 'strerror', None) or exc})") from None
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            rows.append((number, json.loads(line)))
        except json.JSONDecodeError as exc:
            raise AssayError(f"{path}:{number}: not valid JSON ({exc.msg})") from None
    if not rows:
        raise AssayError(f"{path}: empty question set (expected a header line and questions; see `assay docqa generate`)")
    number, first = rows[0]
    if not isinstance(first, dict) or first.get("format") != FORMAT:
        raise AssayError(f"{path}:{number}: the first line is not a docqa set header (format {FORMAT!r})")
    try:
        header = Header.model_validate(first)
    except ValidationError as exc:
        raise _error(f"{path}:{number}", exc) from None
    questions = []
    for number, row in rows[1:]:
        try:
            questions.append(Question.model_validate(row))
        except ValidationError as exc:
            raise _error(f"{path}:{number}", exc) from None
    _check(path, header, questions)
    return QuestionSet(header=header, questions=questions), sha256_hex(text)


def _check(path: Path, header: Header, questions: list[Question]) -> None:
    documents = {d.id: d for d in header.documents}
    for document in header.documents:
        if sha256_hex(document.text) != document.sha256:
            raise AssayError(f"{path}: document {document.id}: its text does not match its sha256 (edited by hand?)")
    seen: set[str] = set()
    for question in questions:
        if question.id in seen:
            raise AssayError(f"{path}: two questions share the id {question.id!r}")
        seen.add(question.id)
        if question.doc not in documents:
            raise AssayError(f"{path}: question {question.id}: unknown doc {question.doc!r}")
        chars = len(documents[question.doc].text)
        for span in question.evidence:
            if not span.start < span.end <= chars:
                raise AssayError(f"{path}: question {question.id}: evidence span {span.start}..{span.end} is outside "
                                 f"its document ({chars} characters)")
    if not questions:
        raise AssayError(f"{path}: the set has no questions")
