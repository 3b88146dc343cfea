"""`assay db upgrade [--db URL]`: bring a store made by an older assay up to this version's schema.

Commands that only read never change a database; they ask for this when the database predates the
version reading it. Commands that write (`assay run`, imports, judges) upgrade on open as well."""

from __future__ import annotations

from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    database = typer.Typer(help="the results database: upgrade one made by an older assay", no_args_is_help=True)
    app.add_typer(database, name="db")

    @database.command("upgrade")
    def upgrade(
        db: Annotated[str | None, typer.Option("--db", help="SQLAlchemy URL or SQLite path (default sqlite:///assay.db)")]
        = None,
    ) -> None:
        """Create the tables and columns this version stores and build derived data (the full-text index,
        sample counts) missing from the database; prints what it did, or that it was up to date."""
        from assay.store import Store

        store = Store(db, must_exist=True)
        try:
            for step in store.upgraded:
                typer.echo(step)
            typer.echo(f"{store.location()}: upgraded ({len(store.upgraded)} steps)" if store.upgraded
                       else f"{store.location()}: up to date")
        finally:
            store.close()
