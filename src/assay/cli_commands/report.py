"""`assay report RUN [RUN ...] -o FILE`: one self-contained HTML file (metrics, plots, samples)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    @app.command()
    def report(
        run_ids: Annotated[list[str], typer.Argument(metavar="RUN", help="one or more run ids (or unique prefixes)")],
        output: Annotated[Path, typer.Option("-o", "--output", help="the .html file to write")],
        db: Annotated[str | None, typer.Option("--db", help="SQLAlchemy URL or SQLite path (default sqlite:///assay.db)")] = None,
        max_samples: Annotated[int, typer.Option("--max-samples", help="samples per task embedded in the table")] = 2000,
    ) -> None:
        """Write an HTML report of one or more runs: manifest, metrics with CIs, plots, searchable samples."""
        from rich.console import Console

        from assay.api.run import check_report_target
        from assay.report import write_report
        from assay.store import Store

        check_report_target(output, max_samples)  # before the store opens: a typo in -o reads nothing
        summary = write_report(Store(db, read_only=True), run_ids, output, max_samples)
        Console().print(f"wrote report of {summary.runs} run(s), {summary.samples_embedded} samples embedded, "
                        f"{summary.bytes / 1024:.0f} KiB, to {summary.path}", highlight=False)
