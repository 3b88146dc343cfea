"""Peak memory of the main job (`assay run`: embedded model, longctx_quick), and where it goes.

1. The main job as a user runs it: `assay run` in a fresh empty folder, in a child process; its peak RSS
   (ru_maxrss), wall time, and the RSS sampled every 0.2 s, so the peak can be placed in the run.
2. Where the memory goes: in a child process per setting, RSS after importing torch + transformers, after loading
   the model and after one small forward (every weight page touched), then the peak (VmHWM, reset before each
   phase) of the main job's two decoding phases: its 512- and 1024-token prompts (continuous batching) and its
   longest prompt (one at a time, prefilled in segments). The anchor is the decoder as it was before the memory
   limits: no KV limit on a decoding batch, 4096 prompt tokens prefilled at once when rows join, buffers grown
   256 columns at a time, glibc's own mmap threshold.

    .venv/bin/python bench/bench_main_job_memory.py [--skip-main-job]

Give the load average with the figures (2 cores: other jobs change the timings, not the memory much).
"""

from __future__ import annotations

import argparse
import json
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


def _peak_of(run: object) -> tuple[float, float, list[str]]:
    """(peak RSS in MB, seconds, texts) of `run()`, the peak counted from now (VmHWM reset)."""
    with open("/proc/self/clear_refs", "w", encoding="ascii") as clear:
        clear.write("5")
    started = time.monotonic()
    texts = run()  # type: ignore[operator]
    return rss_mb(field="VmHWM"), time.monotonic() - started, texts


def child(setting: str) -> None:
    """One setting's figures, as a JSON line on stdout."""
    import torch  # noqa: F401
    import transformers  # noqa: F401

    figures: dict[str, object] = {"imported": rss_mb()}
    from assay.models import hf_kv, host_memory
    from assay.models.hf_budget import CPU_BUDGET
    from assay.models.registry import load_model
    from assay.tasks.base import TaskContext
    from assay.tasks.registry import get_task

    if setting == "anchor":
        host_memory.return_large_frees_to_os = lambda: False  # type: ignore[assignment]
        hf_kv.GROW_TOKENS = 256
    model = load_model("embedded")
    figures["loaded"] = rss_mb()
    if setting == "anchor":
        model.generator.scorer.budget = replace(CPU_BUDGET, decode_kv_tokens=1 << 30, prefill_batch_tokens=4096)
    task = get_task("longctx_quick")
    samples = list(task.samples(TaskContext(seed=1234, tokenizer=model.tokenizer(), max_context=model.max_context)))
    short = [task.requests(s)[0] for s in samples if int(s.metadata["target_length"]) <= 1024]
    longest = [task.requests(max(samples, key=lambda s: int(s.metadata["realized_length"])))[0]]
    model.generate([replace(short[0], max_tokens=1)])
    model.generator.release()
    figures["weights_touched"] = rss_mb()
    for phase, requests in (("batched", short), ("longest", longest)):
        peak, seconds, texts = _peak_of(lambda requests=requests: [r.text for r in model.generate(requests)])
        model.generator.release()
        figures[phase] = {"peak": peak, "seconds": seconds, "prompts": len(requests), "texts": texts}
    print(json.dumps(figures))


def breakdown() -> None:
    results = {}
    for setting in ("anchor", "current"):
        out = subprocess.run([sys.executable, __file__, "--child", setting], capture_output=True, text=True, check=True)
        results[setting] = json.loads(out.stdout.strip().splitlines()[-1])
    current = results["current"]
    print(f"RSS: torch + transformers imported {current['imported']:.0f} MB, model loaded {current['loaded']:.0f} MB, "
          f"every weight page touched {current['weights_touched']:.0f} MB (the weights are mmapped from the cache)")
    for phase in ("batched", "longest"):
        anchor, now = results["anchor"][phase], current[phase]
        base = current["weights_touched"]
        print(f"{phase} ({now['prompts']} prompts): peak RSS anchor {anchor['peak']:.0f} MB, now {now['peak']:.0f} MB "
              f"(+{anchor['peak'] - base:.0f} -> +{now['peak'] - base:.0f} MB over the touched weights; ratio "
              f"{(now['peak'] - base) / (anchor['peak'] - base):.2f}); {anchor['seconds']:.0f} s -> {now['seconds']:.0f} s "
              f"(ratio {now['seconds'] / anchor['seconds']:.2f}); same outputs: {anchor['texts'] == now['texts']}")
    print(f"load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--skip-main-job", action="store_true", help="only the breakdown")
    parser.add_argument("--child", choices=("anchor", "current"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child)
    else:
        if not args.skip_main_job:
            main_job()
        breakdown()
