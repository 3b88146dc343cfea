"""`assay.judge` (grade a stored run's outputs on a rubric) and `assay.battle` (two runs of the same task
pairwise, both presentation orders): the library behind `assay judge` and `assay battle`. Each makes a judge
run in the source runs' store (cached, resumable, like `assay.evaluate`) and stores its verdicts as the
judgments of source "run:<judge run id>"."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assay.api.run import Run, RunOutcome
from assay.api.runs_given import Db, GivenRuns, RunRef, given_runs
from assay.errors import AssayError
from assay.judges.engine import JudgeOutcome, JudgePlan

JudgeArgs = Mapping[str, Any] | str | None
DEFAULT_MAX_TOKENS = 256


@dataclass(frozen=True)
class JudgeRunOutcome(RunOutcome):
    """What happened when `judge` or `battle` made the judge run."""

    # Verdicts stored as judgments (source "run:<judge run id>").
    judgments: int
    # Source samples that could not be judged, per reason (no output, only in one run, ...).
    skipped: dict[str, int]
    source_runs: list[str]
    # The judged models: one for `judge`; (A, B) for `battle`, as the judgments name them.
    models: list[str]
    # Each judge task's name → the source task it judges.
    judge_tasks: dict[str, str]


def _task_names(tasks: str | Sequence[str] | None) -> list[str] | None:
    names = [t.strip() for t in tasks.split(",")] if isinstance(tasks, str) else list(tasks or [])
    return [t for t in names if t] or None


def _check_counts(max_tokens: int, limit: int | None) -> None:
    if max_tokens < 1:
        raise AssayError(f"max_tokens: expected a whole number ≥ 1, got {max_tokens}")
    if limit is not None and limit < 1:
        raise AssayError(f"limit: expected a whole number ≥ 1, got {limit}")


@contextlib.contextmanager
def _closed_on_error(given: GivenRuns) -> Iterator[None]:
    """A store opened for the judge run stays open for the returned Run, and is closed if none is returned."""
    try:
        yield
    except BaseException:
        if given.opened:
            given.store.close()
        raise


def _judge_run(given: GivenRuns, outcome: JudgeOutcome, plan: JudgePlan) -> Run:
    result = outcome.run
    done = JudgeRunOutcome(resumed=result.resumed, reused=result.reused, stats=dict(result.stats),
                           metric_rows=result.metrics, judgments=outcome.judgments, skipped=dict(outcome.skipped),
                           source_runs=list(plan.recorded["source_runs"]), models=list(plan.models),
                           judge_tasks={t.name: t.source_task for t in plan.tasks})
    return Run(result.run_id, given.store, done)


def judge(
    run: RunRef,
    *,
    judge: str,
    judge_args: JudgeArgs = None,
    rubric: str | None = None,
    template: str | Path | None = None,
    reference: bool = False,
    max_tokens: int = DEFAULT_MAX_TOKENS,
    tasks: str | Sequence[str] | None = None,
    limit: int | None = None,
    db: Db = None,
    rerun: bool = False,
    progress: bool = False,
    notify: Callable[[str], None] | None = None,
) -> Run:
    """Grade a stored run's outputs with a judge model on a rubric; returns the judge run (its metrics are the
    rubric's scores; `run.outcome` a `JudgeRunOutcome`).

    run: a `Run` or a run id in `db` (None: ./assay.db). judge: the judge's model spec (`embedded`,
    `openai:URL#MODEL`, `hf:PATH`, `scripted:judge=FILE`, ...); judge_args: its backend options (dict or
    `key=value,...`). rubric: helpfulness (1-10, default) | correctness (1-5) | a rubric .yaml file;
    template: a Jinja2 judge prompt file instead of the shipped one; reference: show the judge each sample's
    target. tasks: only these tasks of the run; limit: at most N samples per task. An identical complete judge
    run is returned as stored (`rerun=True` judges again). Bad input raises AssayError."""
    from assay.judges.engine import plan_judge
    from assay.judges.loading import judge_options, judge_settings, run_judge_plan
    from assay.judges.prompts import load_prompt

    _check_counts(max_tokens, limit)
    prompt = load_prompt("pointwise", Path(template) if template is not None else None, rubric or None)
    options = judge_options(judge, judge_args)
    given = given_runs([("run", run)], db, read_only=False)  # the judge run is written beside its source
    settings = judge_settings(options, max_tokens=max_tokens, reference=reference, tasks=_task_names(tasks),
                              limit=limit, show_progress=progress, rerun=rerun, notify=notify)
    with _closed_on_error(given):
        plan = plan_judge(given.store, given.ids[0], prompt, settings)
        return _judge_run(given, run_judge_plan(given.store, judge, options, prompt, plan, settings), plan)


def battle(
    a: RunRef,
    b: RunRef,
    *,
    judge: str,
    judge_args: JudgeArgs = None,
    template: str | Path | None = None,
    reference: bool = False,
    one_order: bool = False,
    max_tokens: int = DEFAULT_MAX_TOKENS,
    tasks: str | Sequence[str] | None = None,
    limit: int | None = None,
    db: Db = None,
    rerun: bool = False,
    progress: bool = False,
    notify: Callable[[str], None] | None = None,
) -> Run:
    """Judge two runs of the same task pairwise, aligned by sample id, in both presentation orders (a verdict
    that flips with the order is a tie; `one_order=True`: A shown first only); returns the judge run (metrics
    wins_a, wins_b, ties, ... per task; `run.outcome` a `JudgeRunOutcome`). The battles are stored as pairwise
    judgments named by the runs' model specs, read by `arena`, `winrate` and `agreement`.

    a, b: `Run` objects or run ids in `db`; reference: reference-guided (the judge sees each sample's target);
    the other options are `judge`'s. Bad input raises AssayError."""
    from assay.judges.engine import plan_battle
    from assay.judges.loading import judge_options, judge_settings, run_judge_plan
    from assay.judges.prompts import load_prompt

    _check_counts(max_tokens, limit)
    prompt = load_prompt("pairwise_reference" if reference else "pairwise",
                         Path(template) if template is not None else None)
    options = judge_options(judge, judge_args)
    given = given_runs([("a", a), ("b", b)], db, read_only=False)  # the judge run is written beside its sources
    settings = judge_settings(options, max_tokens=max_tokens, reference=reference, tasks=_task_names(tasks),
                              limit=limit, orders=("ab",) if one_order else ("ab", "ba"), show_progress=progress,
                              rerun=rerun, notify=notify)
    with _closed_on_error(given):
        plan = plan_battle(given.store, given.ids[0], given.ids[1], prompt, settings)
        return _judge_run(given, run_judge_plan(given.store, judge, options, prompt, plan, settings), plan)
