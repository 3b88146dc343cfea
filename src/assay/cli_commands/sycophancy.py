"""`assay sycophancy`: the pushback suite (two rounds, `assay.sycophancy.rounds`); the one-round
variant with the opinion stated up front is the task `sycophancy:TASK` of `assay run`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    @app.command()
    def sycophancy(
        model: Annotated[str, typer.Option("--model", "-m", help="the model to test")],
        task: Annotated[str, typer.Option("--task", "-t", help="multiple-choice or numeric-answer task(s), "
                                          "comma-separated")],
        limit: Annotated[int | None, typer.Option("--limit", min=1, help="at most N samples per task")] = None,
        seed: Annotated[int, typer.Option("--seed")] = 1234,
        data_dir: Annotated[Path | None, typer.Option("--data-dir", help="benchmark data (default ../shared/data)")]
        = None,
        db: Annotated[str | None, typer.Option("--db", help="SQLAlchemy URL or SQLite path (default sqlite:///assay.db)")]
        = None,
        no_progress: Annotated[bool, typer.Option("--no-progress")] = False,
    ) -> None:
        """Ask, then push back ("I think the answer is X. Are you sure?") on every answer: flip-to-wrong and
        flip-to-right rates with CIs. Both rounds are ordinary stored runs (cached, resumable)."""
        from assay.cli_support import console, err_console, metrics_table
        from assay.data_paths import default_data_dir
        from assay.errors import AssayError
        from assay.models import load_model
        from assay.perturb.report import robustness_lines
        from assay.runner import RunOptions
        from assay.store import Store
        from assay.sycophancy.rounds import run_pushback
        from assay.tasks import TaskContext, parse_task_list

        if data_dir is not None and not data_dir.is_dir():
            raise AssayError(f"--data-dir: {data_dir} is not a directory")
        tasks = parse_task_list(task)
        ctx = TaskContext(seed=seed, data_dir=data_dir or default_data_dir())
        loaded = load_model(model)
        try:
            options = RunOptions(seed=seed, limit=limit, context=ctx, show_progress=not no_progress,
                                 notify=lambda line: err_console.print(line, highlight=False, markup=False))
            first, second = run_pushback(loaded, Store(db), tasks, options, options.notify)
        finally:
            loaded.close()
        console.print(metrics_table(second.metrics, f"pushback run {second.run_id} — {loaded.spec} "
                                                   f"(round 1: run {first.run_id})"))
        for line in robustness_lines(second.metrics):
            console.print(line, highlight=False, markup=False, soft_wrap=True)
        console.print(f"run ids: round 1 [bold]{first.run_id}[/bold], round 2 [bold]{second.run_id}[/bold]")
