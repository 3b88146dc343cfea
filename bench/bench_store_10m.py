"""A public leaderboard's store at 10 million samples: page and search latency through the real web app.

    .venv/bin/python bench/bench_store_10m.py --url postgresql://assay:assay@127.0.0.1:5432/assay_bench10m
    .venv/bin/python bench/bench_store_10m.py --sqlite /tmp/assay-1m.db --runs 100    # 1M samples on SQLite

Builds the store first unless it already holds the runs asked for (then the build is skipped): R runs
(default 1000 = 100 models × 10 checkpoints) × 10 tasks × 1000 samples. Each run is created, finished
and given its metrics through the Store API (real manifest, metrics computed from its stored samples);
the samples are generated server-side on PostgreSQL (INSERT ... SELECT, one statement per run) and
through `Store.write_chunk` on SQLite (see _store_synthetic.py).

Then it serves the store with the real server (uvicorn on a loopback port) and times HTTP requests:
leaderboard, run page, compare page (HTML), the run's sample browser search and the store-wide search
(/api/search) for a common word, a rare word, a phrase and a word that is nowhere. Anchors: the issue's
targets, 300 ms a page and 1 s a search; each figure is printed with its ratio to its target.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _store_synthetic import (  # noqa: E402
    POSTGRES_INSERT,
    SyntheticQATask,
    accuracy_per_mille,
    sample_row,
    task_name,
    vocabulary,
)
from sqlalchemy import func, select, text  # noqa: E402

from assay.aggregate import compute_run_metrics  # noqa: E402
from assay.manifest import build_manifest, config_key  # noqa: E402
from assay.store import Store  # noqa: E402
from assay.store.schema import runs, sample_counts  # noqa: E402
from assay.store.search import PG_INDEX, ensure_search_index  # noqa: E402

PAGE_TARGET_S = 0.300
SEARCH_TARGET_S = 1.0
TASKS, PER_TASK, RUNS_PER_MODEL = 10, 1000, 10
RUN_PREFIX = "bench10m"


def run_id_of(run: int) -> str:
    return f"{RUN_PREFIX}{run:05d}"


def model_of(run: int) -> str:
    return f"scripted:bench-model-{run // RUNS_PER_MODEL:03d}"


# ---- building ----------------------------------------------------------------------------------

def stored_state(store: Store, n_runs: int) -> tuple[int, int]:
    """(complete bench runs, their samples)."""
    with store.engine.connect() as conn:
        complete = conn.execute(select(func.count()).select_from(runs).where(
            runs.c.id.startswith(RUN_PREFIX), runs.c.status == "complete")).scalar_one()
        total = conn.execute(select(func.coalesce(func.sum(sample_counts.c.n), 0))).scalar_one()
    return int(complete), int(total)


def build(store: Store, n_runs: int) -> None:
    vocab = vocabulary()
    tasks = [SyntheticQATask(t, PER_TASK) for t in range(TASKS)]
    specs = {task.name: task.spec() for task in tasks}
    postgres = store.engine.dialect.name == "postgresql"
    with store.engine.connect() as conn:
        done = {r[0] for r in conn.execute(select(runs.c.id).where(runs.c.id.startswith(RUN_PREFIX),
                                                                    runs.c.status == "complete"))}
        partial = [r[0] for r in conn.execute(select(runs.c.id).where(runs.c.id.startswith(RUN_PREFIX),
                                                                       runs.c.status != "complete"))]
    for run_id in partial:  # an interrupted build: its last run is written again
        store.delete_run(run_id)
    if postgres:
        # The GIN index is built once after the load (several times faster than row by row).
        with store.engine.begin() as conn:
            conn.execute(text(f"DROP INDEX IF EXISTS {PG_INDEX}"))
    started = time.perf_counter()
    for run in range(n_runs):
        run_id = run_id_of(run)
        if run_id in done:
            continue
        model = model_of(run)
        fingerprint = {"backend": "scripted", "spec": model}
        store.create_run(run_id, config_key(fingerprint, list(specs.values()), 1, None), model, list(specs), 1,
                         build_manifest(model, fingerprint, specs, 1, None, {}))
        accuracy = accuracy_per_mille(run, RUNS_PER_MODEL, n_runs // RUNS_PER_MODEL)
        if postgres:
            with store.engine.begin() as conn:
                conn.execute(text("SET LOCAL synchronous_commit = off"))
                conn.execute(text(POSTGRES_INSERT), {"run_id": run_id, "run": run, "accuracy": accuracy, "tasks": TASKS,
                                                     "per_task": PER_TASK, "model_spec": model})
        else:
            for t in range(TASKS):
                store.write_chunk(run_id, [sample_row(vocab, run, model, accuracy, t, i, PER_TASK)
                                           for i in range(PER_TASK)], {})
        compute_run_metrics(store, run_id, tasks)
        store.set_run_status(run_id, "complete")
        if run % 25 == 24 or run == n_runs - 1:
            elapsed = time.perf_counter() - started
            print(f"  built run {run + 1}/{n_runs} ({elapsed:.0f} s, load {os.getloadavg()[0]:.1f})", flush=True)
    if postgres:
        start = time.perf_counter()
        with store.engine.begin() as conn:
            conn.execute(text("SET LOCAL maintenance_work_mem = '1GB'"))
            conn.execute(text(f"CREATE INDEX IF NOT EXISTS {PG_INDEX} ON samples USING gin (search_doc)"))
        with store.engine.begin() as conn:
            ensure_search_index(conn)
        print(f"  GIN index built in {time.perf_counter() - start:.0f} s", flush=True)
        with store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE samples"))
            conn.execute(text("VACUUM ANALYZE metrics"))
            conn.execute(text("VACUUM ANALYZE runs"))
            conn.execute(text("VACUUM ANALYZE sample_counts"))


def check_rows_match_generator(store: Store, n_runs: int) -> str:
    """The stored rows equal what `sample_row` makes, and the task's own scorer gives their scores."""
    from assay.types import Response, Sample

    vocab = vocabulary()
    checked = 0
    for run in sorted({0, n_runs // 2, n_runs - 1}):
        for t, i in ((0, 0), (TASKS - 1, PER_TASK - 1), (3, 517)):
            model = model_of(run)
            expected = sample_row(vocab, run, model, accuracy_per_mille(run, RUNS_PER_MODEL, n_runs // RUNS_PER_MODEL),
                                  t, i, PER_TASK)
            stored = next(r for r in store.iter_samples(run_id_of(run), task_name(t)) if r["idx"] == i)
            got = {k: stored[k] for k in expected if k != "task"} | {"task": stored["task"]}
            if got != expected:
                raise SystemExit(f"stored row differs from the generator: run {run} task {t} sample {i}:\n"
                                 f"{got}\n{expected}")
            rescored = SyntheticQATask(t, PER_TASK).score(Sample(id="x", input="", target=expected["target"]),
                                                          [Response(text=expected["responses"][0]["text"])])
            if (rescored.extracted, rescored.scores) != (stored["extracted"], stored["scores"]):
                raise SystemExit(f"the task's scorer disagrees with stored row run {run} task {t} sample {i}")
            checked += 1
    return f"{checked} stored rows equal the Python generator and the task's scorer"


# ---- measuring ---------------------------------------------------------------------------------

def serve(store: Store) -> tuple[str, Any]:
    import uvicorn

    from assay.web import create_app

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(store, admin_token=""), host="127.0.0.1", port=port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(200):
        if server.started:
            return f"http://127.0.0.1:{port}", server
        time.sleep(0.05)
    raise SystemExit("uvicorn did not start")


def timed(client: Any, paths: list[tuple[str, dict[str, Any]]], repeat: int) -> tuple[float, float, Any]:
    """Median and p95 over `repeat` requests cycling through `paths` (after one warm-up each)."""
    last = None
    for path, params in paths:
        client.get(path, params=params).raise_for_status()
    times = []
    for k in range(repeat):
        path, params = paths[k % len(paths)]
        start = time.perf_counter()
        response = client.get(path, params=params)
        times.append(time.perf_counter() - start)
        response.raise_for_status()
        last = response
    times.sort()
    p95 = times[min(len(times) - 1, int(round(0.95 * (len(times) - 1))))]
    return statistics.median(times), p95, last


def report(label: str, median: float, p95: float, target: float, note: str = "") -> None:
    print(f"  {label:<34} median {median * 1000:7.1f} ms  p95 {p95 * 1000:7.1f} ms   "
          f"{median / target:5.2f} × target ({target * 1000:.0f} ms){note}", flush=True)


def measure(store: Store, n_runs: int, repeat: int) -> None:
    import httpx

    vocab = vocabulary()
    base, server = serve(store)
    picks = [run_id_of(r) for r in (0, n_runs // 3, n_runs // 2, (2 * n_runs) // 3, n_runs - 1)]
    print(f"measuring through uvicorn on {base} (real HTTP on loopback), {repeat} requests each; "
          f"load {os.getloadavg()[0]:.1f}", flush=True)
    try:
        with httpx.Client(base_url=base, timeout=120) as client:
            median, p95, _ = timed(client, [("/", {})], repeat)
            report("leaderboard page /", median, p95, PAGE_TARGET_S)
            median, p95, _ = timed(client, [(f"/runs/{r}", {}) for r in picks], repeat)
            report("run page /runs/RUN", median, p95, PAGE_TARGET_S)
            pairs = [(picks[k], run_id_of((n_runs // 3 + RUNS_PER_MODEL * (k + 1)) % n_runs)) for k in range(len(picks))]
            median, p95, _ = timed(client, [("/compare", {"a": a, "b": b}) for a, b in pairs], repeat)
            report("compare page /compare?a&b", median, p95, PAGE_TARGET_S,
                   f"   (paired tests over 2 × {TASKS * PER_TASK} samples)")
            median, p95, _ = timed(client, [("/runs", {})], repeat)
            report("run list /runs", median, p95, PAGE_TARGET_S)
            rare_word = f"ref{TASKS - 1}x{PER_TASK - 3}"
            first = sample_row(vocab, 0, model_of(0), 0, 4, 321, PER_TASK)["prompt"].split(": ")[1].split()
            queries = {"common word 'answer'": "answer", f"rare word '{rare_word}'": rare_word,
                       f"vocabulary word '{vocab[77]}'": vocab[77],
                       f"phrase '\"{first[2]} {first[3]}\"'": f'"{first[2]} {first[3]}"',
                       "no match 'xylophonequartz'": "xylophonequartz"}
            print(f"  search (words; counts capped, 'at least' past the cap), load {os.getloadavg()[0]:.1f}:")
            for label, q in queries.items():
                median, p95, last = timed(client, [(f"/api/runs/{r}/samples", {"q": q}) for r in picks], repeat)
                body = last.json()
                report(f"run browser: {label}", median, p95, SEARCH_TARGET_S,
                       f"   ({'≥' if body.get('total_is_lower_bound') else ''}{body['total']} in the run)")
            for label, q in queries.items():
                median, p95, last = timed(client, [("/api/search", {"q": q})], repeat)
                body = last.json()
                report(f"whole store: {label}", median, p95, SEARCH_TARGET_S,
                       f"   ({'≥' if body['total_is_lower_bound'] else ''}{body['total']} samples)")
    finally:
        server.should_exit = True


def explain_pages(store: Store, n_runs: int) -> None:
    """EXPLAIN ANALYZE of every SQL statement each page sends (captured from the real routes): its
    time, and whether it reads `samples` by a sequential scan (a page must never)."""
    from fastapi.testclient import TestClient
    from sqlalchemy import event

    from assay.web import create_app

    if store.engine.dialect.name != "postgresql":
        print("--explain: PostgreSQL only")
        return
    captured: list[tuple[str, Any]] = []

    def capture(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        captured.append((statement, parameters))

    client = TestClient(create_app(store, admin_token=""))
    a, b = run_id_of(n_runs // 2), run_id_of((n_runs // 2 + RUNS_PER_MODEL) % n_runs)
    pages = {"leaderboard": ("/", {}), "run page": (f"/runs/{a}", {}), "compare": ("/compare", {"a": a, "b": b}),
             "run search 'answer'": (f"/api/runs/{a}/samples", {"q": "answer"}),
             "store search 'answer'": ("/api/search", {"q": "answer"}),
             f"store search '{vocabulary()[77]}'": ("/api/search", {"q": vocabulary()[77]}),
             "store search phrase": ("/api/search", {"q": '"what is"'}),
             "store search no match": ("/api/search", {"q": "xylophonequartz"})}
    for label, (path, params) in pages.items():
        client.get(path, params=params).raise_for_status()  # warm
        captured.clear()
        event.listen(store.engine, "before_cursor_execute", capture)
        try:
            client.get(path, params=params).raise_for_status()
        finally:
            event.remove(store.engine, "before_cursor_execute", capture)
        statements = [(sql, params_) for sql, params_ in captured if sql.lstrip().upper().startswith("SELECT")]
        print(f"{label}: {len(statements)} SELECT statements")
        with store.engine.connect() as conn:
            raw = conn.connection.dbapi_connection
            assert raw is not None
            for sql, params_ in statements:
                with raw.cursor() as cursor:
                    cursor.execute("EXPLAIN (ANALYZE, FORMAT TEXT) " + sql, params_)
                    plan = [row[0] for row in cursor.fetchall()]
                seq = [line.strip() for line in plan if "Seq Scan on samples" in line]
                took = next((line for line in reversed(plan) if line.startswith("Execution Time")), "")
                top = " ".join(sql.split())[:110]
                # A seq scan under a LIMIT (the capped count of a word in nearly every row) stops at the cap.
                bounded = any("Limit" in line for line in plan)
                flag = ("seq scan under LIMIT " if bounded else "SEQ SCAN ON SAMPLES ") if seq else ""
                print(f"  {took:<28} {flag}{top}")


def database_figures(store: Store) -> None:
    with store.engine.connect() as conn:
        if store.engine.dialect.name == "postgresql":
            size = conn.execute(text("SELECT pg_database_size(current_database())")).scalar_one()
            parts = conn.execute(text(
                "SELECT pg_size_pretty(pg_table_size('samples')), pg_size_pretty(pg_indexes_size('samples')), "
                f"pg_size_pretty(pg_relation_size('{PG_INDEX}'))")).one()
            print(f"database size: {size / 1e9:.2f} GB (samples table {parts[0]}, its indexes {parts[1]}, "
                  f"of which the full-text GIN index {parts[2]})")
        else:
            path = Path(store.engine.url.database or "")
            size = sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))
            print(f"database size: {size / 1e9:.2f} GB (SQLite file with its WAL)")
        runs_n = conn.execute(select(func.count()).select_from(runs)).scalar_one()
        samples_n = conn.execute(text("SELECT count(*) FROM samples")).scalar_one()
    print(f"stored: {runs_n} runs, {samples_n} samples (counted)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--url", help="PostgreSQL URL of a database for the bench (built when empty)")
    where.add_argument("--sqlite", type=Path, help="a SQLite file instead (built when missing)")
    parser.add_argument("--runs", type=int, default=1000, help="runs of 10 × 1000 samples (default 1000: 10M)")
    parser.add_argument("--repeat", type=int, default=15, help="requests per figure (default 15)")
    parser.add_argument("--build-only", action="store_true")
    parser.add_argument("--explain", action="store_true", help="also EXPLAIN ANALYZE every query of each page")
    args = parser.parse_args()
    if args.runs < 2 * RUNS_PER_MODEL or args.runs % RUNS_PER_MODEL:
        parser.error(f"--runs: expected a multiple of {RUNS_PER_MODEL}, at least {2 * RUNS_PER_MODEL}")
    if args.url and not args.url.startswith("postgresql://"):
        parser.error("--url: expected a postgresql:// URL (use --sqlite PATH for SQLite)")
    store = Store(args.url or f"sqlite:///{args.sqlite}")
    expected = args.runs * TASKS * PER_TASK
    complete, total = stored_state(store, args.runs)
    if complete >= args.runs and total >= expected:
        print(f"store already holds {complete} bench runs, {total} samples: build skipped")
    else:
        with store.engine.connect() as conn:
            others = conn.execute(select(func.count()).select_from(runs).where(~runs.c.id.startswith(RUN_PREFIX))).scalar_one()
        if others:
            raise SystemExit(f"--url/--sqlite: the database holds {others} runs that are not this bench's; "
                             "give it a database of its own (it writes 10M samples)")
        print(f"building {args.runs} runs × {TASKS} tasks × {PER_TASK} samples = {expected} samples "
              f"({complete} runs already there); load {os.getloadavg()[0]:.1f}", flush=True)
        start = time.perf_counter()
        build(store, args.runs)
        print(f"build time: {time.perf_counter() - start:.0f} s, load {os.getloadavg()[0]:.1f}", flush=True)
    print(check_rows_match_generator(store, args.runs))
    database_figures(store)
    if args.explain:
        explain_pages(store, args.runs)
    if not args.build_only:
        measure(store, args.runs, args.repeat)
    store.close()


if __name__ == "__main__":
    main()
