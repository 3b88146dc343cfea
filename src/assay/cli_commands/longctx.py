"""Long-context commands: `assay suite dump` (a generated suite as JSONL) and `assay heatmap RUN`
(the length×depth heatmap PNG and effective context length of a stored run)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from assay.errors import AssayError


def register(app: typer.Typer) -> None:
    suite = typer.Typer(help="generated long-context suites", no_args_is_help=True)
    app.add_typer(suite, name="suite")

    @suite.command("dump")
    def dump(
        task: Annotated[str, typer.Option("--task", "-t", help="long-context task name(s), comma-separated")] = "longctx_quick",
        output: Annotated[Path, typer.Option("-o", "--output", help="the .jsonl file to write")] = Path("suite.jsonl"),
        seed: Annotated[int, typer.Option("--seed")] = 1234,
        model: Annotated[str | None, typer.Option("--model", "-m", help="size prompts with this model's tokenizer "
                                                  "(default: the regex-wordpiece-v1 fallback)")] = None,
        haystack: Annotated[Path | None, typer.Option("--haystack", help="folder of .txt/.md files")] = None,
        max_context: Annotated[int | None, typer.Option("--max-context", min=1, help="reject longer targets")] = None,
    ) -> None:
        """Generate a suite deterministically and write it as JSONL (same seed → identical bytes)."""
        from rich.console import Console

        from assay.tasks import TaskContext, parse_task_list
        from assay.tasks.longctx.suite import dump_suite

        if haystack is not None and not haystack.is_dir():
            raise AssayError(f"--haystack: {haystack} is not a directory")
        if not output.expanduser().resolve().parent.is_dir():
            raise AssayError(f"-o {output}: folder {output.parent} does not exist")
        from assay.run_options import RunChoices, prepare_run

        tasks, options = prepare_run(parse_task_list(task), RunChoices(haystack=haystack))  # --haystack: used or refused
        ctx = TaskContext(seed=seed, max_context=max_context, options=options)
        loaded = None
        if model is not None:
            from assay.models import load_model

            loaded = load_model(model)
            ctx.tokenizer = loaded.tokenizer()
            ctx.max_context = max_context or loaded.max_context
        try:
            count = dump_suite(tasks, ctx, output)
        finally:
            if loaded is not None:
                loaded.close()
        Console().print(f"wrote {count} samples to {output}", highlight=False)

    @app.command()
    def heatmap(
        run_id: Annotated[str, typer.Argument(metavar="RUN")],
        db: Annotated[str | None, typer.Option("--db", help="SQLAlchemy URL or SQLite path (default sqlite:///assay.db)")] = None,
        out_dir: Annotated[Path, typer.Option("--out-dir", help="where PNGs go")] = Path("assay_out"),
    ) -> None:
        """Render a run's long-context heatmaps (PNG) and print the effective context length."""
        from rich.console import Console

        from assay.store import Store
        from assay.tasks.longctx.report import run_report_lines

        store = Store(db, read_only=True)
        run = store.get_run(run_id)
        lines = run_report_lines(store, run["id"], out_dir)
        if not lines:
            raise AssayError(f"heatmap: run {run['id']} has no long-context heatmap metrics")
        console = Console()
        for line in lines:
            console.print(line, highlight=False, markup=False, soft_wrap=True)
