"""Peak memory of the main job (`assay run`: embedded model, longctx_quick), and where it goes.

1. The main job as a user runs it: `assay run` in a fresh empty folder, in a child process; its peak RSS
   (ru_maxrss), wall time, and the RSS sampled every 0.2 s, so the peak can be placed in the run.
2. Where the memory goes, in one process: RSS after importing torch + transformers, after loading the model,
   then the peak (VmHWM, reset before each) while the backend decodes the main job's longest prompts, once
   with the CPU budget's decode_kv_tokens and once with the limit lifted (the anchor: how continuous
   batching held memory before the limit: up to 16 rows of 4k-token KV caches at ~46 kB a token).

    .venv/bin/python bench/bench_main_job_memory.py [--skip-main-job] [--prompts 8]

Give the load average with the figures (2 cores: other jobs change the timings, not the memory much).
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import replace
from pathlib import Path

TARGET_MB = 1500.0


def rss_mb(pid: int | str = "self", field: str = "VmRSS") -> float:
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return 0.0


def main_job() -> None:
    assay = Path(sys.executable).parent / "assay"
    with tempfile.TemporaryDirectory() as folder:
        started = time.monotonic()
        child = subprocess.Popen([str(assay), "run"], cwd=folder, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 text=True)
        samples: list[tuple[float, float]] = []

        def sample() -> None:
            while child.poll() is None:
                try:
                    samples.append((time.monotonic() - started, rss_mb(child.pid)))
                except (FileNotFoundError, ProcessLookupError):
                    break
                time.sleep(0.2)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        stdout, stderr = child.communicate()
        wall = time.monotonic() - started
        sampler.join()
        if child.returncode != 0:
            sys.exit(f"the main job failed ({child.returncode}): {stderr[-2000:]}")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"main job: {wall:.0f} s, peak RSS {peak:.0f} MB (target {TARGET_MB:.0f} MB: "
          f"{'met' if peak <= TARGET_MB else 'MISSED'}), load average {os.getloadavg()[0]:.1f}")
    for fraction in (0.1, 0.25, 0.5, 0.75, 0.9, 1.0):
        at = samples[min(len(samples) - 1, int(fraction * (len(samples) - 1)))]
        print(f"  at {at[0]:5.0f} s: RSS {at[1]:.0f} MB")
    print("  " + next((line for line in stdout.splitlines() if "effective" in line.lower()), "(no effective-length line)"))


def reset_peak() -> None:
    with open("/proc/self/clear_refs", "w", encoding="ascii") as clear:
        clear.write("5")


def breakdown(prompts: int) -> None:
    before = rss_mb()
    import torch  # noqa: F401
    import transformers  # noqa: F401

    imported = rss_mb()
    from assay.models.hf_budget import CPU_BUDGET
    from assay.models.registry import load_model
    from assay.tasks.base import TaskContext
    from assay.tasks.registry import get_task

    model = load_model("embedded")
    loaded = rss_mb()
    print(f"RSS: start {before:.0f} MB, torch + transformers imported {imported:.0f} MB, model loaded {loaded:.0f} MB")
    task = get_task("longctx_quick")
    ctx = TaskContext(seed=1234, tokenizer=model.tokenizer(), max_context=model.max_context)
    samples = sorted(task.samples(ctx), key=lambda sample: -int(sample.metadata["realized_length"]))[:prompts]
    longest = [request for sample in samples for request in task.requests(sample)]
    scorer = model.generator.scorer
    peaks = {}
    for label, budget in (("no KV limit (anchor)", replace(CPU_BUDGET, decode_kv_tokens=1 << 30)),
                          (f"decode_kv_tokens={CPU_BUDGET.decode_kv_tokens}", CPU_BUDGET)):
        scorer.budget = budget
        model.generator.release()
        reset_peak()
        started = time.monotonic()
        texts = [r.text for r in model.generate(longest)]
        peaks[label] = rss_mb(field="VmHWM")
        print(f"{label}: {len(longest)} longest prompts decoded in {time.monotonic() - started:.0f} s, "
              f"peak RSS {peaks[label]:.0f} MB (+{peaks[label] - loaded:.0f} MB over the loaded model)")
        peaks[label + " texts"] = hash(tuple(texts))
    labels = [k for k in peaks if not k.endswith(" texts")]
    same = peaks[labels[0] + " texts"] == peaks[labels[1] + " texts"]
    print(f"peak over the loaded model, limited / anchor: {(peaks[labels[1]] - loaded) / (peaks[labels[0]] - loaded):.2f}"
          f"; same outputs: {same}; load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--skip-main-job", action="store_true", help="only the in-process breakdown")
    parser.add_argument("--prompts", type=int, default=8, help="longest main-job prompts decoded in the breakdown")
    args = parser.parse_args()
    if not args.skip_main_job:
        main_job()
    breakdown(args.prompts)
