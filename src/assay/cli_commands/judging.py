"""`assay judge RUN` (grade a stored run's outputs on a rubric) and `assay battle RUN_A RUN_B` (judge two runs
of the same task pairwise, both presentation orders): a judge is any model spec (`--judge`, `--judge-args`
as `--model-args`); the library is `assay.judges.engine`."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any

import typer

from assay.errors import AssayError

JudgeOption = Annotated[str, typer.Option("--judge", help="the judge's model spec: embedded | openai:URL#MODEL | "
                                          "hf:PATH | llamacpp:PATH | scripted:judge=FILE")]
JudgeArgsOption = Annotated[str | None, typer.Option("--judge-args", help="judge backend options key=value,... "
                                                     "(as --model-args)")]
TemplateOption = Annotated[Path | None, typer.Option("--template", help="a Jinja2 judge prompt file instead of the "
                                                     "shipped one")]
MaxTokensOption = Annotated[int, typer.Option("--max-tokens", min=1, help="tokens per judge reply")]
TaskOption = Annotated[str | None, typer.Option("--task", "-t", help="judge only these tasks (comma-separated)")]
LimitOption = Annotated[int | None, typer.Option("--limit", min=1, help="at most N samples per task")]
DbOption = Annotated[str | None, typer.Option("--db", help="SQLAlchemy URL or SQLite path (default sqlite:///assay.db)")]
RerunOption = Annotated[bool, typer.Option("--rerun", help="store a new judge run even if an identical one exists")]
_FLAG = re.compile(r"^--model(-args)?\b")


def _as_judge_flag(message: str) -> str:
    """Backend errors name --model / --model-args; here the user typed --judge / --judge-args."""
    return _FLAG.sub(lambda m: "--judge-args" if m.group(1) else "--judge", message)


def _judge_options(spec: str, judge_args: str | None) -> dict[str, Any]:
    from assay.models.model_args import split_model_args
    from assay.models.registry import check_options

    try:
        return check_options(spec, split_model_args(judge_args or ""))
    except AssayError as exc:
        raise AssayError(_as_judge_flag(str(exc))) from None


def _load_judge(spec: str, options: dict[str, Any]) -> Any:
    from assay.models import load_model

    try:
        return load_model(spec, **options)
    except AssayError as exc:
        raise AssayError(_as_judge_flag(str(exc))) from None


def _settings(options: dict[str, Any], **values: Any) -> Any:
    from assay.cli import err_console
    from assay.judges.engine import JudgeSettings
    from assay.models.model_args import TRANSPORT_OPTIONS

    return JudgeSettings(model_args={k: v for k, v in options.items() if k not in TRANSPORT_OPTIONS},
                         notify=lambda line: err_console.print(line, highlight=False, markup=False), **values)


def _tasks(task: str | None) -> list[str] | None:
    return [t.strip() for t in task.split(",") if t.strip()] if task else None


def _execute(store: Any, judge: str, options: dict[str, Any], prompt: Any, plan: Any, settings: Any) -> Any:
    from assay.cli import _resume_command, _terminate_as_interrupt, err_console
    from assay.judges.engine import execute
    from assay.runner import RunInterrupted

    model = _load_judge(judge, options)
    try:
        with _terminate_as_interrupt():
            return execute(store, model, prompt, plan, settings)
    except RunInterrupted as exc:
        err_console.print(f"{exc}; stored as interrupted. Resume with: {_resume_command()}", highlight=False, markup=False)
        raise typer.Exit(exc.exit_code) from None
    except AssayError as exc:  # an unreachable judge (exit code 1, the run kept) is named as the user named it
        exc.args = (_as_judge_flag(str(exc)),)
        raise
    finally:
        model.close()


def _metric(metrics: list[dict[str, Any]], task: str, name: str) -> Any:
    return next((m["value"] for m in metrics if m["task"] == task and m["name"] == name), None)


def _count(value: Any) -> int:
    return int(value or 0)


def _print(outcome: Any, plan: Any, title: str, summary_lines: list[str], json_output: bool) -> None:
    from assay.cli import _json_out, console, metrics_table

    result = outcome.run
    if json_output:
        _json_out({"id": result.run_id, "source": f"run:{result.run_id}", "source_runs": plan.recorded["source_runs"],
                   "models": plan.models, "resumed": result.resumed,
                   "reused": result.reused, "judgments": outcome.judgments, "skipped": outcome.skipped,
                   "metrics": result.metrics, "stats": result.stats})
        return
    console.print(metrics_table(result.metrics, title))
    for line in summary_lines:
        console.print(line, highlight=False, markup=False)
    skipped = {k: v for k, v in outcome.skipped.items() if v}
    if skipped:
        console.print("not judged (no output to judge): " + ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in skipped.items()),
                      highlight=False, markup=False)
    if result.stats.get("request_errors"):
        console.print(f"{result.stats['request_errors']} judge requests failed after retries: stored as errors, "
                      "not scored", highlight=False, markup=False)
    state = " (resumed)" if result.resumed else " (identical judge run, stored before; --rerun to run again)" \
        if result.reused else ""
    console.print(f"judge run id: {result.run_id}{state}; {outcome.judgments} judgments stored as run:{result.run_id}",
                  highlight=False, markup=False)


def _judge_errors_line(metrics: list[dict[str, Any]], task: str) -> str:
    return (f"judge errors: {_count(_metric(metrics, task, 'n_judge_errors'))} unreadable replies after one re-ask "
            f"(not scored); re-asked {_count(_metric(metrics, task, 'n_reasked'))}, "
            f"of which {_count(_metric(metrics, task, 'n_reask_recovered'))} readable the second time")


def register(app: typer.Typer) -> None:
    @app.command()
    def judge(
        run_id: Annotated[str, typer.Argument(metavar="RUN", help="the run whose outputs are graded")],
        judge: JudgeOption,
        judge_args: JudgeArgsOption = None,
        rubric: Annotated[str | None, typer.Option("--rubric", help="helpfulness (1-10, default) | correctness "
                                                   "(1-5) | a rubric .yaml file")] = None,
        template: TemplateOption = None,
        reference: Annotated[bool, typer.Option("--reference", help="show the judge each sample's target as a "
                                                "reference answer")] = False,
        max_tokens: MaxTokensOption = 256,
        task: TaskOption = None,
        limit: LimitOption = None,
        db: DbOption = None,
        no_progress: Annotated[bool, typer.Option("--no-progress")] = False,
        rerun: RerunOption = False,
        json_output: Annotated[bool, typer.Option("--json", help="machine-readable JSON output")] = False,
    ) -> None:
        """Grade a stored run's outputs with a judge model on a rubric: a judge run linked to the source run
        (same cache, resume and store as `assay run`); its verdicts are stored as judgments."""
        from assay.cli import _store
        from assay.judges.engine import plan_judge
        from assay.judges.prompts import load_prompt

        prompt = load_prompt("pointwise", template, rubric or None)
        options = _judge_options(judge, judge_args)
        store = _store(db, read_only=False, must_exist=True)  # the runs must exist; the judge run is written there
        settings = _settings(options, max_tokens=max_tokens, reference=reference, tasks=_tasks(task), limit=limit,
                             show_progress=not no_progress and not json_output, rerun=rerun)
        plan = plan_judge(store, run_id, prompt, settings)
        outcome = _execute(store, judge, options, prompt, plan, settings)
        metrics = outcome.run.metrics
        lines = [f"{t.name}: {_judge_errors_line(metrics, t.name)}" for t in plan.tasks]
        _print(outcome, plan, f"judge run {outcome.run.run_id} — {judge} grading run {plan.recorded['source_runs'][0]}",
               lines, json_output)

    @app.command()
    def battle(
        run_a: Annotated[str, typer.Argument(metavar="RUN_A", help="run id (or unique prefix): model A")],
        run_b: Annotated[str, typer.Argument(metavar="RUN_B", help="run id (or unique prefix): model B")],
        judge: JudgeOption,
        judge_args: JudgeArgsOption = None,
        template: TemplateOption = None,
        reference: Annotated[bool, typer.Option("--reference", help="reference-guided: show the judge each "
                                                "sample's target")] = False,
        one_order: Annotated[bool, typer.Option("--one-order", help="judge only with A shown first (default: both "
                                                "orders, a verdict that flips is a tie)")] = False,
        max_tokens: MaxTokensOption = 256,
        task: TaskOption = None,
        limit: LimitOption = None,
        db: DbOption = None,
        no_progress: Annotated[bool, typer.Option("--no-progress")] = False,
        rerun: RerunOption = False,
        json_output: Annotated[bool, typer.Option("--json", help="machine-readable JSON output")] = False,
    ) -> None:
        """Judge two runs of the same task pairwise, aligned by sample id, in both presentation orders; the
        battles are stored as pairwise judgments (model_a/model_b = the runs' model specs)."""
        from assay.cli import _store
        from assay.judges.engine import plan_battle
        from assay.judges.prompts import load_prompt

        prompt = load_prompt("pairwise_reference" if reference else "pairwise", template)
        options = _judge_options(judge, judge_args)
        store = _store(db, read_only=False, must_exist=True)  # the runs must exist; the judge run is written there
        settings = _settings(options, max_tokens=max_tokens, reference=reference, tasks=_tasks(task), limit=limit,
                             orders=("ab",) if one_order else ("ab", "ba"),
                             show_progress=not no_progress and not json_output, rerun=rerun)
        plan = plan_battle(store, run_a, run_b, prompt, settings)
        outcome = _execute(store, judge, options, prompt, plan, settings)
        metrics = outcome.run.metrics
        lines = [f"A = {plan.models[0]}  B = {plan.models[1]}  judge = {judge}"]
        for t in plan.tasks:
            get = lambda name, task=t.name: _count(_metric(metrics, task, name))  # noqa: E731
            lines.append(f"{t.source_task}: A wins {get('wins_a')}, B wins {get('wins_b')}, ties {get('ties')} "
                         f"(of which {get('n_position_inconsistent')} position inconsistencies: the verdict flipped "
                         f"with the order); {get('n_pairs_with_judge_error')} pairs without a verdict")
            lines.append(f"{t.source_task}: {_judge_errors_line(metrics, t.name)}")
        _print(outcome, plan, f"battle run {outcome.run.run_id} — {plan.models[0]} (A) vs {plan.models[1]} (B), judge {judge}",
               lines, json_output)
