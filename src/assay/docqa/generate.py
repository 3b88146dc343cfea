"""`assay docqa generate`: questions of chosen types from the user's documents, with gold answers and evidence
spans, by a generator model (any model spec). Reproducible: greedy decoding, and passages chosen by a
generator seeded with (seed, document, type). Every candidate that is not kept is counted by reason:

- a reply that cannot be read (after the one re-ask of the judges' engine): question_unreadable,
  answer_unreadable, no_info_check_unreadable; a failed generator request: request_failed;
- a no_info question the document may answer: no_info_lexical_overlap (some sentence of the document holds at
  least 75% of the question's words of four or more letters) or no_info_answered_by_check (the generator,
  shown the whole document, says it answers the question);
- question_off_evidence: an answerable question that shares no word of five or more letters (other than the
  prompts' own words: question, answer, summary, ...) with its evidence;
- a near-duplicate: its word set has Jaccard similarity >= 0.7 with an earlier kept question's (any document);
- too_few_passages: a multi_hop question needs two passages.
"""

from __future__ import annotations

import random
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from assay.docqa import prompts
from assay.docqa.documents import Document, Span, depth_bin, depth_percent
from assay.docqa.parsing import Read, read_answer, read_question, read_yes_no
from assay.docqa.question_set import FORMAT, QUESTION_TYPES, VERSION, Evidence, Header, Question, QuestionSet, SetDocument
from assay.errors import AssayError
from assay.judges.reask import ReaskingJudge
from assay.models.base import Model
from assay.scoring.copying import words
from assay.types import GenerateRequest, Message

NEAR_DUPLICATE_JACCARD = 0.7
REQUEST_FAILED = "request failed"
NO_INFO_OVERLAP = 0.75
SUMMARY_WINDOW = 3
RULES = {
    "passages": "blank-line separated paragraphs of at least 12 words; factual: one passage per question, the "
                "document's passages split into per-doc consecutive groups and one chosen in each; multi_hop: two "
                "passages; summary: 3 consecutive passages; chosen by random.Random(f'{seed}:{doc}:{type}')",
    "near_duplicate": f"Jaccard similarity of the questions' word sets >= {NEAR_DUPLICATE_JACCARD}: the later one "
                      "is dropped",
    "no_info_lexical": f"dropped when one sentence of the document holds >= {NO_INFO_OVERLAP:.0%} of the "
                       "question's distinct words of 4+ letters",
    "no_info_check": "dropped unless the generator, shown the whole document, replies 'no' to whether it answers "
                     "the question",
    "off_evidence": "an answerable question sharing no word of 5+ letters (the prompts' own words aside) with its "
                    "evidence is dropped",
    "depth": "evidence depth = mean of the spans' middles in percent of the document's characters",
}


@dataclass
class GenerateSettings:
    types: tuple[str, ...] = QUESTION_TYPES
    per_doc: int = 2
    seed: int = 1234
    max_tokens: int = 96


@dataclass
class Candidate:
    doc: Document
    type: str
    index: int
    spans: list[Span]
    question: str | None = None
    answer: str | None = None
    checks: dict[str, Any] = field(default_factory=dict)

    @property
    def evidence_texts(self) -> list[str]:
        return [self.doc.text[s.start:s.end] for s in self.spans]


def _strata(n_items: int, groups: int) -> list[range]:
    """`groups` consecutive index ranges covering 0..n_items (empty groups reuse the whole range)."""
    out = []
    for g in range(groups):
        low, high = g * n_items // groups, (g + 1) * n_items // groups
        out.append(range(low, high) if high > low else range(n_items))
    return out


def plan_candidates(documents: Sequence[Document], settings: GenerateSettings, counts: Counter[str]) -> list[Candidate]:
    """The questions to ask for, with their evidence passages chosen by the seed."""
    out = []
    for doc in documents:
        passages = doc.passages() or [Span(0, len(doc.text.rstrip()))]
        for kind in settings.types:
            rng = random.Random(f"{settings.seed}:{doc.id}:{kind}")
            strata = _strata(len(passages), settings.per_doc)
            for index in range(settings.per_doc):
                if kind == "factual":
                    spans = [passages[rng.choice(strata[index])]]
                elif kind == "multi_hop":
                    if len(passages) < 2:
                        counts["too_few_passages"] += 1
                        continue
                    spans = [passages[i] for i in sorted(rng.sample(range(len(passages)), 2))]
                elif kind == "summary":
                    width = min(SUMMARY_WINDOW, len(passages))
                    first = rng.randrange(len(passages) - width + 1)
                    spans = [Span(passages[first].start, passages[first + width - 1].end)]
                else:
                    spans = []
                out.append(Candidate(doc, kind, index, spans))
    return out


def _ask(model: Model, texts: list[str], reader: Callable[[str | None], Read], kind: str, max_tokens: int,
         seed: int, counts: Counter[str]) -> list[Read]:
    """One batch of generator prompts, each reply read strictly, unreadable ones re-asked once (the judges'
    ReaskingJudge)."""
    if not texts:
        return []
    asker = ReaskingJudge(model, lambda text: reader(text).as_parsed(), prompts.reask(kind), {"docqa_generate": kind})
    requests = [GenerateRequest(messages=(Message("user", t),), max_tokens=max_tokens, temperature=0.0, seed=seed)
                for t in texts]
    responses = asker.generate(requests)
    counts["reasked"] += asker.reasked
    return [Read(error=f"{REQUEST_FAILED}: {r.error}") if r.error is not None else reader(r.text) for r in responses]


def _sentences(text: str) -> list[set[str]]:
    return [set(words(s)) for s in re.split(r"(?<=[.!?])\s+|\n+", text) if s.strip()]


def lexical_overlap(question: str, document: str) -> float:
    """The largest share of the question's distinct 4+-letter words found in one sentence of the document."""
    content = {w for w in words(question) if len(w) >= 4}
    if not content:
        return 0.0
    return max((len(content & sentence) / len(content) for sentence in _sentences(document)), default=0.0)


# Words of the generation prompts themselves ("question", "answer", "summary", ...): a question made of them
# alone ("What is the answer to this question?") is about the prompt, not the document.
_PROMPT_WORDS = frozenset(words(" ".join([*prompts.QUESTION.values(), prompts.ANSWER])))


def on_evidence(question: str, evidence: Sequence[str]) -> bool:
    """Does the question share a word of five or more letters, not a word of the prompts, with its evidence?"""
    own = {w for w in words(question) if len(w) >= 5} - _PROMPT_WORDS
    return bool(own & set(words(" ".join(evidence))))


def jaccard(a: str, b: str) -> float:
    set_a, set_b = set(words(a)), set(words(b))
    return len(set_a & set_b) / len(set_a | set_b) if set_a | set_b else 1.0


@dataclass
class Tally:
    """Every candidate not kept: counted by reason, and listed (with the problem) in the set's header."""

    counts: Counter[str] = field(default_factory=Counter)
    rejected: list[dict[str, Any]] = field(default_factory=list)

    def drop(self, candidate: Candidate, reason: str, detail: str | None = None) -> None:
        self.counts[reason] += 1
        self.rejected.append({"doc": candidate.doc.id, "type": candidate.type, "index": candidate.index,
                              "reason": reason, "question": candidate.question, "detail": detail})


def _drop(candidates: list[Candidate], reads: list[Read], reason: str, tally: Tally) -> list[tuple[Candidate, Any]]:
    kept = []
    for candidate, read in zip(candidates, reads, strict=True):
        if read.ok:
            kept.append((candidate, read.value))
        else:
            failed = bool(read.error and read.error.startswith(REQUEST_FAILED))
            tally.drop(candidate, REQUEST_FAILED.replace(" ", "_") if failed else reason, read.error)
    return kept


def generate_set(model: Model, documents: Sequence[Document], settings: GenerateSettings) -> QuestionSet:
    unknown = [t for t in settings.types if t not in QUESTION_TYPES]
    if unknown or not settings.types:
        raise AssayError(f"--types: unknown question type {unknown[0] if unknown else '(none)'!r}; expected some of "
                         f"{', '.join(QUESTION_TYPES)}")
    tally = Tally()
    counts = tally.counts
    candidates = plan_candidates(documents, settings, counts)
    counts["candidates"] = len(candidates) + counts["too_few_passages"]
    ask = lambda texts, reader, kind, tokens=settings.max_tokens: _ask(  # noqa: E731
        model, texts, reader, kind, tokens, settings.seed, counts)
    question_texts = [prompts.question_prompt(c.type, c.evidence_texts if c.spans else [c.doc.text]) for c in candidates]
    with_question = _drop(candidates, ask(question_texts, read_question, "question"), "question_unreadable", tally)
    for candidate, question in with_question:
        candidate.question = question
    answerable = []
    for candidate, _ in with_question:
        if candidate.type == "no_info":
            continue
        if on_evidence(candidate.question or "", candidate.evidence_texts):
            answerable.append(candidate)
        else:
            tally.drop(candidate, "question_off_evidence")
    answered = _drop(answerable, ask([prompts.answer_prompt(c.evidence_texts, c.question or "") for c in answerable],
                                     read_answer, "answer"), "answer_unreadable", tally)
    for candidate, answer in answered:
        candidate.answer = answer
    no_info = []
    for candidate, _ in with_question:
        if candidate.type != "no_info":
            continue
        overlap = lexical_overlap(candidate.question or "", candidate.doc.text)
        candidate.checks["lexical_overlap"] = round(overlap, 3)
        if overlap >= NO_INFO_OVERLAP:
            tally.drop(candidate, "no_info_lexical_overlap", f"overlap {overlap:.2f}")
        else:
            no_info.append(candidate)
    checked = _drop(no_info, ask([prompts.no_info_check_prompt(c.doc.text, c.question or "") for c in no_info],
                                 read_yes_no, "yes_no", 16), "no_info_check_unreadable", tally)
    for candidate, says_answered in checked:
        candidate.checks["generator_says_answered"] = says_answered
        if says_answered:
            tally.drop(candidate, "no_info_answered_by_check")
        else:
            candidate.answer = prompts.NO_INFO_ANSWER
    ready = [c for c in candidates if c.question is not None and c.answer is not None]
    questions = _deduplicated(ready, tally)
    counts["kept"] = len(questions)
    header = Header(format=FORMAT, version=VERSION, generator=model.spec, generator_fingerprint=model.fingerprint(),
                    seed=settings.seed, types=list(settings.types), per_doc=settings.per_doc,
                    prompts_sha256=prompts.generation_prompts_sha256(), rules=RULES, counts=dict(sorted(counts.items())),
                    rejected=tally.rejected,
                    documents=[SetDocument(id=d.id, path=d.path, sha256=d.sha256, text=d.text) for d in documents])
    return QuestionSet(header=header, questions=questions)


def _deduplicated(ready: list[Candidate], tally: Tally) -> list[Question]:
    kept: list[Question] = []
    for c in ready:
        assert c.question is not None and c.answer is not None
        twin = next((k for k in kept if jaccard(c.question, k.question) >= NEAR_DUPLICATE_JACCARD), None)
        if twin is not None:
            tally.drop(c, "near_duplicates", f"like {twin.id}")
            continue
        evidence = [Evidence(start=s.start, end=s.end, depth_percent=depth_percent(s, len(c.doc.text))) for s in c.spans]
        depth = round(sum(e.depth_percent for e in evidence) / len(evidence), 2) if evidence else None
        kept.append(Question(id=f"{c.doc.id}/{c.type}/{c.index}", doc=c.doc.id, type=c.type,  # type: ignore[arg-type]
                             question=c.question, answer=c.answer, evidence=evidence, depth_percent=depth,
                             depth_bin=depth_bin(depth), checks=c.checks))
    return kept
