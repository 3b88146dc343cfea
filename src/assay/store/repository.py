"""The store: the one place results are written and read. SQLite file by default, any SQLAlchemy
URL (Postgres included) by `--db`."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, insert, inspect, select, update
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError, SQLAlchemyError

from assay.errors import AssayError
from assay.store.connect import open_engine
from assay.store.migrate import FULL_TEXT_INDEX, pending_upgrade, upgrade
from assay.store.schema import cache, metrics, runs, sample_counts, samples

DEFAULT_DB_ENV = "ASSAY_DB"


def default_db_url() -> str:
    return os.environ.get(DEFAULT_DB_ENV) or "sqlite:///assay.db"


def _normalise_url(url: str) -> str:
    # A bare path is taken as a SQLite file, the common case on a laptop.
    if "://" not in url:
        return f"sqlite:///{url}"
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return url


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Store:
    def __init__(self, url: str | None = None, read_only: bool = False, must_exist: bool = False) -> None:
        """`read_only`: for commands that only read (list, show, export, report, serve, ...): the database must
        exist, is never changed (no table created, no column added, no derived data built: the database
        refuses every write), and one that needs an upgrade is an error naming `assay db upgrade`.
        Otherwise the database is created or upgraded on open (`upgraded` says what was done);
        `must_exist`: a SQLite file that does not exist is an error instead of being created."""
        if (url or default_db_url()).startswith("postgres://"):
            raise AssayError("--db: SQLAlchemy does not know the scheme postgres://; write postgresql://user@host/db")
        self.url = _normalise_url(url or default_db_url())
        self.read_only = read_only
        self.upgraded: list[str] = []
        shown = url or self.url
        try:
            self.engine: Engine = open_engine(self.url, read_only)
        except (ArgumentError, NoSuchModuleError, ValueError) as exc:
            raise AssayError(f"--db: cannot use {url!r} as a database URL ({exc.__class__.__name__}); "
                             "expected e.g. sqlite:///assay.db or postgresql://user@host/db") from None
        except ModuleNotFoundError as exc:
            raise AssayError(f"--db {url}: the database driver '{exc.name}' is not installed") from None
        if self.engine.dialect.name == "sqlite":
            path = self.engine.url.database
            if path and path != ":memory:":
                parent = Path(path).expanduser().resolve().parent
                if not parent.is_dir():
                    raise AssayError(f"--db {url}: folder {parent} does not exist")
                if (read_only or must_exist) and not Path(path).expanduser().is_file():
                    why = "; this command only reads" if read_only else ""
                    raise AssayError(f"--db {shown}: no database at {Path(path).expanduser()} "
                                     f"(`assay run` creates one{why})")
        try:
            if read_only:
                self._check_readable(shown)
            else:
                self.upgraded = upgrade(self.engine)
        except OperationalError as exc:
            first_line = str(exc.orig).splitlines()[0] if exc.orig else str(exc)
            raise AssayError(f"--db {url}: cannot open the database: {first_line}") from None
        except SQLAlchemyError as exc:
            raise AssayError(f"--db {url}: cannot open the database: {exc.__class__.__name__}") from None

    def _check_readable(self, shown: str) -> None:
        """A reader reads what this version of assay stores, or says how to get there; a missing full-text
        index only turns word search off (it says so), everything else read works without it."""
        with self.engine.connect() as conn:
            if not inspect(conn).has_table(runs.name):
                raise AssayError(f"--db {shown}: not an assay database (it has no runs table)")
            pending = [step for step in pending_upgrade(conn) if step != FULL_TEXT_INDEX]
        if pending:
            raise AssayError(f"--db {shown}: the database at {self.location()} predates this version of assay (it lacks "
                             f"{', '.join(pending[:3])}{' ...' if len(pending) > 3 else ''}); "
                             f"run `assay db upgrade --db {shown}`")

    def location(self) -> str:
        """Where the database is, for messages: the SQLite file, or the URL without its password."""
        if self.engine.dialect.name == "sqlite" and self.engine.url.database:
            return str(Path(self.engine.url.database).expanduser())
        return self.engine.url.render_as_string(hide_password=True)

    # ---- runs -------------------------------------------------------------------------------
    def create_run(self, run_id: str, config_key: str, model_spec: str, task_names: Sequence[str],
                   seed: int, manifest: Mapping[str, Any]) -> None:
        with self.engine.begin() as conn:
            conn.execute(insert(runs).values(
                id=run_id, created_at=utcnow(), status="running", config_key=config_key,
                model_spec=model_spec, tasks=list(task_names), seed=seed, manifest=dict(manifest),
            ))

    def find_unfinished_run(self, config_key: str) -> str | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(runs.c.id).where(runs.c.config_key == config_key, runs.c.status != "complete")
                .order_by(runs.c.created_at.desc()).limit(1)
            ).first()
        return row[0] if row else None

    def find_complete_run(self, config_key: str) -> str | None:
        """The newest complete run with this configuration key (an identical run), if any."""
        with self.engine.connect() as conn:
            row = conn.execute(
                select(runs.c.id).where(runs.c.config_key == config_key, runs.c.status == "complete")
                .order_by(runs.c.created_at.desc()).limit(1)
            ).first()
        return row[0] if row else None

    def set_run_status(self, run_id: str, status: str) -> None:
        values: dict[str, Any] = {"status": status}
        if status == "complete":
            values["finished_at"] = utcnow()
        with self.engine.begin() as conn:
            conn.execute(update(runs).where(runs.c.id == run_id).values(**values))

    def get_run(self, run_id: str) -> dict[str, Any]:
        with self.engine.connect() as conn:
            row = conn.execute(select(runs).where(runs.c.id == run_id)).mappings().first()
            if row is None:
                # Allow unique prefixes, as git does for commits.
                rows = conn.execute(select(runs).where(runs.c.id.like(f"{run_id}%"))).mappings().all()
                if len(rows) != 1:
                    raise AssayError(f"RUN: no run with id {run_id!r} in the store (see `assay list runs`)")
                row = rows[0]
        return dict(row)

    def list_runs(self) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(runs).order_by(runs.c.created_at)).mappings().all()
        return [dict(r) for r in rows]

    def delete_run(self, run_id: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(samples.delete().where(samples.c.run_id == run_id))
            conn.execute(metrics.delete().where(metrics.c.run_id == run_id))
            conn.execute(runs.delete().where(runs.c.id == run_id))

    # ---- samples ----------------------------------------------------------------------------
    def stored_sample_ids(self, run_id: str, task: str) -> set[str]:
        with self.engine.connect() as conn:
            result = conn.execute(
                select(samples.c.sample_id).where(samples.c.run_id == run_id, samples.c.task == task)
            )
            return {r[0] for r in result}

    def write_chunk(self, run_id: str, sample_rows: Sequence[Mapping[str, Any]],
                    cache_rows: Mapping[str, Mapping[str, Any]]) -> None:
        """Samples and their new cache entries in one transaction: all or nothing."""
        with self.engine.begin() as conn:
            if cache_rows:
                known = self._existing_cache_keys(conn, list(cache_rows))
                fresh = [{"key": k, "response": dict(v)} for k, v in cache_rows.items() if k not in known]
                if fresh:
                    conn.execute(insert(cache), fresh)
            if sample_rows:
                conn.execute(insert(samples), [{"run_id": run_id, **row} for row in sample_rows])

    def count_samples(self, run_id: str, task: str | None = None) -> int:
        query = select(func.count()).select_from(samples).where(samples.c.run_id == run_id)
        if task is not None:
            query = query.where(samples.c.task == task)
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def iter_samples(self, run_id: str, task: str | None = None, columns: Sequence[str] | None = None,
                     batch_size: int = 2000) -> Iterator[dict[str, Any]]:
        """Stream a run's samples in (task, idx) order without loading them all."""
        cols = [samples.c[name] for name in columns] if columns else [samples]
        query = select(*cols).where(samples.c.run_id == run_id)
        if task is not None:
            query = query.where(samples.c.task == task)
        query = query.order_by(samples.c.task, samples.c.idx)
        with self.engine.connect() as conn:
            result = conn.execution_options(stream_results=True, yield_per=batch_size).execute(query)
            for row in result.mappings():
                yield dict(row)

    def sample_tasks(self, run_id: str) -> list[str]:
        # From the trigger-kept counts (assay.store.summary): one row per task, not a walk over the run.
        with self.engine.connect() as conn:
            rows = conn.execute(select(sample_counts.c.task).where(sample_counts.c.run_id == run_id, sample_counts.c.n > 0))
            return sorted(r[0] for r in rows)

    # ---- metrics ----------------------------------------------------------------------------
    def replace_metrics(self, run_id: str, rows: Iterable[Mapping[str, Any]]) -> None:
        with self.engine.begin() as conn:
            conn.execute(metrics.delete().where(metrics.c.run_id == run_id))
            payload = [{"run_id": run_id, **row} for row in rows]
            if payload:
                conn.execute(insert(metrics), payload)

    def get_metrics(self, run_id: str) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(metrics).where(metrics.c.run_id == run_id).order_by(metrics.c.task, metrics.c.name)
            ).mappings().all()
        return [{k: v for k, v in r.items() if k not in ("pk", "run_id")} for r in rows]

    # ---- request cache ----------------------------------------------------------------------
    @staticmethod
    def _existing_cache_keys(conn: Any, keys: list[str]) -> set[str]:
        found: set[str] = set()
        for start in range(0, len(keys), 500):
            part = keys[start:start + 500]
            found.update(r[0] for r in conn.execute(select(cache.c.key).where(cache.c.key.in_(part))))
        return found

    def cache_get_many(self, keys: Sequence[str]) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        with self.engine.connect() as conn:
            for start in range(0, len(keys), 500):
                part = list(keys[start:start + 500])
                for key, response in conn.execute(select(cache.c.key, cache.c.response)
                                                  .where(cache.c.key.in_(part))):
                    found[key] = response
        return found

    def close(self) -> None:
        self.engine.dispose()
