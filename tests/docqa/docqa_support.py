"""Question sets for docqa tests, made by the real producer (`generate_set`) from the example documents with a
scripted generator that answers from rules, and runs of them made by the Runner."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from assay.docqa.documents import load_documents
from assay.docqa.generate import GenerateSettings, generate_set
from assay.docqa.question_set import QuestionSet, write_set
from assay.docqa.task import DocQATask
from assay.models import load_model
from assay.runner import Runner, RunOptions
from assay.store import Store
from cli_capture import run_cli as cli

EXAMPLE_DOCS = Path(__file__).resolve().parents[2] / "examples" / "docs"
FACTUAL = "can be answered from the text above"
ANSWER = "Answer the question in one or two sentences"
REASK = "Your reply could not be read"

# The generator, for the Harrow Mill document: a question per passage (the first only after the re-ask), the
# same question for both multi_hop and both summary candidates (near-duplicates), one answer that is a question.
GENERATOR_RULES: list[tuple[str | list[str], str]] = [
    ([REASK, FACTUAL, "Edith Calloway"], "Who built the Harrow Mill?"),
    ([FACTUAL, "Edith Calloway"], "Sure, here is one."),
    ([FACTUAL, "Bramwell family"], "What did the Bramwell family add to the mill?"),
    ([FACTUAL, "A flood in the winter"], "What broke the weir in 1869?"),
    ([FACTUAL, "The mill closed in 1911"], "When was the mill closed?"),
    ([FACTUAL, "local trust bought"], "Who bought the ruin in 1983?"),
    ([FACTUAL, "Visitors can climb"], "What can visitors see from the third floor?"),
    ("needs both paragraphs", "Which families owned the mill over the years?"),
    ("short summary", "Can you summarise what the Bramwell family did with the mill?"),
    ("the text does not answer", "How many visitors came to the museum in 2005?"),
    ("Does the text above answer this question", "No, it does not."),
    ([ANSWER, "Question: When was the mill closed?"], "Why do you ask?"),
    ([ANSWER, "Question: Who built the Harrow Mill?"], "Edith Calloway built it in 1784."),
    (ANSWER, "It is told in the text: the Bramwell family."),
]


def rules_spec(tmp_path: Path, rules: list[tuple[str | list[str], str]], name: str) -> str:
    path = tmp_path / f"{name}.rules.json"
    path.write_text(json.dumps([{"match": m, "answer": a} for m, a in rules]), encoding="utf-8")
    return f"scripted:judge={path}"


def docs_folder(tmp_path: Path, names: tuple[str, ...] = ("harrow_mill.md",)) -> Path:
    folder = tmp_path / "docs"
    folder.mkdir(exist_ok=True)
    for name in names:
        shutil.copy(EXAMPLE_DOCS / name, folder / name)
    return folder


def make_set(tmp_path: Path, seed: int = 1234, per_doc: int = 2, rules: list | None = None,
             names: tuple[str, ...] = ("harrow_mill.md",), types: tuple[str, ...] | None = None) -> tuple[QuestionSet, Path]:
    model = load_model(rules_spec(tmp_path, rules or GENERATOR_RULES, "generator"))
    settings = GenerateSettings(per_doc=per_doc, seed=seed, **({"types": types} if types else {}))
    question_set = generate_set(model, load_documents(docs_folder(tmp_path, names)), settings)
    path = tmp_path / f"set-{seed}.jsonl"
    write_set(path, question_set)
    return question_set, path


def run_set(store: Store, path: Path, model_spec: str, seed: int = 1234) -> str:
    model = load_model(model_spec)
    try:
        return Runner(model, store).run([DocQATask(path)], RunOptions(seed=seed, show_progress=False)).run_id
    finally:
        model.close()


def one_error(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    code, _, err = cli(capsys, *args)
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2 and len(lines) == 1 and lines[0].startswith("error:"), err
    return lines[0]
