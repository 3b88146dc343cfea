"""Bring a store up to the current schema: missing tables created, columns added since added to the
existing tables (nullable, so old runs stay readable and nothing is rewritten), derived data built.

Only writers upgrade (a Store opened for writing, `assay db upgrade`); readers ask `pending_upgrade`
what is missing and change nothing. The upgrade runs under a lock, so that two processes opening the
same new database at once do not both create its tables: an immediate (write-locked) transaction on
SQLite, a transaction-scoped advisory lock on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine, inspect, text

from assay.store.schema import metadata, samples
from assay.store.search import ensure_search_index, search_index_present
from assay.store.summary import ensure_sample_counts, sample_counts_kept

FULL_TEXT_INDEX = "full-text index"
SAMPLE_COUNTS = "sample counts"


def pending_upgrade(conn: Connection) -> list[str]:
    """What an upgrade would do to this database ("table X", "column T.C", or derived data), read only."""
    inspector = inspect(conn)
    pending = []
    for table in metadata.sorted_tables:
        if not inspector.has_table(table.name):
            pending.append(f"table {table.name}")
            continue
        present = {column["name"] for column in inspector.get_columns(table.name)}
        pending.extend(f"column {table.name}.{c.name}" for c in table.columns if c.name not in present)
    if inspector.has_table(samples.name):
        if not search_index_present(conn):
            pending.append(FULL_TEXT_INDEX)
        if not sample_counts_kept(conn):
            pending.append(SAMPLE_COUNTS)
    return pending


def add_missing_columns(conn: Connection) -> list[str]:
    """ALTER TABLE ... ADD COLUMN for each column the schema has and the database lacks; returns them."""
    inspector = inspect(conn)
    added = []
    preparer = conn.dialect.identifier_preparer
    for table in metadata.sorted_tables:
        present = {column["name"] for column in inspector.get_columns(table.name)}
        for column in table.columns:
            if column.name in present:
                continue
            if not column.nullable:
                raise RuntimeError(f"schema: new column {table.name}.{column.name} must be nullable to be added")
            column_type = column.type.compile(dialect=conn.dialect)
            conn.execute(text(f"ALTER TABLE {preparer.quote(table.name)} ADD COLUMN "
                              f"{preparer.quote(column.name)} {column_type}"))
            added.append(f"{table.name}.{column.name}")
    return added


def build_derived(conn: Connection) -> list[str]:
    """Derived data newer stores keep (the full-text index, per-run sample counts), built when missing
    and filled from the stored samples; idempotent, and nothing stored is rewritten."""
    built = []
    if ensure_search_index(conn):
        built.append(FULL_TEXT_INDEX)
    if ensure_sample_counts(conn):
        built.append(SAMPLE_COUNTS)
    return built


@contextmanager
def _schema_lock(engine: Engine) -> Iterator[Connection]:
    """A connection in a transaction that no other upgrader of this database runs beside; committed at the end."""
    with engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            # The driver does not begin a transaction before DDL: begin one that takes the write lock now
            # (waiting up to the busy timeout for another upgrader), so the checks below see its tables.
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        elif conn.dialect.name == "postgresql":
            # One lock per schema (tests and deployments may keep several stores in one database).
            conn.execute(text("SELECT pg_advisory_xact_lock(hashtext('assay schema ' || current_schema()))"))
        yield conn
        conn.commit()


def upgrade(engine: Engine) -> list[str]:
    """Create, add and build what the database lacks; returns what was done (empty: it was up to date)."""
    with engine.connect() as conn:
        if not pending_upgrade(conn):
            return []
    with _schema_lock(engine) as conn:
        # Checked again under the lock: another process may have upgraded it meanwhile.
        inspector = inspect(conn)
        missing = [t for t in metadata.sorted_tables if not inspector.has_table(t.name)]
        metadata.create_all(conn, tables=missing)
        done = [f"created table {t.name}" for t in missing]
        done.extend(f"added column {name}" for name in add_missing_columns(conn))
        done.extend(f"built the {name}" for name in build_derived(conn))
    return done
