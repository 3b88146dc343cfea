"""`assay judge RUN` (grade a stored run's outputs on a rubric) and `assay battle RUN_A RUN_B` (judge two runs
of the same task pairwise, both presentation orders): a judge is any model spec (`--judge`, `--judge-args`
as `--model-args`); the library is `assay.api.judging`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from assay.api.judging import JudgeRunOutcome
    from assay.api.run import Run

JudgeOption = Annotated[str, typer.Option("--judge", help="the judge's model spec: embedded | openai:URL#MODEL | "
                                          "hf:PATH | llamacpp:PATH | scripted:judge=FILE")]
JudgeArgsOption = Annotated[str | None, typer.Option("--judge-args", help="judge backend options key=value,... "
                                                     "(as --model-args)")]
TemplateOption = Annotated[Path | None, typer.Option("--template", help="a Jinja2 judge prompt file, or an installed "
                                                     "plugin's judge prompt by name, instead of the shipped one")]
MaxTokensOption = Annotated[int, typer.Option("--max-tokens", min=1, help="tokens per judge reply")]
TaskOption = Annotated[str | None, typer.Option("--task", "-t", help="judge only these tasks (comma-separated)")]
LimitOption = Annotated[int | None, typer.Option("--limit", min=1, help="at most N samples per task")]
DbOption = Annotated[str | None, typer.Option("--db", help="SQLAlchemy URL or SQLite path (default sqlite:///assay.db)")]
RerunOption = Annotated[bool, typer.Option("--rerun", help="store a new judge run even if an identical one exists")]
# How a judge run stopped by Ctrl-C or SIGTERM ends: stored as interrupted, the command to resume it printed.
INTERRUPTED = "{error}; stored as interrupted. Resume with: {command}"


def task_names(task: str | None) -> list[str] | None:
    return [t.strip() for t in task.split(",") if t.strip()] if task else None


def metric_value(metrics: list[dict[str, Any]], task: str, name: str) -> Any:
    return next((m["value"] for m in metrics if m["task"] == task and m["name"] == name), None)


def count(value: Any) -> int:
    return int(value or 0)


def judge_errors_line(metrics: list[dict[str, Any]], task: str) -> str:
    get = lambda name: count(metric_value(metrics, task, name))  # noqa: E731
    return (f"judge errors: {get('n_judge_errors')} unreadable replies after one re-ask (not scored); "
            f"re-asked {get('n_reasked')}, of which {get('n_reask_recovered')} readable the second time")


def _judge_outcome(run: Run) -> JudgeRunOutcome:
    from assay.api.judging import JudgeRunOutcome

    assert isinstance(run.outcome, JudgeRunOutcome)  # judge and battle always say how the judge run went
    return run.outcome


def _print(run: Run, title: str, summary_lines: list[str], json_output: bool) -> None:
    from assay.cli_support import console, json_out, metrics_table

    outcome = _judge_outcome(run)
    if json_output:
        json_out({"id": run.id, "source": f"run:{run.id}", "source_runs": outcome.source_runs,
                  "models": outcome.models, "resumed": outcome.resumed, "reused": outcome.reused,
                  "judgments": outcome.judgments, "skipped": outcome.skipped, "metrics": outcome.metric_rows,
                  "stats": outcome.stats})
        return
    console.print(metrics_table(outcome.metric_rows, title))
    for line in summary_lines:
        console.print(line, highlight=False, markup=False)
    skipped = {k: v for k, v in outcome.skipped.items() if v}
    if skipped:
        console.print("not judged (no output to judge): " + ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in skipped.items()),
                      highlight=False, markup=False)
    if outcome.stats.get("request_errors"):
        console.print(f"{outcome.stats['request_errors']} judge requests failed after retries: stored as errors, "
                      "not scored", highlight=False, markup=False)
    state = " (resumed)" if outcome.resumed else " (identical judge run, stored before; --rerun to run again)" \
        if outcome.reused else ""
    console.print(f"judge run id: {run.id}{state}; {outcome.judgments} judgments stored as run:{run.id}",
                  highlight=False, markup=False)


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
        from assay.api.judging import judge as judge_run
        from assay.cli_support import exit_when_interrupted, notify_line

        with exit_when_interrupted(INTERRUPTED):
            run = judge_run(run_id, judge=judge, judge_args=judge_args or None, rubric=rubric, template=template,
                            reference=reference, max_tokens=max_tokens, tasks=task_names(task), limit=limit, db=db,
                            rerun=rerun, progress=not no_progress and not json_output, notify=notify_line)
        outcome = _judge_outcome(run)
        lines = [f"{name}: {judge_errors_line(outcome.metric_rows, name)}" for name in outcome.judge_tasks]
        _print(run, f"judge run {run.id} — {judge} grading run {outcome.source_runs[0]}", lines, json_output)

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
        from assay.api.judging import battle as battle_runs
        from assay.cli_support import exit_when_interrupted, notify_line

        with exit_when_interrupted(INTERRUPTED):
            run = battle_runs(run_a, run_b, judge=judge, judge_args=judge_args or None, template=template,
                              reference=reference, one_order=one_order, max_tokens=max_tokens, tasks=task_names(task),
                              limit=limit, db=db, rerun=rerun, progress=not no_progress and not json_output,
                              notify=notify_line)
        outcome = _judge_outcome(run)
        metrics = outcome.metric_rows
        lines = [f"A = {outcome.models[0]}  B = {outcome.models[1]}  judge = {judge}"]
        for name, source_task in outcome.judge_tasks.items():
            get = lambda metric, task=name: count(metric_value(metrics, task, metric))  # noqa: E731
            lines.append(f"{source_task}: A wins {get('wins_a')}, B wins {get('wins_b')}, ties {get('ties')} "
                         f"(of which {get('n_position_inconsistent')} position inconsistencies: the verdict flipped "
                         f"with the order); {get('n_pairs_with_judge_error')} pairs without a verdict")
            lines.append(f"{source_task}: {judge_errors_line(metrics, name)}")
        _print(run, f"battle run {run.id} — {outcome.models[0]} (A) vs {outcome.models[1]} (B), judge {judge}",
               lines, json_output)
