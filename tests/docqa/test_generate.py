"""`generate_set`: types, evidence spans and depths, the one re-ask, every dropped candidate counted by reason,
near-duplicates, the no_info checks, and reproducibility (same seed, same bytes)."""

from __future__ import annotations

from pathlib import Path

import pytest
from docqa_support import docs_folder, make_set, rules_spec

from assay.docqa.documents import Span, depth_bin, depth_percent, load_documents
from assay.docqa.generate import GenerateSettings, generate_set, jaccard, lexical_overlap, on_evidence
from assay.docqa.question_set import load_set
from assay.errors import AssayError
from assay.models import load_model


def test_set_has_types_answers_and_evidence_spans_inside_passages(tmp_path: Path) -> None:
    question_set, path = make_set(tmp_path)
    document = question_set.document("harrow_mill").text
    passages = {(s.start, s.end) for s in load_documents(docs_folder(tmp_path))[0].passages()}
    counts = question_set.header.counts
    # Every candidate is kept or counted under one reason.
    assert counts["candidates"] == 8
    dropped = sum(v for k, v in counts.items() if k not in ("candidates", "kept", "reasked"))
    assert counts["kept"] + dropped == counts["candidates"] == len(question_set.questions) + dropped
    # ... and listed with its reason and problem.
    assert sorted(r["reason"] for r in question_set.header.rejected) == sorted(
        k for k, v in counts.items() if k not in ("candidates", "kept", "reasked") for _ in range(v))
    # The two multi_hop, summary and no_info candidates asked the same question: one of each pair is dropped.
    assert counts["near_duplicates"] == 3
    assert {q.type for q in question_set.questions} == {"factual", "multi_hop", "summary", "no_info"}
    for q in question_set.questions:
        if q.type == "no_info":
            assert q.evidence == [] and q.depth_bin is None and q.answer == "The document does not say."
            assert q.checks["generator_says_answered"] is False and q.checks["lexical_overlap"] < 0.75
            continue
        assert q.evidence and q.answer
        for span in q.evidence:
            if q.type != "summary":
                assert (span.start, span.end) in passages
            assert span.depth_percent == depth_percent(Span(span.start, span.end), len(document))
        assert q.depth_bin == depth_bin(q.depth_percent)
    multi = next(q for q in question_set.questions if q.type == "multi_hop")
    assert len(multi.evidence) == 2 and multi.evidence[0].end < multi.evidence[1].start
    assert load_set(path)[0] == question_set


def test_unreadable_replies_are_reasked_once_then_counted(tmp_path: Path) -> None:
    # Every factual passage in turn (per_doc = 6 puts one passage in each stratum).
    question_set, _ = make_set(tmp_path, per_doc=6, types=("factual",))
    counts = question_set.header.counts
    questions = {q.question for q in question_set.questions}
    # "Sure, here is one." was re-asked and the second reply read; "Why do you ask?" is no answer, twice.
    assert "Who built the Harrow Mill?" in questions
    assert counts["answer_unreadable"] == 1 and "When was the mill closed?" not in questions
    [rejected] = question_set.header.rejected
    assert rejected["question"] == "When was the mill closed?" and "a question instead of an answer" in rejected["detail"]
    assert counts["reasked"] == 2 and counts["kept"] == 5
    built = next(q for q in question_set.questions if q.question == "Who built the Harrow Mill?")
    assert built.answer == "Edith Calloway built it in 1784." and built.depth_bin == "0-25"


def test_no_info_questions_the_document_answers_are_dropped_and_counted(tmp_path: Path) -> None:
    rules = [
        (["the text does not answer", "Harrow Mill"], "Which wool merchant named Edith Calloway built the mill?"),
        (["the text does not answer", "Saltmere"], "What do the terns eat in their winter quarters?"),
        (["the text does not answer", "Lantern"], "Who cleans the Lantern office at night?"),
        (["Does the text above answer", "Saltmere"], "Yes."),
        (["Does the text above answer", "Lantern"], "Perhaps."),
    ]
    question_set, _ = make_set(tmp_path, per_doc=1, rules=rules, types=("no_info",),
                               names=("harrow_mill.md", "tern_study.md", "lantern_policy.md"))
    counts = question_set.header.counts
    assert question_set.questions == []
    assert counts == {"candidates": 3, "kept": 0, "no_info_lexical_overlap": 1, "no_info_answered_by_check": 1,
                      "no_info_check_unreadable": 1, "reasked": 1}


def test_same_seed_same_bytes_other_seed_other_passages(tmp_path: Path) -> None:
    _, path = make_set(tmp_path, seed=5, per_doc=3, types=("factual", "multi_hop"))
    first = path.read_bytes()
    _, path = make_set(tmp_path, seed=5, per_doc=3, types=("factual", "multi_hop"))
    assert path.read_bytes() == first
    spans = {}
    for seed in range(6):
        other, _ = make_set(tmp_path, seed=seed, per_doc=3, types=("factual", "multi_hop"))
        spans[seed] = [(e.start, e.end) for q in other.questions for e in q.evidence]
    assert len({tuple(v) for v in spans.values()}) > 1


def test_questions_off_their_evidence_are_dropped(tmp_path: Path) -> None:
    rules = [("can be answered from the text above", "What is the answer to this question?"),
             ("needs both paragraphs", "What happened to the Bramwell family?")]
    question_set, _ = make_set(tmp_path, per_doc=1, rules=rules, types=("factual", "multi_hop"))
    counts = question_set.header.counts
    assert counts["question_off_evidence"] == 1 and counts["candidates"] == 2
    assert {r["question"] for r in question_set.header.rejected if r["reason"] == "question_off_evidence"} == {
        "What is the answer to this question?"}
    assert on_evidence("When did the Bramwells add a floor?", ["The Bramwells added a third floor."])
    assert not on_evidence("Can you answer the question in summary?", ["The Bramwells added a third floor."])


def test_similarity_rules() -> None:
    assert jaccard("When did the mill close?", "When did the mill close down?") >= 0.7
    assert jaccard("When did the mill close?", "Who built the mill?") < 0.7
    document = "It was built in 1784 by a wool merchant named Edith Calloway. The wheel was iron."
    assert lexical_overlap("Which wool merchant named Edith Calloway built the mill?", document) == 0.75
    assert lexical_overlap("Who designed the iron wheel?", document) == pytest.approx(2 / 3)


def test_bad_types_and_folders_are_one_line_errors(tmp_path: Path) -> None:
    model = load_model(rules_spec(tmp_path, [], "empty"))
    documents = load_documents(docs_folder(tmp_path))
    with pytest.raises(AssayError, match="--types: unknown question type 'trivia'"):
        generate_set(model, documents, GenerateSettings(types=("factual", "trivia")))
    (tmp_path / "empty").mkdir()
    with pytest.raises(AssayError, match="no .txt or .md files"):
        load_documents(tmp_path / "empty")
    with pytest.raises(AssayError, match="not a folder"):
        load_documents(tmp_path / "missing")
