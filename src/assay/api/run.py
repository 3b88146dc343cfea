"""A stored run as a Python object: its manifest, metrics (typed rows with intervals), samples (typed,
streamed), a pandas view, the long-context heatmap and the HTML report. `Run` reads the store; nothing in it
recomputes a number the store does not hold."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from assay.errors import AssayError
from assay.store import Store

if TYPE_CHECKING:
    import pandas

    from assay.tasks.longctx.heatmap import Heatmap


@dataclass(frozen=True)
class MetricRow:
    """One stored metric of a run: its value with a 95% interval, as its task declares it."""

    task: str
    name: str
    value: float | None
    # (low, high) of the 95% interval; None where the method gives none (counts, notes).
    ci: tuple[float, float] | None
    n: int
    # How the value and interval were computed: "mean±clustered", "bootstrap", "count", "task", ...
    method: str
    # True: more is better; False: less is better; None: descriptive, never ranked.
    higher_is_better: bool | None
    # The task's one headline figure.
    primary: bool
    stderr: float | None = None
    scale: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_stored(cls, row: Mapping[str, Any]) -> MetricRow:
        low, high = row.get("ci_low"), row.get("ci_high")
        return cls(task=row["task"], name=row["name"], value=row.get("value"),
                   ci=(low, high) if low is not None and high is not None else None, n=int(row.get("n") or 0),
                   method=row["method"], higher_is_better=row.get("higher_is_better"), primary=bool(row.get("primary")),
                   stderr=row.get("stderr"), scale=row.get("scale"), extra=row.get("extra") or {})


@dataclass(frozen=True)
class SampleRow:
    """One stored sample: the rendered prompt, the raw responses, the extracted answer and its scores."""

    task: str
    sample_id: str
    idx: int
    prompt: str | None
    target: Any
    responses: list[Any]
    extracted: str | None
    scores: dict[str, Any]
    # Why the sample has no scores (a request that failed after retries), else None.
    error: str | None
    error_kind: str | None
    cluster: str | None
    metadata: dict[str, Any]

    @classmethod
    def from_stored(cls, row: Mapping[str, Any]) -> SampleRow:
        return cls(task=row["task"], sample_id=row["sample_id"], idx=row["idx"], prompt=row.get("prompt"),
                   target=row.get("target"), responses=list(row.get("responses") or []), extracted=row.get("extracted"),
                   scores=dict(row.get("scores") or {}), error=row.get("error"), error_kind=row.get("error_kind"),
                   cluster=row.get("cluster"), metadata=dict(row.get("metadata") or {}))


@dataclass(frozen=True)
class RunOutcome:
    """What happened when `evaluate` made the run (absent on a loaded run)."""

    # The run was unfinished and this call completed it.
    resumed: bool
    # An identical complete run was stored before and is returned as is (`rerun=True` runs again).
    reused: bool
    # Request bookkeeping: requests, unique_requests, cache_hits, model_requests, request_errors, unparsable.
    stats: Mapping[str, int]
    # The metric rows as the runner returned them (the CLI prints these).
    metric_rows: list[dict[str, Any]]


class Run:
    """A run in a store. Made by `assay.evaluate` or `assay.load_run`; cheap to hold (reads lazily)."""

    def __init__(self, id: str, store: Store, outcome: RunOutcome | None = None) -> None:
        self.id = id
        self.store = store
        self.outcome = outcome
        self._record: dict[str, Any] | None = None

    def _row(self) -> dict[str, Any]:
        if self._record is None:
            self._record = self.store.get_run(self.id)
        return self._record

    @property
    def model(self) -> str:
        """The model spec the run evaluated."""
        return str(self._row()["model_spec"])

    @property
    def tasks(self) -> list[str]:
        """The run's task names, in the order they ran."""
        return list(self._row()["tasks"])

    @property
    def status(self) -> str:
        """running | interrupted | complete (read fresh from the store)."""
        return str(self.store.get_run(self.id)["status"])

    @property
    def seed(self) -> int:
        return int(self._row()["seed"])

    @property
    def created_at(self) -> dt.datetime:
        return self._row()["created_at"]  # type: ignore[no-any-return]

    @property
    def manifest(self) -> dict[str, Any]:
        """Versions, hashes, seeds, prompts and decoding settings: what makes the run reproducible."""
        return dict(self._row()["manifest"])

    @property
    def metrics(self) -> list[MetricRow]:
        """Every stored metric row, ordered by task and name."""
        return [MetricRow.from_stored(row) for row in self.store.get_metrics(self.id)]

    def metric(self, task: str | None = None, name: str | None = None) -> MetricRow:
        """One metric: `name` of `task` (the task's primary metric when `name` is None; `task` may be left out
        when the run has one task)."""
        rows = self.metrics
        tasks = sorted({row.task for row in rows})
        if task is None:
            if len(tasks) != 1:
                raise AssayError(f"task: run {self.id} has tasks {', '.join(tasks)}; name one")
            task = tasks[0]
        matches = [row for row in rows if row.task == task and (row.name == name if name else row.primary)]
        if not matches:
            what = f"metric {name!r}" if name else "primary metric"
            known = ", ".join(tasks) or "none"
            raise AssayError(f"{'name' if name else 'task'}: run {self.id} has no {what} for task {task!r} "
                             f"(its tasks: {known})")
        return matches[0]

    def samples(self, task: str | None = None) -> Iterator[SampleRow]:
        """The stored samples in (task, index) order, streamed from the store."""
        if task is not None and task not in self.store.sample_tasks(self.id):
            raise AssayError(f"task: run {self.id} has no samples of task {task!r}")
        for row in self.store.iter_samples(self.id, task):
            yield SampleRow.from_stored(row)

    def to_pandas(self, what: Literal["metrics", "samples"] = "metrics") -> pandas.DataFrame:
        """A DataFrame of the metric rows (one per task and metric, with ci_low/ci_high), or of the samples
        (one per sample, a `score.<name>` column per score)."""
        import pandas

        if what == "metrics":
            return pandas.DataFrame([{**{k: v for k, v in vars(row).items() if k not in ("ci", "extra")},
                                      "ci_low": row.ci[0] if row.ci else None,
                                      "ci_high": row.ci[1] if row.ci else None} for row in self.metrics])
        if what == "samples":
            records = []
            for sample in self.samples():
                flat = {k: v for k, v in vars(sample).items() if k != "scores"}
                flat.update({f"score.{name}": value for name, value in sample.scores.items()})
                records.append(flat)
            return pandas.DataFrame(records)
        raise AssayError(f"what: expected 'metrics' or 'samples', got {what!r}")

    def heatmap(self, task: str | None = None) -> Heatmap:
        """The length × depth heatmap a long-context task stored (its producer's typed object); `task` may be
        left out when one task of the run has a heatmap."""
        from assay.tasks.longctx.heatmap import Heatmap

        stored = {row["task"]: row for row in self.store.get_metrics(self.id) if row["name"] == "heatmap"}
        if task is None and len(stored) == 1:
            task = next(iter(stored))
        if task is None or task not in stored:
            wanted = "name one" if task is None else f"none for {task!r}"
            raise AssayError(f"task: run {self.id} has heatmaps for {', '.join(sorted(stored)) or 'no task'}; {wanted}")
        return Heatmap.from_extra(stored[task]["extra"])

    def report(self, path: str | Path, *, max_samples: int = 2000) -> Path:
        """Write the self-contained HTML report of this run (as `assay report`) and return its path."""
        from assay.report import write_report

        return Path(write_report(self.store, [self.id], check_report_target(path, max_samples), max_samples).path)

    def _repr_html_(self) -> str:
        from assay.api.run_html import run_html

        return run_html(self)

    def __repr__(self) -> str:
        return f"Run(id={self.id!r}, model={self.model!r}, tasks={self.tasks!r})"


def check_report_target(path: str | Path, max_samples: int) -> Path:
    """`assay report`'s checks, made before any store is read: the folder of `path` exists, `max_samples` ≥ 0."""
    if max_samples < 0:
        raise AssayError(f"--max-samples: expected a number ≥ 0, got {max_samples}")
    output = Path(path)
    folder = output.expanduser().resolve().parent
    if not folder.is_dir():
        raise AssayError(f"-o {output}: folder {folder} does not exist")
    return output


def load_run(id: str, *, db: str | Store | None = None) -> Run:
    """A stored run by id (or a unique prefix of it) from `db` (a URL, an SQLite path or a Store; None: ./assay.db)."""
    from assay.api.session_store import resolve_store

    store = resolve_store(db, read_only=True, temporary_default=False)
    return Run(store.get_run(id)["id"], store)
