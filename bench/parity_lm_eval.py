"""assay vs lm-evaluation-harness on the embedded model: same transformers model, same local data,
same prompts. Prints per-request log-likelihood agreement, per-sample correctness agreement and the
wall-time ratio assay / lm-eval, measured here in one process (lm-eval's HFLM wraps the very same
in-memory model). Exits 1 when a log-likelihood differs by more than 1e-4 or a sample scores differently
(tests/parity runs a short slice of this in CI). Run by hand:

    OMP_NUM_THREADS=1 .venv/bin/python bench/parity_lm_eval.py [--mc-limit 20] [--gen-limit 10]
        [--tasks bbh_cot:boolean_expressions,...] [--lm-eval-batch-size 8]

Wall times are only comparable on a quiet machine: each row prints the 1-minute load average it ran under,
and the CPU seconds each side used (one thread each, so these shift far less with other processes).
--lm-eval-batch-size lets lm-eval be timed at other batch sizes (its best one is the fair anchor).
"""

from __future__ import annotations

import argparse
import os
import sys

from assay.models import load_model
from assay.parity import run_parity
from assay.tasks import get_task

MC_TASKS = ("arith_mc", "musr:team_allocation", "musr:object_placements", "musr:murder_mysteries")
GEN_TASKS = ("bbh_direct:boolean_expressions", "bbh_cot:boolean_expressions")
LOGPROB_TOLERANCE = 1e-4


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mc-limit", type=int, default=20)
    parser.add_argument("--gen-limit", type=int, default=10)
    parser.add_argument("--tasks", default=",".join((*MC_TASKS, *GEN_TASKS)), help="comma-separated rows to run")
    parser.add_argument("--lm-eval-batch-size", type=int, default=8)
    args = parser.parse_args()
    names = [name for name in args.tasks.split(",") if name]
    unknown = sorted(set(names) - {*MC_TASKS, *GEN_TASKS})
    if unknown or args.lm_eval_batch_size < 1:
        parser.error(f"--tasks: expected rows among {', '.join((*MC_TASKS, *GEN_TASKS))}, got {', '.join(unknown)}"
                     if unknown else "--lm-eval-batch-size: expected a positive integer")
    model = load_model("embedded")
    run_parity(get_task("arith_mc"), model, 2)  # warm both frameworks up
    total_assay = total_lm_eval = 0.0
    failed = []
    print(f"{'task':40} {'samples':>7} {'requests':>8} {'max|Δlogp|':>11} {'mismatch':>8} {'assay s':>8} "
          f"{'lm-eval s':>9} {'ratio':>6} {'cpu ratio':>9} {'load1':>5}")
    for name in names:
        limit = args.mc_limit if name in MC_TASKS else args.gen_limit
        result = run_parity(get_task(name), model, limit, batch_size=args.lm_eval_batch_size)
        total_assay += result.assay_seconds
        total_lm_eval += result.lm_eval_seconds
        diff = result.max_abs_logprob_diff
        if (diff is not None and diff > LOGPROB_TOLERANCE) or result.correctness_mismatches or result.text_mismatches:
            failed.append(name)
        delta = "—" if result.max_abs_logprob_diff is None else f"{result.max_abs_logprob_diff:.1e}"
        print(f"{name:40} {result.n_samples:7d} {result.n_requests:8d} {delta:>11} "
              f"{len(result.correctness_mismatches) + len(result.text_mismatches):8d} {result.assay_seconds:8.1f} "
              f"{result.lm_eval_seconds:9.1f} {result.time_ratio:6.3f} {result.cpu_ratio:9.3f} "
              f"{os.getloadavg()[0]:5.1f}")
    print(f"total wall time assay / lm-eval = {total_assay:.1f} / {total_lm_eval:.1f} s = {total_assay / total_lm_eval:.3f}")
    print(f"log-likelihood prefill tokens computed by assay: {model.loglikelihood_stats}")
    if failed:
        sys.exit(f"parity FAILED (|Δlogp| > {LOGPROB_TOLERANCE:g} or a different outcome): {', '.join(failed)}")
    print(f"parity holds: every |Δlogp| <= {LOGPROB_TOLERANCE:g}, every sample scored alike")


if __name__ == "__main__":
    main()
