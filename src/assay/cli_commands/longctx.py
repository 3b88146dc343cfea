"""Long-context commands: `assay suite dump` (a generated suite as JSONL) and `assay heatmap RUN`
(the length×depth heatmap PNG and effective context length of a stored run)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

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
        perturb: Annotated[str | None, typer.Option("--perturb", help="add perturbed copies (see assay run --perturb)")]
        = None,
        generator: Annotated[str | None, typer.Option("--generator", help="--perturb paraphrase's rewriting model")]
        = None,
        db: Annotated[str | None, typer.Option("--db", help="store of the paraphrase pre-pass (default assay.db)")]
        = None,
        limit: Annotated[int | None, typer.Option("--limit", min=1, help="at most N original samples per task")] = None,
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
        from assay.data_paths import default_data_dir
        from assay.perturb.options import check_tasks, perturb_choices

        perturbing = perturb_choices(perturb, generator, {})
        if perturbing.names:
            ctx.data_dir = default_data_dir()
            check_tasks(tasks, perturbing, ctx)
            tasks = _perturbed(tasks, perturbing, ctx, seed, limit, db)
        loaded = None
        if model is not None:
            from assay.models import load_model

            loaded = load_model(model)
            ctx.tokenizer = loaded.tokenizer()
            ctx.max_context = max_context or loaded.max_context
        try:
            count = dump_suite(tasks, ctx, output, limit)
        finally:
            if loaded is not None:
                loaded.close()
        Console().print(f"wrote {count} samples to {output}", highlight=False)

    def _perturbed(tasks: list, perturbing: Any, ctx: Any, seed: int, limit: int | None, db: str | None) -> list:
        from assay.perturb.options import perturbed_tasks, run_paraphrase_prepass

        if not perturbing.paraphrase:
            return perturbed_tasks(tasks, perturbing)
        from assay.models import load_model
        from assay.store import Store

        generator = load_model(perturbing.generator)
        try:
            tables = run_paraphrase_prepass(generator, Store(db), tasks, ctx, seed, limit)
        finally:
            generator.close()
        return perturbed_tasks(tasks, perturbing, tables)

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
