"""Progress of a run on stderr: a rich progress bar per task on a terminal; in a log file (stderr not a
terminal) a plain line now and then instead, since a bar redrawn in place is unreadable there."""

from __future__ import annotations

import os
import time
from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

# Seconds between progress lines when stderr is not a terminal; ASSAY_PROGRESS_SECONDS overrides it.
LOG_INTERVAL_S = 30.0


def _log_interval() -> float:
    try:
        return max(0.0, float(os.environ.get("ASSAY_PROGRESS_SECONDS", LOG_INTERVAL_S)))
    except ValueError:
        return LOG_INTERVAL_S


class _LogLines:
    """Plain progress lines for a log: at most one per interval, and one when a task that took longer
    than an interval ends (short runs print nothing)."""

    def __init__(self, console: Console, interval_s: float) -> None:
        self.console = console
        self.interval_s = interval_s
        self.name = ""
        self.total: int | None = None
        self.done = 0
        self.printed = 0  # samples done at the last line printed
        self.stats: dict[str, int] = {}
        self.started = self.last = time.monotonic()

    def start(self, name: str, total: int | None) -> None:
        self.finish()
        self.name, self.total, self.done, self.printed = name, total, 0, 0
        self.started = self.last = time.monotonic()

    def advance(self, count: int, stats: dict[str, int]) -> None:
        self.done += count
        self.stats = dict(stats)
        now = time.monotonic()
        if now - self.last >= self.interval_s:
            self.last = now
            self._line()

    def finish(self) -> None:
        if self.name and self.done != self.printed and time.monotonic() - self.started >= self.interval_s:
            self._line()
        self.name = ""

    def _line(self) -> None:
        self.printed = self.done
        elapsed = time.monotonic() - self.started
        of_total = f"/{self.total}" if self.total is not None else ""
        rate = f", {self.done / elapsed:.1f} samples/s" if elapsed > 0 else ""
        self.console.print(f"progress: {self.name} {self.done}{of_total} samples{rate}, "
                           f"cache hits {self.stats.get('cache_hits', 0)}, errors {self.stats.get('request_errors', 0)}, "
                           f"{elapsed:.0f} s", highlight=False, markup=False, soft_wrap=True)


class RunProgress:
    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self._progress: Progress | None = None
        self._task_id: TaskID | None = None
        self._log: _LogLines | None = None

    def __enter__(self) -> RunProgress:
        if not self.enabled:
            return self
        console = Console(stderr=True)
        if not console.is_terminal:
            self._log = _LogLines(console, _log_interval())
            return self
        self._progress = Progress(
            TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
            TextColumn("cache hits {task.fields[cache_hits]}"), TextColumn("errors {task.fields[errors]}"),
            TimeElapsedColumn(), TimeRemainingColumn(), console=console, transient=False,
        )
        self._progress.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._progress is not None:
            self._progress.stop()
        if self._log is not None:
            self._log.finish()

    def start_task(self, name: str, total: int | None) -> None:
        if self._log is not None:
            self._log.start(name, total)
        if self._progress is not None:
            self._task_id = self._progress.add_task(name, total=total, cache_hits=0, errors=0)

    def advance(self, count: int, stats: dict[str, int]) -> None:
        if self._log is not None:
            self._log.advance(count, stats)
        if self._progress is not None and self._task_id is not None:
            self._progress.update(self._task_id, advance=count, cache_hits=stats["cache_hits"],
                                  errors=stats["request_errors"])
