"""What the commands of the `assay` CLI share: the consoles, JSON output, the metrics table, and how a run
stopped by Ctrl-C or SIGTERM ends (stored as interrupted, the command to resume it printed)."""

from __future__ import annotations

import contextlib
import json
import shlex
import signal
import sys
import threading
from collections.abc import Iterator
from typing import Any

import typer
from rich.table import Table

from assay.cli_output import make_console

console = make_console()
err_console = make_console(stderr=True)
# The arguments `assay` was called with: the command a user reruns to resume an interrupted run.
_invocation: list[str] | None = None


def remember_invocation(argv: list[str]) -> None:
    global _invocation
    _invocation = list(argv)


def resume_command() -> str:
    if _invocation is None:
        return "the same command"
    return shlex.join(["assay", *_invocation])


@contextlib.contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    """SIGTERM stops a run like Ctrl-C does: the runner marks it interrupted."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(_signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def exit_when_interrupted(message: str) -> Iterator[None]:
    """Run the body with SIGTERM as Ctrl-C; a stopped run prints `message` (with {error} and {command}, the
    command that resumes it) on stderr and exits with the interruption's code."""
    from assay.runner import RunInterrupted

    try:
        with terminate_as_interrupt():
            yield
    except RunInterrupted as exc:
        err_console.print(message.format(error=exc, command=resume_command()), highlight=False, markup=False)
        raise typer.Exit(exc.exit_code) from None


def notify_line(line: str) -> None:
    """A progress or status line of the library, on stderr as it comes."""
    err_console.print(line, highlight=False, markup=False)


def json_out(value: Any, *, sort_keys: bool = False) -> None:
    sys.stdout.write(json.dumps(value, indent=2, default=str, ensure_ascii=False, sort_keys=sort_keys) + "\n")


def _fmt(value: float | None, digits: int = 4) -> str:
    return "—" if value is None else f"{value:.{digits}g}" if abs(value) >= 1000 else f"{value:.{digits}f}"


def metrics_table(metrics: list[dict[str, Any]], title: str) -> Table:
    from assay.display import format_metric_value

    table = Table(title=title, caption="better: ↑ higher, ↓ lower, as each task declares; * the task's primary metric")
    for column in ("task", "metric", "better", "value", "95% CI", "n", "method"):
        table.add_column(column, justify="right" if column in ("value", "n") else "left")
    for m in metrics:
        if m["method"] == "task" and not isinstance(m.get("value"), (int, float)):
            continue
        ci = f"[{_fmt(m['ci_low'])}, {_fmt(m['ci_high'])}]" if m.get("ci_low") is not None else ""
        better = {True: "↑", False: "↓"}.get(m.get("higher_is_better"), "") + (" *" if m.get("primary") else "")
        table.add_row(m["task"], m["name"], better, format_metric_value(m), ci, str(m["n"]), m["method"])
    return table
