"""The set as a task: the document before the question, exact token lengths, clusters by document, the three-way
no-info labels (the needle suite's decline detection), cuts by evidence depth and by type, bad sets refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from docqa_support import cli, make_set, one_error, run_set

from assay.docqa.task import DocQATask, document_from, grade_answer
from assay.errors import AssayError
from assay.models.scripted import WhitespaceTokenizer
from assay.store import Store
from assay.tasks import get_task
from assay.tasks.base import TaskContext
from assay.types import messages_from


def test_grade_answer_labels() -> None:
    decline = "The document does not say."
    assert grade_answer("no_info", decline, decline).metadata["label"] == "correct_decline"
    hallucinated = grade_answer("no_info", "About 4,000 visitors.", decline)
    assert hallucinated.metadata["label"] == "hallucination" and hallucinated.scores["hallucination"] == 1.0
    refused = grade_answer("factual", "I cannot find that in the document.", "Edith Calloway built it.")
    assert refused.metadata["label"] == "false_refusal" and refused.scores == {
        "score": 0.0, "f1": 0.0, "false_refusal": 1.0, "empty_output": 0.0}
    answered = grade_answer("factual", "Edith Calloway built it.", "Edith Calloway built it in 1784.")
    assert answered.metadata["label"] == "answered" and 0.5 < answered.scores["score"] == answered.scores["f1"] < 1
    empty = grade_answer("summary", "  ", "x")
    assert empty.error == "empty output" and empty.scores["score"] == 0.0


def test_samples_put_the_document_before_the_question_with_exact_lengths(tmp_path: Path) -> None:
    question_set, path = make_set(tmp_path)
    task = get_task(f"docqa:{path}")
    assert isinstance(task, DocQATask) and task.size(TaskContext()) == len(question_set.questions)
    tokenizer = WhitespaceTokenizer()
    samples = list(task.samples(TaskContext(tokenizer=tokenizer)))
    document = question_set.document("harrow_mill").text
    for sample, question in zip(samples, question_set.questions, strict=True):
        [message] = sample.input["messages"]
        content = message["content"]
        assert content.index(document) < content.index(f"Question: {question.question}")
        rendered = tokenizer.render_chat(messages_from(sample.input["messages"]))
        assert sample.metadata["realized_length"] == len(tokenizer.encode(rendered))
        assert sample.cluster == "harrow_mill" and sample.target == question.answer
    with pytest.raises(AssayError, match="exceeds the model's context of 300"):
        list(task.samples(TaskContext(tokenizer=tokenizer, max_context=300)))


def test_run_labels_depth_cuts_and_document_read_back(store: Store, tmp_path: Path) -> None:
    question_set, path = make_set(tmp_path, names=("harrow_mill.md", "tern_study.md"))
    answers = tmp_path / "answers.json"
    # Answers the Bramwell question, declines the rest.
    answers.write_text(json.dumps({"Bramwell family add": "They added a third floor and an iron wheel.",
                                   "Question:": "The document does not say."}), encoding="utf-8")
    run_id = run_set(store, path, f"scripted:oracle={answers}")
    rows = list(store.iter_samples(run_id, f"docqa:{path}"))
    labels = {r["sample_id"]: r["metadata"]["label"] for r in rows}
    types = {q.id: q.type for q in question_set.questions}
    for sample_id, label in labels.items():
        expected = ("correct_decline" if types[sample_id] == "no_info" else
                    "answered" if "Bramwell family add" in next(r["prompt"] for r in rows if r["sample_id"] == sample_id)
                    else "false_refusal")
        assert label == expected
    for row in rows:
        assert document_from(row) == question_set.document(row["cluster"]).text
    metrics = {m["name"]: m for m in store.get_metrics(run_id)}
    for label in ("correct_decline", "hallucination", "false_refusal", "answered"):
        assert metrics[f"label/{label}"]["value"] == sum(1 for v in labels.values() if v == label)
    for depth in {q.depth_bin for q in question_set.questions if q.depth_bin}:
        in_bin = [r for r in rows if r["metadata"]["depth_bin"] == depth]
        assert metrics[f"depth/{depth}"]["value"] == pytest.approx(sum(r["scores"]["score"] for r in in_bin) / len(in_bin))
    assert metrics["score"]["primary"] and metrics["false_refusal"]["higher_is_better"] is False
    assert metrics["hallucination"]["n"] == sum(1 for t in types.values() if t == "no_info")
    # Two documents, two clusters: the CI is clustered by document.
    assert metrics["score"]["method"].startswith("clustered")


def test_bad_sets_are_one_line_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, path = make_set(tmp_path)
    lines = path.read_text(encoding="utf-8").splitlines()
    header = json.loads(lines[0])
    header["documents"][0]["text"] += " An edit."
    edited = tmp_path / "edited.jsonl"
    edited.write_text("\n".join([json.dumps(header), *lines[1:]]), encoding="utf-8")
    db = f"sqlite:///{tmp_path / 'x.db'}"
    assert "does not match its sha256" in one_error(capsys, "run", "--task", f"docqa:{edited}", "--model",
                                                    "scripted:echo", "--db", db)
    question = json.loads(lines[1])
    del question["answer"]
    broken = tmp_path / "broken.jsonl"
    broken.write_text("\n".join([lines[0], json.dumps(question)]), encoding="utf-8")
    assert f"{broken}:2: answer: Field required" in one_error(capsys, "run", "--task", f"docqa:{broken}", "--model",
                                                             "scripted:echo", "--db", db)
    assert "cannot read the question set" in one_error(capsys, "run", "--task", f"docqa:{tmp_path / 'none.jsonl'}",
                                                       "--model", "scripted:echo", "--db", db)
    code, _, _ = cli(capsys, "run", "--task", f"docqa:{path}", "--model", "scripted:echo", "--db", db, "--no-progress")
    assert code == 0
