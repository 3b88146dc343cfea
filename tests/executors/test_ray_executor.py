"""`assay run --executor ray`, on a real Ray cluster started on loopback by this module (one cluster for all
its tests, Ray's start-up being the slow part): per-sample results identical to a local run, a worker killed
mid-run replaced without losing anything, and a kill -9 of the driver resumed like a local run."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import require_module

from assay.executors.ray_pool import RayModelPool, process_state_restorer
from assay.models import load_model
from assay.runner import RunAborted, Runner, RunOptions
from assay.store import Store
from assay.tasks import parse_task_list

SAMPLE_COLUMNS = ("task", "sample_id", "idx", "prompt", "request_hashes", "responses", "extracted", "scores",
                  "error", "error_kind")


@pytest.fixture(scope="module")
def ray_address() -> Iterator[str]:
    restore = process_state_restorer()  # the rest of the suite runs in this process
    ray = require_module("ray", "ray is not installed (pip install -e '.[ray]')")
    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
    context = ray.init(address="local", num_cpus=3, include_dashboard=False, log_to_driver=False,
                       _node_ip_address="127.0.0.1", logging_level="WARNING")
    try:
        yield context.address_info["gcs_address"]
    finally:
        ray.shutdown()
        restore()


def _command(db: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "assay.cli", "run", "--db", str(db), "--no-progress", "--json", *args]


def _run(db: Path, *args: str) -> dict[str, Any]:
    done = subprocess.run(_command(db, *args), capture_output=True, text=True, timeout=240,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert done.returncode == 0, done.stderr + done.stdout
    return json.loads(done.stdout)


def _rows(db: Path, run_id: str) -> list[dict[str, Any]]:
    store = Store(str(db), read_only=True)
    try:
        return list(store.iter_samples(run_id, columns=SAMPLE_COLUMNS))
    finally:
        store.close()


def _run_record(db: Path, run_id: str) -> dict[str, Any]:
    store = Store(str(db), read_only=True)
    try:
        return store.get_run(run_id)
    finally:
        store.close()


def _stored(db: Path) -> int:
    try:
        with sqlite3.connect(db) as conn:
            return conn.execute("select count(*) from samples").fetchone()[0]
    except sqlite3.OperationalError:  # not created yet
        return 0


@pytest.mark.slow
def test_embedded_model_on_two_workers_matches_a_local_run(ray_address: str, tmp_path: Path) -> None:
    args = ("--model", "embedded", "--task", "arith,arith_mc", "--limit", "3")
    local = _run(tmp_path / "local.db", *args)
    ray_run = _run(tmp_path / "ray.db", *args, "--executor", "ray", "--workers", "2", "--ray-address", ray_address)
    assert ray_run["stats"]["model_requests"] == local["stats"]["model_requests"] == 15
    assert _rows(tmp_path / "ray.db", ray_run["id"]) == _rows(tmp_path / "local.db", local["id"])
    # Same configuration, same run: the executor is recorded but is not part of the run's identity.
    ray_record, local_record = _run_record(tmp_path / "ray.db", ray_run["id"]), _run_record(tmp_path / "local.db", local["id"])
    assert ray_record["config_key"] == local_record["config_key"]
    assert ray_record["manifest"]["options"]["executor"] == "ray"
    assert ray_record["manifest"]["options"]["workers"] == 2
    assert "executor" not in local_record["manifest"]["options"]


@pytest.mark.slow
def test_samples_are_bit_identical_across_limits_and_one_to_three_workers(ray_address: str, tmp_path: Path) -> None:
    """Batch invariance through the whole pipeline (tests/models/test_row_invariance.py checks it request by
    request): two-pass multiple choice and batched greedy decoding store the same bytes for a sample whatever
    --limit it ran under and however many Ray workers shared the run."""
    args = ("--model", "embedded", "--task", "arith_mc,bbh_direct:boolean_expressions")
    full = _rows(tmp_path / "full.db", _run(tmp_path / "full.db", *args, "--limit", "8")["id"])
    short = _rows(tmp_path / "short.db", _run(tmp_path / "short.db", *args, "--limit", "3")["id"])
    assert len(full) == 16 and len(short) == 6
    assert all(row["responses"] and not row["error"] for row in full)
    by_sample = {(row["task"], row["sample_id"]): row for row in full}
    assert all(by_sample[(row["task"], row["sample_id"])] == row for row in short)
    for workers in (1, 3):
        db = tmp_path / f"ray{workers}.db"
        ray_run = _run(db, *args, "--limit", "8", "--executor", "ray", "--workers", str(workers),
                       "--ray-address", ray_address)
        assert _rows(db, ray_run["id"]) == full, f"{workers} Ray workers"


def test_driver_killed_then_rerun_resumes_with_the_same_results(ray_address: str, tmp_path: Path) -> None:
    """The scripted model on two workers: kill -9 of the driver mid-run, rerun the same command. The reference is
    the same configuration run locally (in this process, to save a start-up)."""
    args = ("--model", "scripted:slow=10", "--task", "arith,arith_mc", "--chunk-size", "10", "--limit", "100")
    reference_store = Store(f"sqlite:///{tmp_path / 'local.db'}")
    reference = Runner(load_model("scripted:slow=10"), reference_store).run(
        parse_task_list("arith,arith_mc"), RunOptions(chunk_size=10, limit=100, show_progress=False))
    ray_args = (*args, "--executor", "ray", "--workers", "2", "--ray-address", ray_address)
    crashed = tmp_path / "crashed.db"
    process = subprocess.Popen(_command(crashed, *ray_args), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               env={**os.environ, "OMP_NUM_THREADS": "1"})
    deadline = time.time() + 90
    while _stored(crashed) < 30 and time.time() < deadline and process.poll() is None:
        time.sleep(0.05)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    partial = _stored(crashed)
    assert 0 < partial < 200, f"kill landed outside the run ({partial} samples stored)"

    resumed = _run(crashed, *ray_args)
    assert resumed["resumed"] is True
    rows = _rows(crashed, resumed["id"])
    assert len({(row["task"], row["sample_id"]) for row in rows}) == len(rows) == 200
    assert rows == list(reference_store.iter_samples(reference.run_id, columns=SAMPLE_COLUMNS))
    assert _run_record(crashed, resumed["id"])["config_key"] == reference_store.get_run(reference.run_id)["config_key"]


def test_a_worker_killed_mid_run_is_replaced_and_nothing_is_lost(ray_address: str, tmp_path: Path) -> None:
    tasks = parse_task_list("arith")
    options = {"chunk_size": 10, "show_progress": False, "limit": 60}
    local_store = Store(f"sqlite:///{tmp_path / 'local.db'}")
    local = Runner(load_model("scripted:slow=20"), local_store).run(tasks, RunOptions(**options))

    notes: list[str] = []
    pool = RayModelPool("scripted:slow=20", {}, workers=2, notify=notes.append)
    first_pids = pool.worker_pids()
    killer: list[threading.Timer] = []

    class KillDuringSecondBatch:
        """Delegates to the pool; while the second of six batches is being answered (5 requests of 20 ms on each worker),
        worker 1's process is killed with SIGKILL."""

        def __init__(self) -> None:
            self.spec, self.max_context, self.batches = pool.spec, pool.max_context, 0

        def __getattr__(self, name: str) -> Any:
            return getattr(pool, name)

        def generate(self, requests: Any) -> Any:
            self.batches += 1
            if self.batches == 2:
                killer.append(threading.Timer(0.05, os.kill, (first_pids[0], signal.SIGKILL)))
                killer[0].start()
            return pool.generate(requests)

    ray_store = Store(f"sqlite:///{tmp_path / 'ray.db'}")
    try:
        result = Runner(KillDuringSecondBatch(), ray_store).run(tasks, RunOptions(**options))  # type: ignore[arg-type]
    finally:
        pool.close()
    killer[0].join()
    assert pool.replacements == 1
    assert pool.worker_pids()[0] != first_pids[0]
    assert len(notes) == 1 and "worker 1 died" in notes[0] and "retry 1 of 3" in notes[0]
    assert result.stats["model_requests"] == local.stats["model_requests"] == 60
    assert result.stats["request_errors"] == 0
    ray_rows = list(ray_store.iter_samples(result.run_id, columns=SAMPLE_COLUMNS))
    assert ray_rows == list(local_store.iter_samples(local.run_id, columns=SAMPLE_COLUMNS))
    assert len(ray_rows) == 60


def test_a_shard_that_keeps_killing_workers_stops_the_run_resumably(ray_address: str, tmp_path: Path) -> None:
    """Worker 1 is killed, then every replacement dies as soon as it has loaded: after 3 replacements the run
    stops like an unreachable backend, keeping what it stored; a local rerun resumes it."""
    tasks = parse_task_list("arith")
    options = {"chunk_size": 10, "show_progress": False, "limit": 30}
    notes: list[str] = []
    pool = RayModelPool("scripted:echo", {}, workers=2, notify=notes.append)
    replace = pool._replace

    def replace_then_kill(slot: int) -> None:
        replace(slot)
        os.kill(pool.worker_pids()[slot], signal.SIGKILL)

    pool._replace = replace_then_kill  # type: ignore[method-assign]

    class KillAtSecondBatch:
        def __init__(self) -> None:
            self.spec, self.max_context, self.batches = pool.spec, pool.max_context, 0

        def __getattr__(self, name: str) -> Any:
            return getattr(pool, name)

        def generate(self, requests: Any) -> Any:
            self.batches += 1
            if self.batches == 2:
                os.kill(pool.worker_pids()[0], signal.SIGKILL)
            return pool.generate(requests)

    store = Store(f"sqlite:///{tmp_path / 'ray.db'}")
    try:
        with pytest.raises(RunAborted, match=r"a Ray worker died on the same 5 generate requests 4 times.*resumes when "
                                             r"you rerun"):
            Runner(KillAtSecondBatch(), store).run(tasks, RunOptions(**options))  # type: ignore[arg-type]
    finally:
        pool.close()
    assert pool.replacements == 3 and len(notes) == 3 and "retry 3 of 3" in notes[-1]
    (run,) = store.list_runs()
    assert store.count_samples(run["id"]) == 10  # the first batch, stored before the worker died
    resumed = Runner(load_model("scripted:echo"), store).run(tasks, RunOptions(**options))
    assert resumed.resumed and resumed.run_id == run["id"] and store.count_samples(run["id"]) == 30


def test_more_workers_than_the_cluster_can_hold_is_one_line(ray_address: str) -> None:
    from assay.errors import AssayError

    with pytest.raises(AssayError, match=r"^--workers 4: each worker needs a CPU and the Ray cluster has 3$"):
        RayModelPool("scripted:echo", {}, workers=4)


def test_a_backend_error_inside_a_worker_is_raised_as_itself(ray_address: str) -> None:
    from assay.errors import AssayError

    with pytest.raises(AssayError, match="unknown scripted model 'nosuch'"):
        RayModelPool("scripted:nosuch", {}, workers=1)
