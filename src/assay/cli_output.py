"""How the CLI writes: consoles that do not cut tables to 80 columns when the output goes to a file or
a pipe, and one-line messages for usage errors (the CLI framework's own included)."""

from __future__ import annotations

from difflib import get_close_matches
from typing import Any

from rich.console import Console

# Width used when stdout is not a terminal: wide enough that no table cell is ever cut; rich tables
# do not stretch to the console width, so narrow tables stay narrow.
LOG_WIDTH = 10_000


def make_console(stderr: bool = False) -> Console:
    """A console for tables and messages: the terminal's width on a terminal, else never truncating."""
    console = Console(stderr=stderr)
    if not console.is_terminal:
        console = Console(stderr=stderr, width=LOG_WIDTH)
    return console


def did_you_mean(name: str, known: list[str]) -> str:
    """' (did you mean X?)' for a near miss, else ''."""
    close = get_close_matches(name, known, n=1, cutoff=0.6)
    return f" (did you mean {close[0]}?)" if close else ""


def usage_error_line(exc: Any) -> str:
    """One line for a click UsageError/BadParameter: the command, then click's message on one line."""
    message = " ".join(exc.format_message().split())
    ctx = getattr(exc, "ctx", None)
    command = ctx.command_path if ctx is not None else "assay"
    return f"{command}: {message} (see `{command} --help`)"
