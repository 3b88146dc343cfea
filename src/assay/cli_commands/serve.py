"""`assay serve`: the web leaderboard and run browser over a store."""

from __future__ import annotations

from typing import Annotated

import typer

from assay.errors import AssayError


def register(app: typer.Typer) -> None:
    @app.command()
    def serve(
        db: Annotated[str | None, typer.Option("--db", help="SQLAlchemy URL or SQLite path (default sqlite:///assay.db)")] = None,
        host: Annotated[str, typer.Option("--host", help="interface to bind; loopback unless you mean to share it")]
        = "127.0.0.1",
        port: Annotated[int, typer.Option("--port", help="TCP port")] = 8000,
    ) -> None:
        """Serve the leaderboard, run pages, sample browser and JSON API (read-only unless
        ASSAY_ADMIN_TOKEN is set)."""
        if not 0 < port < 65536:
            raise AssayError(f"--port: expected 1..65535, got {port}")
        try:
            import uvicorn

            from assay.web import create_app
            from assay.web.app import writes_enabled
        except ModuleNotFoundError as exc:
            raise AssayError(f"serve: needs the package '{exc.name}'; install the web extra: "
                             ".venv/bin/pip install -e '.[web]' in the clone") from None
        from assay.store import Store

        # Read-only serving never creates nor changes a database; with an admin token (uploads) or a labelling
        # token (votes) it writes, so it may create and upgrade one.
        web_app = create_app(Store(db, read_only=not writes_enabled()))
        # Import the task registry now (task families for the leaderboard), not on the first request.
        from assay.web.leaderboard import task_families

        task_families()
        mode = "writes enabled (admin token set)" if web_app.state.admin_token else "read-only"
        typer.echo(f"assay web on http://{host}:{port} ({mode}); Ctrl-C stops it")
        try:
            uvicorn.run(web_app, host=host, port=port, log_level="warning")
        except OSError as exc:
            raise AssayError(f"--host {host} --port {port}: cannot listen ({exc.strerror or exc})") from None
