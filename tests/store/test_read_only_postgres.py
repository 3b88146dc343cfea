"""Commands that only read work on PostgreSQL with a role that may only SELECT, and never write even
with a role that could. Skips without ASSAY_TEST_POSTGRES_URL / ASSAY_TEST_POSTGRES_READER_URL (set by
`eval "$(.ci/postgres.sh)"`), fails without them under CI."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from pg_support import POSTGRES_ENV, READER_ENV, env_url, fresh_schema, in_schema
from sqlalchemy import create_engine, insert, inspect, text
from sqlalchemy.exc import DBAPIError

from assay.store import Store
from assay.store.schema import runs
from assay.store.search import PG_INDEX

_ENV = {k: v for k, v in os.environ.items() if k not in ("ASSAY_ADMIN_TOKEN", "ASSAY_LABEL_TOKEN", "ASSAY_DB")}


def _ok(*args: str, cwd: Path) -> str:
    out = subprocess.run([sys.executable, "-m", "assay.cli", *args], capture_output=True, text=True, timeout=300,
                         cwd=cwd, env={**_ENV, "OMP_NUM_THREADS": "1"})
    assert out.returncode == 0, f"assay {' '.join(args)} failed ({out.returncode}): {out.stderr[-2000:]}"
    return out.stdout


@pytest.fixture()
def schema() -> Iterator[tuple[str, str, str]]:
    """(schema, the owner's URL, the SELECT-only reader's URL) of a fresh schema, dropped afterwards."""
    owner, reader = env_url(POSTGRES_ENV), env_url(READER_ENV)
    with fresh_schema(owner) as name:
        yield name, in_schema(owner, name), in_schema(reader, name)


def test_a_select_only_role_reads_a_store_it_cannot_write(schema: tuple[str, str, str], tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    name, owner_url, reader_url = schema
    run_id = json.loads(_ok("run", "--model", "scripted:echo", "--task", "arith", "--limit", "3", "--db", owner_url,
                            "--no-progress", "--json", cwd=tmp_path))["id"]
    reader_role = reader_url.split("://", 1)[1].split(":", 1)[0]
    owner = create_engine(owner_url.replace("postgresql://", "postgresql+psycopg://", 1))
    with owner.begin() as conn:
        # Derived data missing (a store from before the GIN index): a reader must not build it.
        conn.execute(text(f"DROP INDEX {PG_INDEX}"))
        conn.execute(text(f'GRANT USAGE ON SCHEMA "{name}" TO "{reader_role}"'))
        conn.execute(text(f'GRANT SELECT ON ALL TABLES IN SCHEMA "{name}" TO "{reader_role}"'))

    assert run_id in _ok("list", "runs", "--db", reader_url, cwd=tmp_path)
    assert json.loads(_ok("show", run_id, "--json", "--db", reader_url, cwd=tmp_path))["samples"] == 3
    _ok("export", run_id, "-o", str(tmp_path / "run.jsonl"), "--db", reader_url, cwd=tmp_path)
    assert len((tmp_path / "run.jsonl").read_text(encoding="utf-8").splitlines()) > 3

    from fastapi.testclient import TestClient

    from assay.web import create_app

    for variable in ("ASSAY_ADMIN_TOKEN", "ASSAY_LABEL_TOKEN"):
        monkeypatch.delenv(variable, raising=False)
    client = TestClient(create_app(reader_url))
    for path in ("/", "/runs", f"/runs/{run_id}", "/api/leaderboard", f"/api/runs/{run_id}/samples?q=3"):
        assert client.get(path).status_code == 200, path
    client.app.state.store.close()
    with owner.connect() as conn:
        assert PG_INDEX not in {i["name"] for i in inspect(conn).get_indexes("samples")}
    owner.dispose()


def test_a_read_only_store_cannot_write_even_with_a_role_that_could(schema: tuple[str, str, str]) -> None:
    _, owner_url, _ = schema
    Store(owner_url).close()  # the tables, made by a writer
    store = Store(owner_url, read_only=True)
    with pytest.raises(DBAPIError, match="read-only transaction"), store.engine.begin() as conn:
        conn.execute(insert(runs).values(id="x", created_at=dt.datetime.now(dt.UTC), status="running",
                                         config_key="k", model_spec="m", tasks=[], seed=0, manifest={}))
    store.close()
