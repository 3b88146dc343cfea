"""Where the main job's time goes (`assay run`: the embedded model on longctx_quick), and its wall time.

1. The main job as a user runs it: `assay run` in a fresh empty folder, a cold CLI process, --runs times;
   the wall time of each (default threads, as a user runs it).
2. The breakdown, in this process, through the same `assay.evaluate` the command calls: model load, suite
   build (the task's samples and requests, tokenised), then, timed around the backend's own methods,
   prefill (rows joining a decoding batch, and prompts run one at a time), decoding steps, scoring
   (task.score) and the store's writes; what is left is the runner's own work.
3. Prefill speed against an anchor in the same process: a plain batched forward pass of the same model
   (`model(input_ids)`, logits for the last token only, transformers' SDPA) over the suite's distinct
   prompts, longest first, batched up to 4096 tokens; assay's prefill tokens/s over the tokens it computed.

    .venv/bin/python bench/bench_main_job_time.py [--runs 3] [--skip-cli]

Give the load average with the figures (2 cores: other jobs change every timing).
"""

from __future__ import annotations

import argparse
import functools
import os
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

TIMED: dict[str, float] = defaultdict(float)
CALLS: dict[str, int] = defaultdict(int)


def timed(owner: Any, name: str, label: str) -> None:
    original = getattr(owner, name)

    @functools.wraps(original)
    def run(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            TIMED[label] += time.perf_counter() - start
            CALLS[label] += 1

    setattr(owner, name, run)


def cli_runs(runs: int) -> list[float]:
    walls = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as folder:
            start = time.perf_counter()
            done = subprocess.run([sys.executable, "-m", "assay.cli", "run", "--no-progress"], cwd=folder,
                                  capture_output=True, text=True)
            walls.append(time.perf_counter() - start)
            if done.returncode != 0:
                sys.exit(f"assay run failed: {done.stderr[-2000:]}")
            print(f"  assay run (cold process): {walls[-1]:.1f} s, load {os.getloadavg()[0]:.2f}", flush=True)
    return walls


def breakdown() -> None:
    import torch

    import assay
    import assay.runner as runner_module
    from assay.models import hf_batch_generate, hf_generate, load_model
    from assay.tasks import get_task
    from assay.tasks.base import TaskContext

    start = time.perf_counter()
    model = load_model("embedded")
    load_s = time.perf_counter() - start
    start = time.perf_counter()
    ctx = TaskContext(tokenizer=model.tokenizer(), max_context=model.max_context)
    task = get_task("longctx_quick")
    suite = [(sample, task.requests(sample)) for sample in task.samples(ctx)]
    build_s = time.perf_counter() - start

    timed(hf_batch_generate.BatchedGreedyDecoder, "_admit", "prefill (rows joining a decoding batch)")
    timed(hf_generate.PrefixCachingGenerator, "_prefill", "prefill (prompts run one at a time)")
    timed(hf_batch_generate.BatchedGreedyDecoder, "_step", "decoding steps (batched)")
    timed(hf_generate.PrefixCachingGenerator, "_step", "decoding steps (one at a time)")
    timed(runner_module.Runner, "_sample_row", "scoring (task.score, sample rows)")
    timed(runner_module._ChunkWriter, "write", "store writes")
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        run = assay.evaluate(model, "longctx_quick", db=f"sqlite:///{Path(folder) / 'assay.db'}", progress=False)
        run_s = time.perf_counter() - start
    stats = model.prefill_stats
    print(f"\nbreakdown (in process, {torch.get_num_threads()} threads, load {os.getloadavg()[0]:.2f}):")
    print(f"  {'model load':45} {load_s:7.1f} s")
    print(f"  {'suite build (60 samples, tokenised)':45} {build_s:7.1f} s")
    print(f"  {'evaluate() in all':45} {run_s:7.1f} s  ({run.status}, {len(list(run.samples()))} samples)")
    for label in sorted(TIMED, key=lambda k: -TIMED[k]):
        print(f"    {label:43} {TIMED[label]:7.1f} s  ({CALLS[label]} calls)")
    inside = sum(TIMED.values())
    print(f"    {'the rest (runner, suite inside the run)':43} {run_s - inside:7.1f} s")

    prefill_s = TIMED["prefill (rows joining a decoding batch)"] + TIMED["prefill (prompts run one at a time)"]
    prompts = sorted({tuple(model.tokenizer().encode(r.prompt if r.messages is None
                                                     else model.tokenizer().render_chat(r.messages)))
                      for _, requests in suite for r in requests}, key=len, reverse=True)
    plain_s, plain_tokens = plain_prefill(model.hf_model, prompts)
    ours, plain = stats["computed"] / prefill_s, plain_tokens / plain_s
    print(f"\nprefill: assay {stats['computed']} tokens computed ({stats['naive']} asked) in {prefill_s:.1f} s = "
          f"{ours:.0f} tokens/s; plain batched forward {plain_tokens} tokens in {plain_s:.1f} s = {plain:.0f} "
          f"tokens/s; ratio {ours / plain:.2f}")


def plain_prefill(hf_model: Any, prompts: list[tuple[int, ...]], budget: int = 4096) -> tuple[float, int]:
    import torch

    start, tokens = time.perf_counter(), 0
    batch: list[tuple[int, ...]] = []
    with torch.no_grad():
        for prompt in [*prompts, ()]:
            if batch and (not prompt or (len(batch) + 1) * len(batch[0]) > budget):
                width = len(batch[0])
                ids = torch.tensor([[0] * (width - len(p)) + list(p) for p in batch])
                mask = torch.tensor([[0] * (width - len(p)) + [1] * len(p) for p in batch])
                hf_model(input_ids=ids, attention_mask=mask, logits_to_keep=1)
                tokens += sum(len(p) for p in batch)
                batch = []
            if prompt:
                batch.append(prompt)
    return time.perf_counter() - start, tokens


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--skip-cli", action="store_true")
    args = parser.parse_args()
    if not args.skip_cli:
        walls = cli_runs(args.runs)
        print(f"assay run: {', '.join(f'{w:.1f}' for w in walls)} s (mean {sum(walls) / len(walls):.1f} s)")
    breakdown()


if __name__ == "__main__":
    main()
