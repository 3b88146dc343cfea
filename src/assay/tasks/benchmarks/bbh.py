"""BIG-Bench Hard (Suzgun et al., 2022): 27 tasks, 3-shot, chain-of-thought or direct answer.

Prompts are the paper's `cot-prompts/<task>.txt`, used verbatim: the CoT prompt is
"<prompt>\n\nQ: <input>\nA: Let's think step by step."; the direct prompt keeps the same three
exemplars with each chain of thought replaced by its final answer ("A: <answer>"), then
"\n\nQ: <input>\nA:". Answers are scored by exact match after the paper's extraction (the text
after the last "So the answer is ", final period removed). Re-scoring the published
code-davinci-002 outputs this way reproduces their accuracies exactly (tests/tasks).
"""

from __future__ import annotations

from pathlib import Path

from assay.data_paths import require_data_file
from assay.errors import AssayError
from assay.scoring.extraction import extract_bbh_cot_answer, extract_bbh_direct_answer
from assay.tasks.base import Task, TaskContext
from assay.tasks.benchmarks.common import read_json, read_text
from assay.tasks.benchmarks.generative import generative_task, text_only
from assay.tasks.registry import register_task
from assay.types import Sample, sha256_hex

# Fixed so that importing needs no data; matches data/bbh/tasks/*.json.
BBH_TASKS = (
    "boolean_expressions", "causal_judgement", "date_understanding", "disambiguation_qa", "dyck_languages",
    "formal_fallacies", "geometric_shapes", "hyperbaton", "logical_deduction_five_objects",
    "logical_deduction_seven_objects", "logical_deduction_three_objects", "movie_recommendation",
    "multistep_arithmetic_two", "navigate", "object_counting", "penguins_in_a_table",
    "reasoning_about_colored_objects", "ruin_names", "salient_translation_error_detection", "snarks",
    "sports_understanding", "temporal_sequences", "tracking_shuffled_objects_five_objects",
    "tracking_shuffled_objects_seven_objects", "tracking_shuffled_objects_three_objects", "web_of_lies",
    "word_sorting",
)
COT_CUE = "Let's think step by step."
PROMPT_SEPARATOR = "-----\n"  # the prompt files open with a canary line, then this rule


def split_cot_prompt(text: str, source: str) -> tuple[str, list[tuple[str, str]]]:
    """(task description, [(question, chain-of-thought answer), ...]) from a cot-prompts file."""
    _, sep, body = text.partition(PROMPT_SEPARATOR)
    if not sep:
        raise ValueError(f"{source}: no '-----' line after the canary")
    description, *blocks = body.split("\n\nQ: ")
    exemplars = []
    for block in blocks:
        question, sep, answer = block.partition("\nA: ")
        if not sep:
            raise ValueError(f"{source}: an exemplar has no '\\nA: ' line")
        exemplars.append((question, answer.rstrip("\n")))
    return description, exemplars


def cot_prompt_head(text: str) -> str:
    """The CoT prompt as the paper uses it: everything after the canary rule, unchanged."""
    return text.partition(PROMPT_SEPARATOR)[2].rstrip("\n")


def direct_prompt_head(text: str, source: str) -> str:
    description, exemplars = split_cot_prompt(text, source)
    parts = [description]
    for question, cot_answer in exemplars:
        final = extract_bbh_cot_answer(cot_answer)
        if final is None:
            raise ValueError(f"{source}: an exemplar's answer has no 'So the answer is'")
        parts.append(f"Q: {question}\nA: {final}")
    return "\n\n".join(parts)


def bbh_prompt(head: str, question: str, chain_of_thought: bool) -> str:
    return f"{head}\n\nQ: {question}\nA:" + (f" {COT_CUE}" if chain_of_thought else "")


def _loader(subtask: str, chain_of_thought: bool, task_name: str):
    def load(ctx: TaskContext) -> list[Sample]:
        examples_path = require_data_file(ctx.data_dir, f"bbh/tasks/{subtask}.json", f"task {task_name}")
        prompt_path = require_data_file(ctx.data_dir, f"bbh/cot-prompts/{subtask}.txt", f"task {task_name}")
        prompt_text = read_text(prompt_path, f"task {task_name}")
        try:
            head = cot_prompt_head(prompt_text) if chain_of_thought else direct_prompt_head(prompt_text, str(prompt_path))
        except ValueError as exc:
            raise AssayError(f"task {task_name}: {exc}") from None
        data = read_json(examples_path, f"task {task_name}")
        return [Sample(id=str(index), input=bbh_prompt(head, example["input"], chain_of_thought),
                       target=example["target"], metadata={"subtask": subtask})
                for index, example in enumerate(data["examples"])]
    return load


def bbh_task(subtask: str, chain_of_thought: bool) -> Task:
    mode = "cot" if chain_of_thought else "direct"
    name = f"bbh_{mode}:{subtask}"
    return generative_task(
        name, family="benchmarks", load=_loader(subtask, chain_of_thought, name),
        extract=text_only(extract_bbh_cot_answer if chain_of_thought else extract_bbh_direct_answer),
        until=("\n\nQ:", "\n\n") if chain_of_thought else ("\n",), max_tokens=512 if chain_of_thought else 32,
        metrics=("exact_match",), normalizers=("strip",),
        spec={"benchmark": "bbh", "subtask": subtask, "mode": mode,
              "prompt": "cot-prompts verbatim" if chain_of_thought else "cot-prompts exemplars, final answers only",
              "extraction": "after last 'So the answer is ', final period removed" if chain_of_thought
              else "first line", "code_hash": sha256_hex(Path(__file__).read_text(encoding="utf-8"))[:16]})


def _factory(chain_of_thought: bool):
    def make(variant: str | None) -> Task:

        if variant is None:
            mode = "cot" if chain_of_thought else "direct"
            raise AssayError(f"--task bbh_{mode}: name a subtask, e.g. bbh_{mode}:boolean_expressions "
                             "(see `assay list tasks`)")
        return bbh_task(variant, chain_of_thought)
    return make


register_task("bbh_cot", family="benchmarks", description="BIG-Bench Hard, 3-shot chain-of-thought, exact match",
              variants=BBH_TASKS)(_factory(True))
register_task("bbh_direct", family="benchmarks", description="BIG-Bench Hard, 3-shot direct answer, exact match",
              variants=BBH_TASKS)(_factory(False))
