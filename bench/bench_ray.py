"""`--executor ray` against a local run (the anchor) on the embedded model: arith_mc, a few hundred samples.

Both runs go through the real Runner into their own SQLite store (no shared cache). The Ray run uses a local
cluster started on loopback by this script with one CPU per worker. Prints start-up and run wall times, the
ray/local ratio of each, whether every stored sample (responses, scores) is identical, and the 1-minute load
average before and after. On a machine with fewer cores than workers + 1 expect no speed-up: the workers
share the cores with each other and with the driver.

    OMP_NUM_THREADS=1 .venv/bin/python bench/bench_ray.py [--limit 200] [--workers 2] [--task arith_mc]

About 2-3 minutes on 2 quiet cores with the defaults.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from assay.executors.ray_pool import RayModelPool
from assay.models import load_model
from assay.runner import Runner, RunOptions
from assay.store import Store
from assay.tasks import parse_task_list

COLUMNS = ("task", "sample_id", "responses", "extracted", "scores", "error")


def timed_run(model: Any, db: Path, task: str, limit: int) -> tuple[float, list[dict[str, Any]]]:
    store = Store(f"sqlite:///{db}")
    started = time.perf_counter()
    result = Runner(model, store).run(parse_task_list(task), RunOptions(limit=limit, show_progress=False))
    seconds = time.perf_counter() - started
    rows = list(store.iter_samples(result.run_id, columns=COLUMNS))
    store.close()
    return seconds, rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--task", default="arith_mc")
    args = parser.parse_args()
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    print(f"load average (1 min) at start: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores; "
          f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}")
    folder = Path(tempfile.mkdtemp(prefix="bench_ray_"))

    started = time.perf_counter()
    model = load_model("embedded")
    local_start = time.perf_counter() - started
    local_s, local_rows = timed_run(model, folder / "local.db", args.task, args.limit)
    model.close()

    import ray

    started = time.perf_counter()
    ray.init(address="local", num_cpus=args.workers, include_dashboard=False, log_to_driver=False,
             _node_ip_address="127.0.0.1", logging_level="WARNING")
    cluster_start = time.perf_counter() - started
    started = time.perf_counter()
    pool = RayModelPool("embedded", {}, args.workers, notify=print)
    pool_start = time.perf_counter() - started
    try:
        ray_s, ray_rows = timed_run(pool, folder / "ray.db", args.task, args.limit)
    finally:
        pool.close()
        ray.shutdown()

    identical = ray_rows == local_rows
    print(f"{args.task}, {len(local_rows)} samples, embedded model, {args.workers} Ray workers")
    print(f"start-up: local model load {local_start:.1f} s | ray cluster {cluster_start:.1f} s + "
          f"{args.workers} actors loading the model {pool_start:.1f} s")
    print(f"anchor (local run):  {local_s:.1f} s")
    print(f"ray run:             {ray_s:.1f} s   ratio ray/local {ray_s / local_s:.2f}×   "
          f"with start-up {(cluster_start + pool_start + ray_s) / (local_start + local_s):.2f}×")
    print(f"per-sample rows identical: {identical} ({sum(a == b for a, b in zip(ray_rows, local_rows, strict=True))}"
          f"/{len(local_rows)})")
    print(f"load average (1 min) at end: {os.getloadavg()[0]:.2f}")
    if not identical:
        raise SystemExit("ray and local runs stored different samples")


if __name__ == "__main__":
    main()
