"""Two processes creating the same new database at once both succeed: the schema is created (and
upgraded) under a lock, once, and the other process finds it made."""

from __future__ import annotations

import json
import multiprocessing
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pg_support import POSTGRES_ENV, env_url, fresh_schema, in_schema

from assay.store import Store

_ENV = {k: v for k, v in os.environ.items() if k != "ASSAY_DB"}


def _start_run(db: Path, model: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "assay.cli", "run", "--model", model, "--task", "arith", "--limit", "3",
                             "--db", f"sqlite:///{db}", "--no-progress", "--json"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=db.parent, env={**_ENV, "OMP_NUM_THREADS": "1"})


def test_two_assay_runs_creating_the_same_new_file(tmp_path: Path) -> None:
    for round_number in range(5):
        db = tmp_path / f"same-new-file-{round_number}.db"
        # Two models: two different runs, so neither finds the other's as "identical" and both store one.
        processes = [_start_run(db, model) for model in ("scripted:echo", "scripted:constant=7")]
        ids = []
        for process in processes:
            stdout, stderr = process.communicate(timeout=300)
            assert process.returncode == 0, f"round {round_number}: {stderr[-2000:]}"
            ids.append(json.loads(stdout)["id"])
        store = Store(str(db), read_only=True)
        stored = {run["id"]: run["status"] for run in store.list_runs()}
        assert stored == dict.fromkeys(ids, "complete")
        assert all(store.count_samples(run_id) == 3 for run_id in ids)
        store.close()


def _open_at(barrier: Any, url: str, errors: Any) -> None:
    try:
        barrier.wait(timeout=60)
        Store(url).close()
    except Exception as exc:  # reported to the parent, which fails the test with it
        errors.put(f"{type(exc).__name__}: {exc}")


def _open_together(urls: Iterator[str], workers: int = 4) -> None:
    """The race made likely: processes released together by a barrier, each opening the same new database."""
    context = multiprocessing.get_context("fork")
    for round_number, url in enumerate(urls):
        barrier, errors = context.Barrier(workers), context.Queue()
        processes = [context.Process(target=_open_at, args=(barrier, url, errors)) for _ in range(workers)]
        for process in processes:
            process.start()
        for process in processes:
            process.join(timeout=120)
        failures = []
        while not errors.empty():
            failures.append(errors.get(timeout=10))
        assert not failures and all(p.exitcode == 0 for p in processes), f"round {round_number}: {failures}"
        store = Store(url, read_only=True)
        assert store.list_runs() == []
        store.close()


def test_stores_opened_at_one_instant_on_a_new_file(tmp_path: Path) -> None:
    _open_together(f"sqlite:///{tmp_path / f'new-{n}.db'}" for n in range(5))


def test_stores_opened_at_one_instant_on_a_new_postgres_schema() -> None:
    owner = env_url(POSTGRES_ENV)

    def schemas() -> Iterator[str]:
        for _ in range(3):
            with fresh_schema(owner) as name:
                yield in_schema(owner, name)

    _open_together(schemas())
