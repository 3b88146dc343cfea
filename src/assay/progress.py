"""Progress of a run on stderr: a rich progress bar per task on a terminal; in a log file (stderr not a
terminal) a plain line now and then instead, since a bar redrawn in place is unreadable there.

Samples are stored a chunk at a time, and one backend call can answer a whole chunk (the main job's 60
prompts are one call of several minutes), so progress also comes from inside that call: a backend calls
`models.base.report_backend_progress` as requests finish and tokens go through the model, and the bar (or the log line)
moves within the chunk. In a log, a line is printed every interval even while nothing finishes, the first
after at most FIRST_LINE_S, so a long call never looks hung; a run shorter than that prints nothing.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Iterator
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

from assay.models.base import backend_progress_sink

# Seconds between progress lines when stderr is not a terminal; ASSAY_PROGRESS_SECONDS overrides it.
LOG_INTERVAL_S = 30.0
# The first line of a long task comes after at most this many seconds, whatever the interval.
FIRST_LINE_S = 10.0


def _log_interval() -> float:
    try:
        return max(0.0, float(os.environ.get("ASSAY_PROGRESS_SECONDS", LOG_INTERVAL_S)))
    except ValueError:
        return LOG_INTERVAL_S


class _Counts:
    """What a task has done: samples stored, and within the backend call in flight, requests answered and tokens
    computed. The call's requests stand for `samples` samples, so each answered one counts as a fraction of them."""

    def __init__(self, name: str, total: int | None, unit: str) -> None:
        self.name, self.total, self.unit = name, total, unit
        self.done = 0  # samples stored
        self.partial = 0.0  # samples' worth of requests answered in the call in flight
        self.call_samples = self.call_requests = self.call_answered = 0
        self.tokens = 0
        self.stats: dict[str, int] = {}
        self.started = time.monotonic()

    def answered(self, requests: int) -> float:
        """Count answered requests; returns the samples' worth to advance a bar by."""
        if not self.call_requests:
            return 0.0
        self.call_answered = min(self.call_answered + requests, self.call_requests)
        partial = self.call_samples * self.call_answered / self.call_requests
        step, self.partial = partial - self.partial, partial
        return step

    def line(self) -> str:
        elapsed = time.monotonic() - self.started
        of_total = f"/{self.total}" if self.total is not None else ""
        rate = f", {self.done / elapsed:.1f} {self.unit}/s" if elapsed > 0 and self.done else ""
        inside = ""
        if self.call_requests:
            inside = f", answering {self.call_answered}/{self.call_requests} requests"
        if self.tokens and elapsed > 0:
            inside += f", {self.tokens} tokens ({self.tokens / elapsed:.0f}/s)"
        eta = ""
        fraction = (self.done + self.partial) / self.total if self.total else 0.0
        if 0 < fraction < 1:
            eta = f", ETA {elapsed * (1 - fraction) / fraction:.0f} s"
        requests = (f", cache hits {self.stats.get('cache_hits', 0)}, errors {self.stats.get('request_errors', 0)}"
                    if self.stats else "")
        return f"progress: {self.name} {self.done}{of_total} {self.unit}{rate}{inside}{requests}, {elapsed:.0f} s{eta}"


class _LogLines:
    """Plain progress lines for a log: one per interval (the first after at most FIRST_LINE_S) from a timer
    thread, and one when a task that printed lines ends; a task shorter than that prints nothing."""

    def __init__(self, console: Console, interval_s: float) -> None:
        self.console = console
        self.interval_s = interval_s
        self.counts: _Counts | None = None
        self.printed = False
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._tick, name="assay-progress", daemon=True)
        self._thread.start()

    def _tick(self) -> None:
        wait = min(self.interval_s, FIRST_LINE_S)
        while not self._stop.wait(wait):
            self._print()
            wait = self.interval_s or 0.05

    def _print(self) -> None:
        with self._lock:
            if self.counts is not None:
                self.printed = True
                self.console.print(self.counts.line(), highlight=False, markup=False, soft_wrap=True)

    def start(self, counts: _Counts) -> None:
        self.finish()
        with self._lock:
            self.counts, self.printed = counts, False

    def finish(self) -> None:
        if self.counts is not None and self.printed:
            self._print()
        with self._lock:
            self.counts = None

    def close(self) -> None:
        self.finish()
        self._stop.set()
        self._thread.join(timeout=5)



class RunProgress:
    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self._progress: Progress | None = None
        self._task_id: TaskID | None = None
        self._log: _LogLines | None = None
        self._counts: _Counts | None = None

    def __enter__(self) -> RunProgress:
        if not self.enabled:
            return self
        console = Console(stderr=True)
        if not console.is_terminal:
            self._log = _LogLines(console, _log_interval())
            return self
        self._progress = Progress(
            TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
            TextColumn("{task.fields[inside]}"), TextColumn("cache hits {task.fields[cache_hits]}"),
            TextColumn("errors {task.fields[errors]}"), TimeElapsedColumn(), TimeRemainingColumn(),
            console=console, transient=False,
        )
        self._progress.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._progress is not None:
            self._progress.stop()
        if self._log is not None:
            self._log.close()

    def start_task(self, name: str, total: int | None, unit: str = "samples") -> None:
        """A new task (or any long job counted in `unit`s) starts; the previous one is finished."""
        self._counts = _Counts(name, total, unit)
        if self._log is not None:
            self._log.start(self._counts)
        if self._progress is not None:
            self._task_id = self._progress.add_task(name, total=total, cache_hits=0, errors=0, inside="")

    @contextlib.contextmanager
    def backend_call(self, samples: int, requests: int) -> Iterator[None]:
        """Around one backend call answering `requests` requests for `samples` samples: what the backend reports
        from inside (models.base.report_backend_progress) moves this task's progress."""
        counts = self._counts
        if counts is not None:
            counts.call_samples, counts.call_requests, counts.call_answered = samples, requests, 0
        try:
            with backend_progress_sink(self.backend_advance):
                yield
        finally:
            if counts is not None:
                counts.call_requests = 0

    def backend_advance(self, requests: int, tokens: int) -> None:
        counts = self._counts
        if counts is None:
            return
        counts.tokens += tokens
        step = counts.answered(requests)
        if self._progress is not None and self._task_id is not None:
            elapsed = time.monotonic() - counts.started
            inside = f"{counts.tokens / elapsed:.0f} tok/s" if counts.tokens and elapsed > 0 else ""
            self._progress.update(self._task_id, advance=step, inside=inside)

    def advance(self, count: int, stats: dict[str, int] | None = None) -> None:
        """`count` units of the task done (for a run: samples stored, or skipped as already stored), with the
        runner's request counts."""
        counts = self._counts
        if counts is None:
            return
        step, counts.partial = count - counts.partial, 0.0
        counts.done += count
        counts.stats = dict(stats or {})
        if self._progress is not None and self._task_id is not None:
            self._progress.update(self._task_id, advance=step, cache_hits=counts.stats.get("cache_hits", 0),
                                  errors=counts.stats.get("request_errors", 0))
