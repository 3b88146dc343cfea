"""Per-(run, task) sample counts in `sample_counts`, kept by the database's own triggers, so every writer
(the Runner, uploads, deletions, a bulk load) keeps them, and the pages that list runs read one small
row per task instead of counting millions of samples.

The triggers' presence marks the counts as kept: when they are missing (a new database, or one made
before this table existed), they are created and the counts rebuilt from `samples` in one transaction.
"""

from __future__ import annotations

from sqlalchemy import Connection, text

_REBUILD = ["DELETE FROM sample_counts",
            "INSERT INTO sample_counts (run_id, task, n) SELECT run_id, task, count(*) FROM samples GROUP BY run_id, task"]

_SQLITE = [
    "CREATE TRIGGER IF NOT EXISTS sample_counts_insert AFTER INSERT ON samples BEGIN "
    "INSERT INTO sample_counts (run_id, task, n) VALUES (new.run_id, new.task, 1) "
    "ON CONFLICT (run_id, task) DO UPDATE SET n = n + 1; END",
    "CREATE TRIGGER IF NOT EXISTS sample_counts_delete AFTER DELETE ON samples BEGIN "
    "UPDATE sample_counts SET n = n - 1 WHERE run_id = old.run_id AND task = old.task; "
    "DELETE FROM sample_counts WHERE run_id = old.run_id AND task = old.task AND n <= 0; END",
    "CREATE TRIGGER IF NOT EXISTS sample_counts_update AFTER UPDATE OF run_id, task ON samples BEGIN "
    "UPDATE sample_counts SET n = n - 1 WHERE run_id = old.run_id AND task = old.task; "
    "DELETE FROM sample_counts WHERE run_id = old.run_id AND task = old.task AND n <= 0; "
    "INSERT INTO sample_counts (run_id, task, n) VALUES (new.run_id, new.task, 1) "
    "ON CONFLICT (run_id, task) DO UPDATE SET n = n + 1; END",
]

# Statement-level on PostgreSQL: one grouped upsert per INSERT/DELETE statement, however many rows.
_ADD = ("INSERT INTO sample_counts (run_id, task, n) SELECT run_id, task, count(*) FROM {rows} GROUP BY run_id, task "
        "ON CONFLICT (run_id, task) DO UPDATE SET n = sample_counts.n + EXCLUDED.n")
_SUBTRACT = ("UPDATE sample_counts SET n = sample_counts.n - gone.k FROM "
             "(SELECT run_id, task, count(*) AS k FROM {rows} GROUP BY run_id, task) AS gone "
             "WHERE sample_counts.run_id = gone.run_id AND sample_counts.task = gone.task; "
             "DELETE FROM sample_counts WHERE n <= 0")
_POSTGRES = [
    "CREATE OR REPLACE FUNCTION assay_sample_counts_add() RETURNS trigger LANGUAGE plpgsql AS $$ "
    f"BEGIN {_ADD.format(rows='added_rows')}; RETURN NULL; END $$",
    "CREATE OR REPLACE FUNCTION assay_sample_counts_subtract() RETURNS trigger LANGUAGE plpgsql AS $$ "
    f"BEGIN {_SUBTRACT.format(rows='removed_rows')}; RETURN NULL; END $$",
    "CREATE OR REPLACE FUNCTION assay_sample_counts_move() RETURNS trigger LANGUAGE plpgsql AS $$ "
    f"BEGIN {_SUBTRACT.format(rows='removed_rows')}; {_ADD.format(rows='added_rows')}; RETURN NULL; END $$",
    "CREATE OR REPLACE TRIGGER sample_counts_insert AFTER INSERT ON samples REFERENCING NEW TABLE AS added_rows "
    "FOR EACH STATEMENT EXECUTE FUNCTION assay_sample_counts_add()",
    "CREATE OR REPLACE TRIGGER sample_counts_delete AFTER DELETE ON samples REFERENCING OLD TABLE AS removed_rows "
    "FOR EACH STATEMENT EXECUTE FUNCTION assay_sample_counts_subtract()",
    "CREATE OR REPLACE TRIGGER sample_counts_update AFTER UPDATE ON samples "
    "REFERENCING OLD TABLE AS removed_rows NEW TABLE AS added_rows "
    "FOR EACH STATEMENT EXECUTE FUNCTION assay_sample_counts_move()",
]

_TRIGGER_PRESENT = {
    "sqlite": "SELECT 1 FROM sqlite_master WHERE type = 'trigger' AND name = 'sample_counts_update'",
    # to_regclass: the samples table of this connection's search_path, so a schema per test works.
    "postgresql": "SELECT 1 FROM pg_trigger WHERE tgname = 'sample_counts_update' AND tgrelid = to_regclass('samples')",
}


def sample_counts_kept(conn: Connection) -> bool:
    """Whether the triggers that keep `sample_counts` are in place (else the counts are not to be trusted)."""
    probe = _TRIGGER_PRESENT.get(conn.dialect.name)
    return probe is None or conn.execute(text(probe)).first() is not None


def ensure_sample_counts(conn: Connection) -> bool:
    """Create the triggers and rebuild the counts when the triggers are missing, in `conn`'s transaction;
    returns whether it did."""
    dialect = conn.dialect.name
    if sample_counts_kept(conn):
        return False
    if dialect == "postgresql":
        # No writer may slip rows in between the rebuild and the triggers.
        conn.execute(text("LOCK TABLE samples IN SHARE ROW EXCLUSIVE MODE"))
    for statement in (_SQLITE if dialect == "sqlite" else _POSTGRES) + _REBUILD:
        conn.execute(text(statement))
    return True
