"""L-Eval's QuALITY subset (An et al., 2023; data: QuALITY, Pang et al., 2022, CC BY 4.0): 15 long stories
(about 3k-7k tokens) with 202 four-option questions, read from `<data-dir>/longdoc/leval_quality/quality.jsonl`.

`leval_quality` — multiple choice by log-likelihood of each option's text (acc, acc_norm);
`leval_quality_gen` — the same prompt asking for the letter, read from the generated text.
The document comes BEFORE the question, so every question about one document shares the document as a
token prefix (the hf backend runs it once per document); questions about one document share a cluster.
"""

from __future__ import annotations

import re
from typing import Any

from assay.data_paths import require_data_file
from assay.errors import AssayError
from assay.tasks.base import Task, TaskContext
from assay.tasks.benchmarks.common import read_jsonl
from assay.tasks.benchmarks.multiple_choice import multiple_choice_task
from assay.tasks.benchmarks.prompt_formats import PromptFormat
from assay.tasks.registry import register_task
from assay.types import Sample

DATA_FILE = "longdoc/leval_quality/quality.jsonl"
# " (A) option" lines after the question stem, as L-Eval writes them.
OPTION = re.compile(r"\n\s*\(([A-D])\)\s*")
PREAMBLE = "Read the document, then answer the multiple-choice question about it.\n\n"
GEN_PREAMBLE = ("Read the document, then answer the multiple-choice question about it with the letter of the "
                "correct option only.\n\n")
LL_FORMAT = PromptFormat("leval_doc_paren_text", question_prefix="", choice_style="(A)", answer="text")
GEN_FORMAT = PromptFormat("leval_doc_paren_generate", question_prefix="", choice_style="(A)", answer="generate")


def split_question(query: str, where: str) -> tuple[str, list[str]]:
    """(stem, [option A, B, C, D]) of an L-Eval QuALITY instruction."""
    stem, *parts = OPTION.split(query)
    letters, options = parts[0::2], [p.strip() for p in parts[1::2]]
    if letters != ["A", "B", "C", "D"] or not all(options):
        raise AssayError(f"{where}: expected a question followed by options (A) to (D)")
    return stem.strip(), options


def gold_index(output: str, where: str) -> int:
    match = re.match(r"\s*\(([A-D])\)", output)
    if match is None:
        raise AssayError(f"{where}: expected the gold answer to start with its letter, e.g. '(B) ...'")
    return ord(match.group(1)) - ord("A")


def load_quality(ctx: TaskContext, task_name: str) -> list[Sample]:
    what = f"task {task_name}"
    path = require_data_file(ctx.data_dir, DATA_FILE, what)
    samples = []
    for doc_index, record in enumerate(read_jsonl(path, what)):
        where = f"{what}: {path} line {doc_index + 1}"
        document, queries, outputs = record.get("input"), record.get("instructions"), record.get("outputs")
        if not isinstance(document, str) or not isinstance(queries, list) or not isinstance(outputs, list) \
                or len(queries) != len(outputs):
            raise AssayError(f"{where}: expected 'input' (the document) and equally long 'instructions' and 'outputs'")
        for question_index, (query, output) in enumerate(zip(queries, outputs, strict=True)):
            stem, options = split_question(str(query), f"{where} question {question_index + 1}")
            samples.append(Sample(
                id=f"{doc_index}-{question_index}", input=f"Document:\n{document.strip()}\n\nQuestion: {stem}",
                target=gold_index(str(output), f"{where} output {question_index + 1}"), choices=options,
                cluster=f"doc-{doc_index}",
                # The instruction as L-Eval wrote it: imported predictions are checked against it.
                metadata={"document": doc_index, "question_index": question_index, "source_query": query}))
    return samples


def _spec(mode: str) -> dict[str, Any]:
    return {"benchmark": "leval_quality", "data": DATA_FILE, "mode": mode, "document_first": True}


@register_task("leval_quality", family="benchmarks",
               description="L-Eval QuALITY long-document questions (15 documents, 202 questions), log-likelihood")
def _make_ll(variant: str | None) -> Task:
    _no_variant("leval_quality", variant)
    return multiple_choice_task("leval_quality", family="benchmarks", native_format=LL_FORMAT, preamble=PREAMBLE,
                                load=lambda ctx: load_quality(ctx, "leval_quality"), spec=_spec("loglikelihood"))


@register_task("leval_quality_gen", family="benchmarks",
               description="L-Eval QuALITY long-document questions, generated option letter")
def _make_gen(variant: str | None) -> Task:
    _no_variant("leval_quality_gen", variant)
    return multiple_choice_task("leval_quality_gen", family="benchmarks", native_format=GEN_FORMAT,
                                preamble=GEN_PREAMBLE, load=lambda ctx: load_quality(ctx, "leval_quality_gen"),
                                spec=_spec("generate"))


def _no_variant(name: str, variant: str | None) -> None:
    if variant is not None:
        raise AssayError(f"--task {name}:{variant}: {name} has no variants")
