"""openai: backend throughput against a local OpenAI-compatible server with a fixed 100 ms latency.

The server (tests/servers/fake_openai.py: uvicorn, real HTTP/1.1 on loopback, JSON bodies, asyncio.sleep
latency) runs in its own process so it does not share the client's GIL; its CPU counts against the client
on a small machine, so both are printed. Anchor: the ideal concurrency / latency (64 / 0.1 s = 640 req/s);
target >= 90 % at concurrency 64, >= 85 % at 256.

Default mode: one backend batch (model.generate). `--runner`: the same requests as a run (Runner + SQLite
Store: request hashing, cache lookups and one store transaction per chunk of --chunk-size samples).

    .venv/bin/python bench/bench_openai_concurrency.py [--requests 3200] [--concurrency 64] [--latency 0.1]
        [--runner [--chunk-size N]] [--server-stack lean|plain]

About 8 s at concurrency 64 and 10 s at 256 (--requests 12800) on a quiet 2-core machine.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _synthetic import SyntheticGenerateTask  # noqa: E402

from assay.models.openai_compat import OpenAICompatModel, load  # noqa: E402
from assay.runner import Runner, RunOptions, chunk_size_for  # noqa: E402
from assay.store import Store  # noqa: E402
from assay.types import GenerateRequest  # noqa: E402
from servers.processes import fake_server_process  # noqa: E402


def run_batch(model: OpenAICompatModel, count: int) -> tuple[int, int]:
    """One generate batch; returns (errors, wrong answers). The fake server echoes the prompt."""
    requests = [GenerateRequest(prompt=f"request number {i}", max_tokens=4) for i in range(count)]
    responses = model.generate(requests)
    errors = sum(r.error is not None for r in responses)
    wrong = sum(r.error is None and r.text != f"request number {i}"[: len(r.text or "")] for i, r in enumerate(responses))
    return errors, wrong


def run_through_runner(model: OpenAICompatModel, count: int, chunk_size: int | None, db_path: Path,
                       name: str = "synthetic_generate") -> tuple[int, int]:
    """The same number of generate requests as a stored run; returns (request errors, samples not stored)."""
    store = Store(f"sqlite:///{db_path}")
    task = SyntheticGenerateTask(count, name=name)
    result = Runner(model, store).run([task], RunOptions(show_progress=False, chunk_size=chunk_size))
    missing = count - store.count_samples(result.run_id)
    store.close()
    return result.stats["request_errors"], missing


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3200)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--latency", type=float, default=0.1)
    parser.add_argument("--runner", action="store_true", help="through Runner + SQLite Store instead of one batch")
    parser.add_argument("--chunk-size", type=int, default=None,
                        help="samples per store transaction (--runner); default: the Runner's (8 x concurrency)")
    parser.add_argument("--server-stack", choices=("lean", "plain"), default="lean",
                        help="the test server's uvicorn stack: lean (httptools, uvloop) or plain (h11, asyncio)")
    args = parser.parse_args()
    ideal = args.concurrency / args.latency
    with fake_server_process(latency_s=args.latency, stack=args.server_stack) as server, tempfile.TemporaryDirectory() as tmp:
        model = load(f"{server.base_url}#bench", concurrency=args.concurrency, max_retries=0, timeout=30)
        model.generate([GenerateRequest(prompt=f"warm-up {i}", max_tokens=4) for i in range(args.concurrency)])
        if args.runner:
            # A first small run imports what a run imports lazily (the statistics stack: seconds, once).
            run_through_runner(model, args.concurrency, args.chunk_size, Path(tmp) / "warm-up.db", name="warm_up")
        server_cpu_started = server.cpu_seconds()
        started, cpu_started = time.perf_counter(), time.process_time()
        if args.runner:
            errors, bad = run_through_runner(model, args.requests, args.chunk_size, Path(tmp) / "bench.db")
        else:
            errors, bad = run_batch(model, args.requests)
        elapsed = time.perf_counter() - started
        cpu = time.process_time() - cpu_started
        server_cpu = server.cpu_seconds() - server_cpu_started
        load_average = os.getloadavg()[0]
        model.close()
    rate = args.requests / elapsed
    chunks = args.chunk_size or chunk_size_for(model, None)
    mode = f"Runner + SQLite Store, chunks of {chunks}" if args.runner else "one backend batch"
    print(f"requests           {args.requests} at concurrency {args.concurrency}, server latency "
          f"{args.latency * 1000:.0f} ms ({mode}; {args.server_stack} server)")
    print(f"elapsed            {elapsed:.2f} s (client CPU {cpu:.2f} s, {cpu / args.requests * 1000:.3f} ms/request)")
    print(f"server CPU         {server_cpu:.2f} s ({server_cpu / args.requests * 1000:.3f} ms/request)")
    print(f"load average       {load_average:.1f} on {os.cpu_count()} cores (a shared machine inflates wall time)")
    print(f"throughput         {rate:,.0f} req/s")
    print(f"anchor (ideal)     {ideal:,.0f} req/s  ->  ratio {rate / ideal:.1%}  (target >= 90% at 64, >= 85% at 256)")
    print(f"errors             {errors}   {'samples not stored' if args.runner else 'wrong answers'} {bad}")
    if errors or bad:
        raise SystemExit("the benchmark's requests did not all succeed")


if __name__ == "__main__":
    main()
