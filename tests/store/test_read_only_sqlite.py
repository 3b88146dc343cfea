"""Commands that only read never change a SQLite database: a store made by real `assay run`s (and a
battle's judgments), `chmod 444`, read by every read-only command and the web app, is byte-identical
afterwards and has no -wal/-shm file left beside it. Tests run as root in CI, where file permissions
mean nothing: the proof is the sha256 of the file and a reader's engine that SQLite itself refuses
writes on, not the mode bits."""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import shutil
import sqlite3
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import insert, text
from sqlalchemy.exc import OperationalError

from assay.errors import AssayError
from assay.store import Store
from assay.store.schema import runs

_ENV = {k: v for k, v in os.environ.items() if k not in ("ASSAY_ADMIN_TOKEN", "ASSAY_LABEL_TOKEN", "ASSAY_DB")}


def _assay(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "assay.cli", *args], capture_output=True, text=True, timeout=300,
                          cwd=cwd, env={**_ENV, "OMP_NUM_THREADS": "1"})


def _ok(*args: str, cwd: Path) -> str:
    out = _assay(*args, cwd=cwd)
    assert out.returncode == 0, f"assay {' '.join(args)} failed ({out.returncode}): {out.stderr[-2000:]}"
    return out.stdout


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _beside(db: Path) -> set[str]:
    return {p.name for p in db.parent.iterdir() if p.name.startswith(db.name) and p != db}


class Made:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.db = folder / "made.db"
        self.runs: dict[str, str] = {}
        self.judges: list[str] = []


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> Made:
    """A store as a user makes one: runs of two models, a long-context run, a battle between the two."""
    made = Made(tmp_path_factory.mktemp("made"))
    for name, model, task in (("a", "scripted:echo", "arith"), ("b", "scripted:constant=7", "arith"),
                              ("longctx", "scripted:echo", "niah_single:lengths=256+512/depths=0+1")):
        args = ["run", "--model", model, "--task", task, "--db", str(made.db), "--no-progress", "--json"]
        if task == "arith":
            args += ["--limit", "3"]
        made.runs[name] = json.loads(_ok(*args, cwd=made.folder))["id"]
    for verdict in ("A", "B"):  # two judges: agreement has a reference
        rules = made.folder / f"judge{verdict}.rules.json"
        rules.write_text(json.dumps([{"match": "assistant A", "answer": f"[[{verdict}]]"}]), encoding="utf-8")
        made.judges.append(f"scripted:judge={rules}")
        _ok("battle", made.runs["a"], made.runs["b"], "--judge", made.judges[-1], "--no-progress",
            "--db", str(made.db), cwd=made.folder)
    assert _beside(made.db) == set()
    return made


def _drop_full_text_index(db: Path) -> None:
    """Make the store one from before the full-text index (derived data a reader must not build)."""
    with contextlib.closing(sqlite3.connect(db)) as conn, conn:
        for trigger in ("samples_fts_insert", "samples_fts_delete", "samples_fts_update"):
            conn.execute(f"DROP TRIGGER {trigger}")
        conn.execute("DROP TABLE samples_fts")
        conn.execute("DROP VIEW samples_search_doc")


def _drop_a_column(db: Path) -> None:
    """Make the store one from before metrics were declared (a column an upgrade adds)."""
    with contextlib.closing(sqlite3.connect(db)) as conn, conn:
        conn.execute('ALTER TABLE metrics DROP COLUMN "scale"')


@pytest.fixture()
def copy(made: Made, tmp_path: Path) -> Iterator[Path]:
    db = tmp_path / "store.db"
    shutil.copyfile(made.db, db)
    yield db
    db.chmod(0o644)


def _read_only_commands(made: Made, db: Path) -> list[list[str]]:
    a, b, longctx = made.runs["a"], made.runs["b"], made.runs["longctx"]
    out = db.parent
    commands = [["list", "runs"], ["list", "runs", "--json"], ["show", a], ["show", a, "--json"],
                ["export", a, "--format", "jsonl", "-o", str(out / "a.jsonl")],
                ["export", a, "--format", "csv", "-o", str(out / "a.csv")],
                ["report", a, b, "-o", str(out / "report.html")], ["compare", a, b],
                ["heatmap", longctx, "--out-dir", str(out / "pngs")],
                ["agreement", "--reference", made.judges[0]], ["bias"], ["arena", "--rounds", "20"],
                ["winrate", "--baseline", "scripted:echo"]]
    return [[*command, "--db", str(db)] for command in commands]


def _web_pages(db: Path, made: Made, words_search: bool) -> None:
    from fastapi.testclient import TestClient

    from assay.web import create_app

    client = TestClient(create_app(str(db)))
    for path in ("/", "/runs", f"/runs/{made.runs['a']}", f"/runs/{made.runs['longctx']}", "/api/leaderboard",
                 "/api/runs", f"/api/runs/{made.runs['a']}/samples?q=3&match=substring", "/arena", "/agreement",
                 f"/compare?a={made.runs['a']}&b={made.runs['b']}"):
        assert client.get(path).status_code == 200, path
    search = client.get("/api/search?q=needle")
    if words_search:
        assert search.status_code == 200
    else:
        # Readers never build the index: word search says what to do instead of building it.
        assert search.status_code == 422 and "assay db upgrade" in search.json()["detail"]
    client.app.state.store.close()


@pytest.mark.parametrize("older", [False, True], ids=["current", "without-full-text-index"])
def test_read_only_commands_leave_a_chmod_444_database_byte_identical(made: Made, copy: Path, older: bool,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    if older:
        _drop_full_text_index(copy)
    copy.chmod(0o444)
    before = _sha(copy)
    for command in _read_only_commands(made, copy):
        _ok(*command, cwd=copy.parent)
        assert _sha(copy) == before, f"assay {' '.join(command)} changed the database"
        assert _beside(copy) == set(), f"assay {' '.join(command)} left {_beside(copy)}"
    for name in ("ASSAY_ADMIN_TOKEN", "ASSAY_LABEL_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    _web_pages(copy, made, words_search=not older)
    assert _sha(copy) == before and _beside(copy) == set()
    assert stat.S_IMODE(copy.stat().st_mode) == 0o444


def test_a_reader_cannot_write_even_as_root(made: Made, copy: Path) -> None:
    store = Store(str(copy), read_only=True)
    with pytest.raises(OperationalError, match="readonly"), store.engine.begin() as conn:
        conn.execute(insert(runs).values(id="x", created_at=dt.datetime.now(dt.UTC), status="running",
                                         config_key="k", model_spec="m", tasks=[], seed=0, manifest={}))
    with pytest.raises(OperationalError, match="readonly"), store.engine.begin() as conn:
        conn.execute(text("PRAGMA journal_mode=DELETE")).fetchall()
        conn.execute(text("CREATE TABLE notes (x TEXT)"))
    store.close()


def test_a_database_that_needs_an_upgrade_is_one_line_for_readers_and_upgraded_by_db_upgrade(
        made: Made, copy: Path) -> None:
    _drop_full_text_index(copy)
    _drop_a_column(copy)
    before = _sha(copy)
    for command in (["list", "runs"], ["show", made.runs["a"]], ["export", made.runs["a"], "-o", "a.jsonl"]):
        out = _assay(*command, "--db", str(copy), cwd=copy.parent)
        lines = [line for line in out.stderr.splitlines() if line.strip()]
        assert out.returncode == 2 and len(lines) == 1 and "Traceback" not in out.stderr, out.stderr
        assert "predates this version of assay" in lines[0] and f"assay db upgrade --db {copy}" in lines[0]
    assert _sha(copy) == before and _beside(copy) == set()
    with pytest.raises(AssayError, match="predates"):
        Store(str(copy), read_only=True)

    upgraded = _ok("db", "upgrade", "--db", str(copy), cwd=copy.parent)
    assert "added column metrics.scale" in upgraded and "built the full-text index" in upgraded
    assert _ok("db", "upgrade", "--db", str(copy), cwd=copy.parent).strip().endswith("up to date")
    # Nothing stored was lost: the runs, their samples and metrics read as before.
    listed = {r["id"]: r["samples"] for r in json.loads(_ok("list", "runs", "--json", "--db", str(copy), cwd=copy.parent))}
    assert listed[made.runs["a"]] == 3 and set(made.runs.values()) <= set(listed)
    shown = json.loads(_ok("show", made.runs["a"], "--json", "--db", str(copy), cwd=copy.parent))
    assert shown["metrics"] and shown["samples"] == 3


def test_a_killed_writers_wal_is_read_and_left_as_it_was(made: Made, copy: Path) -> None:
    # A writer killed after a commit leaves its frames in the -wal file, not yet in the database file.
    writer = ("import os, sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.execute('PRAGMA journal_mode=WAL'); "
              "c.execute(\"INSERT INTO request_cache (key, response) VALUES ('killed', '{}')\"); c.commit(); os._exit(0)")
    subprocess.run([sys.executable, "-c", writer, str(copy)], check=True, timeout=60)
    assert _beside(copy) == {"store.db-wal", "store.db-shm"}
    before, wal = _sha(copy), _sha(copy.with_name("store.db-wal"))
    _ok("list", "runs", "--db", str(copy), cwd=copy.parent)
    store = Store(str(copy), read_only=True)
    assert store.cache_get_many(["killed"]) == {"killed": {}}
    store.close()
    # Read, not copied into the database by a reader's close.
    assert _sha(copy) == before and _sha(copy.with_name("store.db-wal")) == wal


def test_db_upgrade_refuses_a_missing_file(tmp_path: Path) -> None:
    out = _assay("db", "upgrade", "--db", str(tmp_path / "typo.db"), cwd=tmp_path)
    assert out.returncode == 2 and "no database at" in out.stderr and "Traceback" not in out.stderr
    assert list(tmp_path.iterdir()) == []
