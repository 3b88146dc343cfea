"""`assay import predictions FILE --task NAME --model LABEL`: another system's outputs as a run of model
`imported:LABEL`, scored by the task's own scorer (assay/predictions.py)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

DbOption = Annotated[str | None, typer.Option("--db", help="SQLAlchemy URL or SQLite path (default sqlite:///assay.db)")]


def _import_group(app: typer.Typer) -> typer.Typer:
    """The `assay import` sub-app (cli_commands/judgments.py makes it; modules register in name order)."""
    for group in app.registered_groups:
        if group.name == "import" and group.typer_instance is not None:
            return group.typer_instance
    imports = typer.Typer(help="Import external data into the store.", no_args_is_help=True)
    app.add_typer(imports, name="import")
    return imports


def register(app: typer.Typer) -> None:
    @_import_group(app).command("predictions")
    def predictions_command(
        path: Annotated[Path, typer.Argument(metavar="FILE", help="L-Eval *.pred.jsonl, BBH outputs .json, or JSONL "
                                                                  "rows {\"id\", \"prediction\"}")],
        task: Annotated[str, typer.Option("--task", "-t", help="the task whose samples the predictions answer")],
        model: Annotated[str, typer.Option("--model", "-m", help="a label for the system; the run's model is "
                                                                 "imported:LABEL")],
        data_dir: Annotated[Path | None, typer.Option("--data-dir", help="benchmark data (default ../shared/data)")]
        = None,
        seed: Annotated[int, typer.Option("--seed", help="the task's seed (for generated tasks)")] = 1234,
        db: DbOption = None,
        json_output: Annotated[bool, typer.Option("--json", help="machine-readable JSON output")] = False,
    ) -> None:
        """Store another system's outputs as a run scored by the task's own scorer; rows that cannot be read or
        matched to a sample are counted, samples without a prediction are stored as failed requests."""
        from assay.cli_support import console, metrics_table
        from assay.data_paths import default_data_dir
        from assay.predictions import import_predictions
        from assay.store import Store
        from assay.tasks import TaskContext, get_task

        if "," in task:
            raise typer.BadParameter("name one task", param_hint="--task")
        task_object = get_task(task)
        ctx = TaskContext(seed=seed, data_dir=data_dir if data_dir is not None else default_data_dir())
        store = Store(db)
        try:
            result = import_predictions(store, path, task_object, model, ctx)
        finally:
            store.close()
        if json_output:
            payload: dict[str, Any] = {"id": result.run_id, "reused": result.reused, "model": f"imported:{model.strip()}",
                                       "task": task_object.name, "counts": result.counts, "notes": result.notes,
                                       "metrics": result.metrics}
            sys.stdout.write(json.dumps(payload, indent=2, sort_keys=True, default=str) + "\n")
            return
        counts = result.counts
        console.print(f"imported {counts['matched']} of {counts['rows']} rows from {path} as imported:{model.strip()} on "
                      f"{task_object.name}: {counts['unmatched_rows']} unmatched, {counts['unreadable_rows']} unreadable, "
                      f"{counts['samples_without_prediction']} samples without a prediction, {counts['unparsable']} "
                      "unparsable answers", highlight=False, markup=False, soft_wrap=True)
        for note in result.notes:
            console.print(f"  {note}", highlight=False, markup=False, soft_wrap=True)
        console.print(metrics_table(result.metrics, f"run {result.run_id} — imported:{model.strip()}"))
        state = " (the same file was imported before: its stored run)" if result.reused else ""
        console.print(f"run id: [bold]{result.run_id}[/bold]{state}")
