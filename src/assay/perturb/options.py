"""`--perturb NAMES` and `--generator SPEC` on `assay run` and `assay suite dump`: checked against
every task (one line naming the task when a perturbation cannot apply to it), then each task wrapped
in a `PerturbedTask`. `paraphrase` first runs the generator over the originals (`paraphrase_tables`)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

from assay.errors import AssayError
from assay.perturb import FIXED, PARAPHRASE, parse_perturb
from assay.perturb.base import Perturbation, PerturbationError, question_text
from assay.perturb.paraphrase import ParaphraseTask, paraphrase_perturbation
from assay.perturb.task import PerturbedTask
from assay.tasks.base import Task, TaskContext


@dataclasses.dataclass(frozen=True)
class PerturbChoices:
    names: tuple[str, ...] = ()
    generator: str | None = None

    @property
    def paraphrase(self) -> bool:
        return PARAPHRASE in self.names


def perturb_choices(perturb: str | None, generator: str | None, other_options: dict[str, str]) -> PerturbChoices:
    """Validate the two options together (and refuse the run options they cannot be combined with)."""
    if perturb is None:
        if generator is not None:
            raise AssayError("--generator: only --perturb paraphrase uses a generator model")
        return PerturbChoices()
    names = tuple(parse_perturb(perturb))
    if other_options:
        raise AssayError(f"--perturb: cannot be combined with {', '.join(other_options.values())}; run them separately")
    if PARAPHRASE in names and generator is None:
        raise AssayError("--perturb paraphrase: needs --generator SPEC (the model that rewrites the questions)")
    if PARAPHRASE not in names and generator is not None:
        raise AssayError(f"--generator: only the paraphrase perturbation uses it, not {perturb}")
    return PerturbChoices(names, generator)


def check_tasks(tasks: Sequence[Task], choices: PerturbChoices, ctx: TaskContext) -> None:
    """Refuse, with one line, a task whose (first) sample a perturbation cannot change."""
    for task in tasks:
        first = next(iter(task.samples(ctx)), None)
        if first is None:
            raise AssayError(f"--perturb: task {task.name} has no samples")
        if "base_id" in first.metadata:
            raise AssayError(f"--perturb: task {task.name} cannot use it: its samples are already paired copies "
                             "(a suite such as sycophancy); perturb the plain task")
        for name in choices.names:
            needs_choices = name in FIXED and FIXED[name].needs_choices
            try:
                if needs_choices and (not first.choices or not isinstance(first.target, int)):
                    raise PerturbationError("it is not a multiple-choice task (no choices with a target index)")
                if not needs_choices:
                    question_text(first)
            except PerturbationError as exc:
                reason = str(exc).removeprefix(f"sample {first.id}: ")
                raise AssayError(f"--perturb {name}: task {task.name} cannot use it: {reason}") from None


def perturbed_tasks(tasks: Sequence[Task], choices: PerturbChoices,
                    paraphrases: dict[str, dict[str, str]] | None = None) -> list[Task]:
    out: list[Task] = []
    for task in tasks:
        perturbations: list[Perturbation] = []
        for name in choices.names:
            if name == PARAPHRASE:
                perturbations.append(paraphrase_perturbation((paraphrases or {}).get(task.name, {})))
            else:
                perturbations.append(FIXED[name])
        out.append(PerturbedTask(task, perturbations, choices.generator if choices.paraphrase else None))
    return out


def paraphrase_tables(run: Callable[[list[Task]], tuple[str, Any]], tasks: Sequence[Task]) -> dict[str, dict[str, str]]:
    """Run the paraphrase pre-pass (`run(tasks) -> (run id, store)`, the caller's runner with the
    generator model) and read back {task: {original id: rewrite}} from the stored samples."""
    pre = [ParaphraseTask(task) for task in tasks]
    run_id, store = run(list(pre))
    tables: dict[str, dict[str, str]] = {}
    for task, pre_task in zip(tasks, pre, strict=True):
        rows = store.iter_samples(run_id, pre_task.name, columns=("sample_id", "extracted", "error_kind"))
        tables[task.name] = {r["sample_id"]: r["extracted"] or "" for r in rows if r["error_kind"] is None}
    return tables


def run_paraphrase_prepass(generator: Any, store: Any, tasks: Sequence[Task], ctx: TaskContext, seed: int,
                           limit: int | None, notify: Callable[[str], None] | None = None) -> dict[str, dict[str, str]]:
    """The pre-pass through the ordinary runner (requests cached; an identical complete pre-pass is reused)."""
    from assay.runner import Runner, RunOptions

    def run(pre: list[Task]) -> tuple[str, Any]:
        options = RunOptions(seed=seed, limit=limit, context=dataclasses.replace(ctx, tokenizer=None, max_context=None,
                                                                                 options=dict(ctx.options)),
                             show_progress=False, reuse_complete=True, recorded={"purpose": "paraphrase pre-pass"},
                             notify=notify)
        result = Runner(generator, store).run(pre, options)
        if notify is not None:
            notify(f"paraphrases: run {result.run_id} ({generator.spec})")
        return result.run_id, store

    return paraphrase_tables(run, tasks)
