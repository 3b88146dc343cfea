"""The options of `assay run` that change what a task does — `--haystack DIR`, `--prompt-formats K`,
`--repeats N` — checked against what each task declares it can use (`Task.run_options()`). An
option is applied to every task or refused with one line naming the task; never silently ignored.

- `--haystack DIR`: every long-context task whose haystack is text (prose, noise) reads the user's
  documents instead; tasks that read no haystack, or whose variant fixes one, refuse it.
- `--prompt-formats K`: multiple-choice tasks run under the first K formats; others refuse it.
- `--repeats N`: each sample N times with sampled decoding (temperature 0.7, a seed per repeat);
  tasks scored by log-likelihood refuse it (every repeat would send the same requests).
- `--data-dir DIR`: refused when no task of the run reads a file under it (found by reading the
  tasks' data, `assay.manifest.task_specs_with_data`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assay.errors import AssayError
from assay.tasks.base import Task, TaskContext

HAYSTACK = "haystack"
PROMPT_FORMATS = "prompt_formats"
REPEATS = "repeats"

_WHY = {
    HAYSTACK: "only long-context tasks whose haystack is prose, noise or docs (not fixed by the variant) read one",
    PROMPT_FORMATS: "it is not a multiple-choice task",
    REPEATS: "it is scored by log-likelihood, so every repeat would send the same requests",
}


@dataclass(frozen=True)
class RunChoices:
    haystack: Path | None = None
    prompt_formats: int | None = None
    repeats: int | None = None
    # Only when given on the command line (the default data folder is never refused).
    data_dir: Path | None = None
    seed: int = 1234

    def given(self) -> dict[str, str]:
        """{option: how the user wrote it} for the options that were given."""
        out = {}
        if self.haystack is not None:
            out[HAYSTACK] = f"--haystack {self.haystack}"
        if self.prompt_formats is not None:
            out[PROMPT_FORMATS] = f"--prompt-formats {self.prompt_formats}"
        if self.repeats is not None:
            out[REPEATS] = f"--repeats {self.repeats}"
        return out


def check_run_options(tasks: Sequence[Task], choices: RunChoices) -> None:
    """One-line AssayError for the first option a task cannot use (and for bad values)."""
    given = choices.given()
    if REPEATS in given and PROMPT_FORMATS in given:
        raise AssayError("--repeats: cannot be combined with --prompt-formats (log-likelihood formats would send "
                         "the same requests on every repeat); run them separately")
    for task in tasks:
        supported = task.run_options()
        for option, written in given.items():
            if option not in supported:
                raise AssayError(f"{written}: task {task.name} cannot use it: {_WHY[option]}")
    if choices.prompt_formats is not None:
        from assay.tasks.benchmarks.prompt_formats import sensitivity_formats

        sensitivity_formats(choices.prompt_formats)
    if choices.haystack is not None:
        from assay.tasks.longctx.haystack import docs_haystack

        docs_haystack(choices.haystack)  # every file readable UTF-8 text, before a model is loaded


def prepare_run(tasks: Sequence[Task], choices: RunChoices) -> tuple[list[Task], dict[str, Any]]:
    """Check the options, then (the tasks to run, the TaskContext options they set)."""
    check_run_options(tasks, choices)
    options: dict[str, Any] = {}
    if choices.haystack is not None:
        options["haystack_dir"] = str(choices.haystack.resolve())
    if choices.prompt_formats is not None:
        options["prompt_formats"] = choices.prompt_formats
    if choices.repeats is not None:
        from assay.tasks.repeated import RepeatedTask

        tasks = [RepeatedTask(task, choices.repeats) for task in tasks]
    if choices.data_dir is not None:
        _check_data_dir_read(tasks, choices.data_dir, TaskContext(seed=choices.seed, data_dir=choices.data_dir,
                                                                  options=dict(options)))
    return list(tasks), options


def _check_data_dir_read(tasks: Sequence[Task], data_dir: Path, ctx: TaskContext) -> None:
    from assay.manifest import task_specs_with_data

    specs = task_specs_with_data(tasks, ctx)
    if not any(label.startswith("data_dir:") for spec in specs.values() for label in spec["data_sha256"]):
        raise AssayError(f"--data-dir {data_dir}: no task of this run reads a file from it "
                         f"({', '.join(specs)}); leave it out")
