"""`assay list tasks | models | runs [--json]`: what can be run (built in, or from installed plugin packages,
each shown with the package it comes from), and what is stored."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import Annotated, Any

import typer

from assay.errors import AssayError

_MAX_VARIANTS_SHOWN = 6
# Long-context descriptions end with their grid keys; the table leaves them to --json.
_GRID_KEYS = "; grid keys:"


def _json_out(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=2, default=str, ensure_ascii=False) + "\n")


def _variants_cell(variants: Sequence[str]) -> str:
    if len(variants) <= _MAX_VARIANTS_SHOWN:
        return ", ".join(variants)
    shown = ", ".join(variants[:3])
    return f"{len(variants)}: {shown} and {len(variants) - 3} more (--json lists all)"


def _list_tasks(json_output: bool) -> None:
    from rich.table import Table

    from assay.cli_output import make_console
    from assay.tasks import task_entries
    from assay.tasks.registry import GRID_SYNTAX_HELP

    entries = [{"name": e.name, "family": e.family, "description": e.description,
                "variants": list(e.variants), "package": e.package} for e in task_entries()]
    if json_output:
        _json_out(entries)
        return
    console = make_console()
    # Built-in families first, then each plugin package's tasks in a table of their own.
    groups = sorted({(e["package"] != "assay", e["package"], e["family"]) for e in entries})
    for _, package, family in groups:
        members = [e for e in entries if e["family"] == family and e["package"] == package]
        table = Table(title=f"{family} ({len(members)} tasks, from {package})", title_justify="left")
        table.add_column("name", no_wrap=True)
        table.add_column("description")
        if any(e["variants"] for e in members):
            table.add_column("variants (name:variant)")
        for e in members:
            description = e["description"].split(_GRID_KEYS)[0]
            cells = [e["name"], description]
            if any(m["variants"] for m in members):
                cells.append(_variants_cell(e["variants"]))
            table.add_row(*cells)
        console.print(table)
    if any(_GRID_KEYS in e["description"] for e in entries):
        console.print("long-context tasks take grid keys as name:key=value (e.g. niah_single:lengths=1024); "
                      "`assay list tasks --json` lists each task's keys", highlight=False)
        console.print(f"grid syntax: name:key=value/key=value; {GRID_SYNTAX_HELP}", highlight=False)


def _list_models(json_output: bool) -> None:
    from rich.table import Table

    from assay.cli_output import make_console
    from assay.models.registry import backend_entries

    entries = [{"name": e.name, "description": e.description, "model_args": sorted(e.options), "package": e.package}
               for e in backend_entries()]
    if json_output:
        _json_out(entries)
        return
    table = Table(title="model backends", title_justify="left")
    for column in ("prefix", "description", "--model-args keys", "package"):
        table.add_column(column)
    for e in entries:
        table.add_row(e["name"], e["description"], ", ".join(e["model_args"]), e["package"])
    make_console().print(table)


def _list_runs(db: str | None, json_output: bool) -> None:
    from rich.table import Table

    from assay.cli_output import make_console
    from assay.store import Store

    store = Store(db, read_only=True)
    runs = [{"id": r["id"], "name": f"{r['model_spec']} · {','.join(r['tasks'])}", "model": r["model_spec"],
             "tasks": r["tasks"], "status": r["status"], "created_at": r["created_at"],
             "samples": store.count_samples(r["id"])} for r in store.list_runs()]
    if json_output:
        _json_out(runs)
        return
    console = make_console()
    if not runs:
        console.print(f"no runs in {store.url}", highlight=False)
        return
    table = Table(title="runs", title_justify="left")
    for column in ("id", "model", "tasks", "status", "samples", "created_at"):
        table.add_column(column, justify="right" if column == "samples" else "left")
    for r in runs:
        table.add_row(r["id"], r["model"], ",".join(r["tasks"]), r["status"], str(r["samples"]),
                      str(r["created_at"])[:19])
    console.print(table)


def register(app: typer.Typer) -> None:
    @app.command("list")
    def list_(
        what: Annotated[str, typer.Argument(help="tasks | models | runs")],
        db: Annotated[str | None, typer.Option("--db", help="SQLAlchemy URL or SQLite path (default sqlite:///assay.db)")] = None,
        json_output: Annotated[bool, typer.Option("--json", help="machine-readable JSON output")] = False,
    ) -> None:
        """List tasks, model backends or stored runs."""
        if what == "tasks":
            _list_tasks(json_output)
        elif what == "models":
            _list_models(json_output)
        elif what == "runs":
            _list_runs(db, json_output)
        else:
            from assay.cli_output import did_you_mean

            raise AssayError(f"list: expected tasks, models or runs, got {what!r}"
                             f"{did_you_mean(what, ['tasks', 'models', 'runs'])}")
