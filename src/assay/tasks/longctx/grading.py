"""Turn one long-context output into scores, by the scorer named in the sample's metadata.

Scores what the model answered, not what its output happens to contain (docs/longctx-scoring.md):

- An output that reproduces its prompt (`assay.scoring.copying`) is no answer: label
  `copied_prompt`, primary scores 0, neither a find nor a decline.
- Candidate values are the references and the decoys the builder recorded (`decoy_values`: other
  keys' values, distractor facts, other chains, the other words of a word list), matched as whole
  words, case-insensitively (as word sequences, like the copy check). An output naming more
  candidates than the question asks for has not chosen: it scores 0. Naming any decoy is a
  `decoy_confusion`.
- Twins: an output that declines and also gives a value (a candidate, or a string shaped like the
  needle's value) is `declined_and_answered`: incorrect, neither a find nor a false refusal, nor a
  correct decline.

Every sample gets `score` (its task's primary metric, 0..1; absent for closed-book probes),
`empty_output` and `copied_prompt` (0/1). An empty output is also an error ("empty output"),
counted as unparsable by the runner. Scores that do not apply to a sample are left out, so their
means run over the samples they apply to (false refusals over answerable twins, hallucinations over
unanswerable twins); an empty or copied output gets only the primary scores, as 0.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from assay.scoring.copying import copies_prompt, copy_allowance, words
from assay.scoring.ruler import exact_match, first_line_answer, is_abstention, token_f1
from assay.types import Scored

SCORERS = ("match_all", "qa", "twin_answerable", "twin_unanswerable", "counterfactual_doc", "counterfactual_closed")

# Scores set to 0 when the output is empty or copies the prompt, per scorer (the primary ones only).
_NO_ANSWER_SCORES: dict[str, dict[str, float]] = {
    "match_all": {"score": 0.0, "all_found": 0.0},
    "qa": {"score": 0.0, "exact_match": 0.0, "f1": 0.0},
    "twin_answerable": {"score": 0.0},
    "twin_unanswerable": {"score": 0.0},
    "counterfactual_doc": {"score": 0.0, "doc_answer": 0.0, "prior_answer_in_doc": 0.0},
    "counterfactual_closed": {"closed_book_prior": 0.0, "closed_book_doc_answer": 0.0},
}

# Strings shaped like a needle value of each kind: an output holding one has given a value even if
# it is not a candidate (invented). Word values are invented nonce words, so they have no shape.
_VALUE_SHAPES = {
    "number": re.compile(r"(?<!\d)\d{7}(?!\d)"),
    "uuid": re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b"),
}


def _word_text(text: str) -> str:
    return " " + " ".join(words(text)) + " "


def names(text: str, value: str) -> bool:
    """Does the output name this value: its words, consecutive and whole, case-insensitively?"""
    return _word_text(value) in _word_text(text)


@dataclass(frozen=True)
class Reading:
    """Which candidate values an output names."""

    named_references: list[bool]
    named_decoys: list[str]

    @property
    def over_answered(self) -> bool:
        """More candidate values than the question asks for: the output has not chosen."""
        return sum(self.named_references) + len(self.named_decoys) > len(self.named_references)

    @property
    def found(self) -> list[bool]:
        return [False] * len(self.named_references) if self.over_answered else list(self.named_references)

    @property
    def score(self) -> float:
        """RULER's fraction of asked values named, or 0 for an output that over-answers."""
        return sum(self.found) / len(self.found) if self.found else 0.0


def read(text: str, references: Sequence[str], decoys: Sequence[str]) -> Reading:
    output = _word_text(text)
    return Reading([_word_text(r) in output for r in references], [d for d in decoys if _word_text(d) in output])


def prompt_copied(text: str, messages: Sequence[Mapping[str, Any]], metadata: Mapping[str, Any]) -> tuple[bool, int]:
    """(does the output copy the prompt, the allowance in words). The long-context prompt is the
    PromptTemplate's user message: instruction, document, question, answer prefix, separated by blank
    lines. Quotable: the instruction, the question with its answer prefix, other messages (a system
    prompt), each inserted sentence and each reference."""
    contents = [str(m["content"]) for m in messages]
    if not contents:
        return False, 0
    users = [i for i, m in enumerate(messages) if m.get("role") == "user"]
    last = users[-1] if users else len(contents) - 1
    paragraphs = contents[last].split("\n\n")
    # Fewer than four paragraphs: no document between instruction and question (closed-book probes),
    # so all of it is quotable.
    quotable = [paragraphs[0], "\n\n".join(paragraphs[-2:])] if len(paragraphs) >= 4 else [contents[last]]
    quotable += [c for i, c in enumerate(contents) if i != last]
    quotable += [str(p["text"]) for p in metadata.get("needles") or []]
    quotable += [str(r) for r in metadata["references"]]
    allowance = copy_allowance(quotable)
    return copies_prompt(text, "\n\n".join(contents), allowance), allowance


def _gives_value(text: str, reading: Reading, value_kind: str | None) -> bool:
    shape = _VALUE_SHAPES.get(value_kind or "")
    return any(reading.named_references) or bool(reading.named_decoys) or bool(shape and shape.search(text.casefold()))


def _grade_answerable(text: str, reading: Reading, value_kind: str | None) -> tuple[dict[str, float], str]:
    declined = is_abstention(text)
    if declined and _gives_value(text, reading, value_kind):
        return {"score": 0.0, "false_refusal": 0.0, "declined_and_answered": 1.0}, "declined_and_answered"
    found = reading.score
    label = ("correct" if found else "false_refusal" if declined
             else "decoy_confusion" if reading.named_decoys else "wrong")
    return {"score": found, "false_refusal": 1.0 if label == "false_refusal" else 0.0,
            "declined_and_answered": 0.0}, label


def _grade_unanswerable(text: str, reading: Reading, value_kind: str | None) -> tuple[dict[str, float], str]:
    declined = is_abstention(text)
    if declined and _gives_value(text, reading, value_kind):
        return {"score": 0.0, "hallucination": 1.0, "declined_and_answered": 1.0}, "declined_and_answered"
    label = "correct_decline" if declined else "hallucination"
    return {"score": 1.0 if declined else 0.0, "hallucination": 0.0 if declined else 1.0,
            "declined_and_answered": 0.0}, label


def grade(metadata: Mapping[str, Any], text: str, messages: Sequence[Mapping[str, Any]]) -> Scored:
    """Score `text`, the output for the sample with this metadata and prompt `messages`."""
    scorer = metadata["scorer"]
    if scorer not in SCORERS:
        raise ValueError(f"unknown long-context scorer {scorer!r}")
    references: list[str] = [str(r) for r in metadata["references"]]
    if not text.strip():
        scores = {**_NO_ANSWER_SCORES[scorer], "empty_output": 1.0, "copied_prompt": 0.0}
        return Scored(extracted=None, scores=scores, error="empty output",
                      metadata={"found": [False] * len(references), "label": "empty"})
    copied, allowance = prompt_copied(text, messages, metadata)
    if copied:
        scores = {**_NO_ANSWER_SCORES[scorer], "empty_output": 0.0, "copied_prompt": 1.0}
        return Scored(extracted=None, scores=scores, metadata={"found": [False] * len(references),
                                                               "label": "copied_prompt", "copy_allowance": allowance})
    scores: dict[str, float] = {"empty_output": 0.0, "copied_prompt": 0.0}
    decoys = [str(d) for d in metadata.get("decoy_values") or []]
    reading = read(text, references, decoys)
    extra: dict[str, Any] = {"found": reading.found, "named_decoys": reading.named_decoys}
    value_kind = metadata.get("value_kind")
    if scorer == "match_all":
        scores["score"] = reading.score
        scores["all_found"] = 1.0 if reading.score == 1.0 else 0.0
    elif scorer == "qa":
        answer = first_line_answer(text)
        scores["score"] = reading.score
        scores["exact_match"] = exact_match(answer, references)
        scores["f1"] = token_f1(answer, references)
    elif scorer == "twin_answerable":
        twin_scores, extra["label"] = _grade_answerable(text, reading, value_kind)
        scores.update(twin_scores)
    elif scorer == "twin_unanswerable":
        twin_scores, extra["label"] = _grade_unanswerable(text, reading, value_kind)
        scores.update(twin_scores)
    elif scorer == "counterfactual_doc":
        # The document's value and the world's are the two candidates; naming both is no answer.
        doc, prior = reading.named_references[0], any(names(text, p) for p in metadata["prior_answers"])
        scores["doc_answer"] = 1.0 if doc and not prior else 0.0
        scores["prior_answer_in_doc"] = 1.0 if prior and not doc else 0.0
        scores["score"] = scores["doc_answer"]
        extra["label"] = "both" if doc and prior else "doc" if doc else "prior" if prior else "neither"
    else:  # counterfactual_closed: descriptive, no primary score
        scores["closed_book_prior"] = 1.0 if any(names(text, p) for p in metadata["prior_answers"]) else 0.0
        scores["closed_book_doc_answer"] = 1.0 if any(reading.named_references) else 0.0
    if decoys and scorer in ("match_all", "qa", "twin_answerable", "twin_unanswerable"):
        scores["decoy_confusion"] = 1.0 if reading.named_decoys else 0.0
    return Scored(extracted=text.strip(), scores=scores, metadata=extra)
