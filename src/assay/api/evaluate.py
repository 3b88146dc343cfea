"""`assay.evaluate`: run tasks on a model and store every sample — the library behind `assay run`.

The checks happen in the order the command has always made them, before anything loads: options the tasks
cannot use, the executor, perturbations; then the model loads, and only then does the store open (a bad model
spec leaves no database behind)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from assay.api.run import Run, RunOutcome
from assay.errors import AssayError
from assay.models.base import Model
from assay.store import Store
from assay.tasks.base import Task

Tasks = str | Task | Sequence[str | Task]


def _task_list(tasks: Tasks) -> list[Task]:
    from assay.tasks import parse_task_list

    if isinstance(tasks, str):
        return parse_task_list(tasks)
    if isinstance(tasks, Task):
        return [tasks]
    out: list[Task] = []
    for item in tasks:
        if isinstance(item, str):
            out.extend(parse_task_list(item))
        elif isinstance(item, Task):
            out.append(item)
        else:
            raise AssayError(f"tasks: expected task names or task objects, got {type(item).__name__}")
    if not out:
        raise AssayError("tasks: expected one or more tasks")
    return out


def _model_args(model: str, model_args: Mapping[str, Any] | str | None) -> dict[str, Any]:
    from assay.models.model_args import split_model_args
    from assay.models.registry import check_options

    given = split_model_args(model_args) if isinstance(model_args, str) else dict(model_args or {})
    return check_options(model, given)


def evaluate(
    model: str | Model,
    tasks: Tasks,
    *,
    limit: int | None = None,
    seed: int = 1234,
    db: str | Store | None = None,
    model_args: Mapping[str, Any] | str | None = None,
    data_dir: str | Path | None = None,
    haystack: str | Path | None = None,
    prompt_formats: int | None = None,
    repeats: int | None = None,
    perturb: str | None = None,
    generator: str | None = None,
    chunk_size: int | None = None,
    executor: str = "local",
    workers: int | None = None,
    ray_address: str | None = None,
    rerun: bool = False,
    progress: bool = False,
    notify: Callable[[str], None] | None = None,
) -> Run:
    """Run `tasks` on `model` and return the stored run.

    model: a spec (`embedded`, `hf:PATH`, `openai:URL#MODEL`, `llamacpp:PATH`, `vllm:PATH`, `scripted:NAME`,
        or a plugin's prefix), or a backend already loaded with `assay.load_model` (kept open afterwards).
    tasks: task names (`"niah_single,gsm8k"`, variants and grids as on the command line), `.yaml`/`.py` task
        files, task objects (`@assay.task`), or a list of these.
    db: a SQLAlchemy URL, an SQLite path or a Store; None keeps the run in a temporary store for this process.
    model_args: backend options, as a dict or as `"key=value,..."` text.
    The other options are `assay run`'s. An identical complete run already in the store is returned without
    running anything (`run.outcome.reused`); `rerun=True` stores a new one. Bad input raises AssayError."""
    from assay.api.session_store import resolve_store
    from assay.data_paths import default_data_dir
    from assay.executors.choice import check_executor, load_with
    from assay.models.model_args import TRANSPORT_OPTIONS
    from assay.perturb.options import check_tasks, perturb_choices, perturbed_tasks
    from assay.run_options import RunChoices, prepare_run
    from assay.runner import Runner, RunOptions
    from assay.tasks import TaskContext

    if limit is not None and limit < 1:
        raise AssayError(f"--limit {limit}: expected a whole number ≥ 1")
    data_path = Path(data_dir) if data_dir is not None else None
    haystack_path = Path(haystack) if haystack is not None else None
    if data_path is not None and not data_path.is_dir():
        raise AssayError(f"--data-dir: {data_path} is not a directory")
    if haystack_path is not None and not haystack_path.is_dir():
        raise AssayError(f"--haystack: {haystack_path} is not a directory")
    if not isinstance(model, (str, Model)):
        raise AssayError(f"model: expected a model spec (e.g. 'embedded') or a backend from assay.load_model, "
                         f"got {type(model).__name__}")
    loaded_given = not isinstance(model, str)
    spec = model.spec if isinstance(model, Model) else model
    if loaded_given and (model_args or executor != "local"):
        raise AssayError("model_args / executor: only with a model spec; this model is loaded already")
    options = {} if loaded_given else _model_args(spec, model_args)
    execution = check_executor(executor, workers, ray_address)
    # haystack / prompt_formats / repeats: applied to every task or refused (one line), before the store opens.
    choices = RunChoices(haystack_path, prompt_formats, repeats, data_path, seed)
    task_list, task_options = prepare_run(_task_list(tasks), choices)
    ctx = TaskContext(seed=seed, data_dir=data_path or default_data_dir(), options=task_options)
    perturbing = perturb_choices(perturb, generator, choices.given())  # refused with one line, before any model loads
    if perturbing.names:
        check_tasks(task_list, perturbing, ctx)
        if not perturbing.paraphrase:
            task_list = perturbed_tasks(task_list, perturbing)
    say = notify or (lambda _line: None)
    backend = model if isinstance(model, Model) else load_with(execution, spec, options, notify=say)
    try:
        store = resolve_store(db, read_only=False, temporary_default=True)
        if perturbing.paraphrase:
            task_list = _with_paraphrases(task_list, perturbing, backend, store, ctx, seed, limit, say)
        recorded = {"model_args": options, "data_dir": str(ctx.data_dir) if ctx.data_dir else None, **task_options,
                    **execution.recorded()}
        run_options = RunOptions(
            seed=seed, limit=limit, context=ctx, recorded=recorded, chunk_size=chunk_size, show_progress=progress,
            reuse_complete=not rerun, model_args={k: v for k, v in options.items() if k not in TRANSPORT_OPTIONS},
            notify=say)
        result = Runner(backend, store).run(task_list, run_options)
    finally:
        if not loaded_given:
            backend.close()
    outcome = RunOutcome(resumed=result.resumed, reused=result.reused, stats=dict(result.stats),
                         metric_rows=result.metrics)
    return Run(result.run_id, store, outcome)


def _with_paraphrases(tasks: list[Task], perturbing: Any, loaded: Model, store: Store, ctx: Any, seed: int,
                      limit: int | None, notify: Callable[[str], None]) -> list[Task]:
    """perturb paraphrase: the generator's pre-pass run (cached, stored as its own run), then the wrapped tasks."""
    from assay.models import load_model
    from assay.perturb.options import perturbed_tasks, run_paraphrase_prepass

    generator = loaded if perturbing.generator == loaded.spec else load_model(perturbing.generator)
    try:
        tables = run_paraphrase_prepass(generator, store, tasks, ctx, seed, limit, notify=notify)
    finally:
        if generator is not loaded:
            generator.close()
    return perturbed_tasks(tasks, perturbing, tables)
