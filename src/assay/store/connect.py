"""The engine a Store talks through: a writer's, or a reader's that cannot change the database.

A reader on SQLite opens the file without creating it, with `PRAGMA query_only`: SQLite itself refuses
every write. The open mode:
- a file it may write (its owner, root) with no -wal file: `mode=rw`, so that SQLite's own last-close
  tidy-up removes the -wal/-shm files a WAL database needs while open (a `mode=ro` connection leaves them);
- otherwise (chmod 444, another user's file, a writer at work): `mode=ro`; and when a WAL database has no
  -wal file and the reader cannot create one (a read-only folder), `immutable=1`: with no -wal file and
  none creatable, no writer of ours is at work on it.
A reader on PostgreSQL runs every transaction READ ONLY (a role with SELECT only works).
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event

BUSY_TIMEOUT_MS = 30_000


def _sqlite_writer_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # busy_timeout first: turning a new file to WAL takes a lock that a concurrent first user may hold.
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    # WAL + synchronous=NORMAL: a kill -9 loses at most the open transaction, never a committed one. Turning a new
    # file to WAL needs its exclusive lock, and SQLite answers "locked" at once, without the busy wait, while a
    # concurrent first user holds a lock on it: try again until the busy timeout.
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            break
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _postgres_read_only(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("SET default_transaction_read_only = on")
    cursor.close()
    dbapi_connection.commit()  # a SET rolled back would be undone


def _reader_uris(path: Path) -> list[str]:
    """The URIs to try, in order, for a read-only connection to the SQLite file at `path`."""
    uri = path.resolve().as_uri()
    wal = path.with_name(path.name + "-wal")
    # With a -wal file present (a writer at work, or one that was killed) a read-write connection closing
    # last would copy its frames into the file: read only then, using the files that are there.
    uris = [f"{uri}?mode=rw"] if os.access(path, os.W_OK) and not wal.exists() else []
    uris.append(f"{uri}?mode=ro")
    if not wal.exists() and not os.access(path.resolve().parent, os.W_OK):
        uris.append(f"{uri}?mode=ro&immutable=1")
    return uris


def _sqlite_reader(path: Path) -> Callable[[], sqlite3.Connection]:
    def connect() -> sqlite3.Connection:
        uris = _reader_uris(path)
        for number, uri in enumerate(uris, start=1):
            connection = sqlite3.connect(uri, uri=True, check_same_thread=False)
            connection.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            connection.execute("PRAGMA query_only=ON")
            try:
                # The first read opens the WAL index: where a read-only WAL database fails, it fails here.
                connection.execute("SELECT count(*) FROM sqlite_master").fetchone()
            except sqlite3.OperationalError:
                connection.close()
                if number == len(uris):
                    raise
                continue
            return connection
        raise AssertionError("unreachable: _reader_uris returns at least one URI")

    return connect


def open_engine(url: str, read_only: bool) -> Engine:
    """An engine for `url` (already normalised); `read_only`: every write is refused by the database."""
    probe = create_engine(url, future=True)
    dialect = probe.dialect.name
    path = probe.url.database
    if not read_only:
        if dialect == "sqlite":
            event.listen(probe, "connect", _sqlite_writer_pragmas)
        return probe
    if dialect == "sqlite" and path and path != ":memory:":
        probe.dispose()
        return create_engine(url, future=True, creator=_sqlite_reader(Path(path).expanduser()))
    if dialect == "postgresql":
        event.listen(probe, "connect", _postgres_read_only)
    return probe
