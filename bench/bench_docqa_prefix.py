"""Document-prefix reuse on the embedded model: 8 questions about one ~4k-token QuALITY document.

The questions of `leval_quality_gen` (generated letter) and `leval_quality` (log-likelihood of the 4 options)
put the document before the question, so all 8 prompts share it. Each path runs naive (reuse_prefix off:
every prompt prefilled whole) and with document-prefix reuse (the document prefilled once), and prints
the wall-time ratio (target ≥ 4×), the prompt tokens computed, whether the answers are identical, and
the machine's load average before and after (2 shared cores here: run it on a quiet machine).

    OMP_NUM_THREADS=1 .venv/bin/python bench/bench_docqa_prefix.py [--questions 8] [--path gen,ll] [--data-dir DIR]
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from assay.data_paths import default_data_dir
from assay.models.registry import load_model
from assay.tasks import TaskContext, get_task
from assay.types import GenerateRequest, Response


def pick_document(model, samples, questions: int, target_tokens: int) -> str:
    """The cluster with at least `questions` questions whose document is closest to target_tokens tokens."""
    by_cluster: dict[str, list] = {}
    for sample in samples:
        by_cluster.setdefault(sample.cluster, []).append(sample)
    sizes = {}
    for cluster, members in by_cluster.items():
        if len(members) >= questions:
            document = str(members[0].input).split("\n\nQuestion: ")[0]
            sizes[cluster] = len(model.tokenizer().encode(document))
    return min(sizes, key=lambda c: abs(sizes[c] - target_tokens)), sizes


def run_generate(model, task, samples, reuse: bool) -> tuple[list[str], float, dict[str, int]]:
    model.generator.release()
    model.generator.reuse_prefix = reuse
    model.generator.stats = {"computed": 0, "naive": 0}
    requests = [task.requests(s)[0] for s in samples]
    started = time.perf_counter()
    responses = model.generate(requests)
    seconds = time.perf_counter() - started
    if any(r.error for r in responses):
        raise SystemExit(f"generation failed: {next(r.error for r in responses if r.error)}")
    answers = [f"{r.text!r}->{task.score(s, [r]).extracted}" for s, r in zip(samples, responses, strict=True)]
    return answers, seconds, dict(model.generator.stats)


def run_loglikelihood(model, task, samples, reuse: bool) -> tuple[list[str], float, dict[str, int], list[float]]:
    model.scorer.share_document_prefix = reuse
    model.scorer.stats = {"computed": 0, "naive": 0}
    per_sample = [task.requests(s) for s in samples]
    started = time.perf_counter()
    responses = model.loglikelihood([r for requests in per_sample for r in requests])
    seconds = time.perf_counter() - started
    answers, logprobs = [], []
    for index, sample in enumerate(samples):
        mine: list[Response] = responses[4 * index:4 * index + 4]
        logprobs += [r.logprob for r in mine]
        answers.append(task.score(sample, mine).extracted)
    return answers, seconds, dict(model.scorer.stats), logprobs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=8)
    parser.add_argument("--target-tokens", type=int, default=4096)
    parser.add_argument("--path", default="gen,ll", help="gen, ll or both (gen,ll)")
    parser.add_argument("--data-dir", type=Path, default=None)
    args = parser.parse_args()
    load_before = os.getloadavg()
    ctx = TaskContext(data_dir=args.data_dir or default_data_dir())
    model = load_model("embedded")
    gen_task, ll_task = get_task("leval_quality_gen"), get_task("leval_quality")
    gen_samples, ll_samples = list(gen_task.samples(ctx)), list(ll_task.samples(ctx))
    cluster, sizes = pick_document(model, gen_samples, args.questions, args.target_tokens)
    print(f"document {cluster}: {sizes[cluster]} tokens, {args.questions} questions "
          f"(documents with enough questions: {dict(sorted(sizes.items()))})")
    gen_samples = [s for s in gen_samples if s.cluster == cluster][:args.questions]
    ll_samples = [s for s in ll_samples if s.cluster == cluster][:args.questions]
    model.generate([GenerateRequest(prompt="Hello", max_tokens=2)])  # warm-up
    paths = set(args.path.split(","))
    ratios = []
    if "gen" in paths:
        naive, naive_s, naive_stats = run_generate(model, gen_task, gen_samples, reuse=False)
        reused, reused_s, reused_stats = run_generate(model, gen_task, gen_samples, reuse=True)
        ratios.append(naive_s / reused_s)
        print(f"generate: naive {naive_s:.1f} s ({naive_stats['computed']} prompt tokens), with document-prefix reuse "
              f"{reused_s:.1f} s ({reused_stats['computed']} tokens): {naive_s / reused_s:.2f}x faster; "
              f"identical answers: {naive == reused}")
        print(f"  answers: {reused}")
    if "ll" in paths:
        naive, naive_s, naive_stats, naive_lp = run_loglikelihood(model, ll_task, ll_samples, reuse=False)
        reused, reused_s, reused_stats, reused_lp = run_loglikelihood(model, ll_task, ll_samples, reuse=True)
        ratios.append(naive_s / reused_s)
        drift = max(abs(a - b) for a, b in zip(naive_lp, reused_lp, strict=True))
        print(f"log-likelihood: naive {naive_s:.1f} s ({naive_stats['computed']} tokens), with document-prefix reuse "
              f"{reused_s:.1f} s ({reused_stats['computed']} tokens): {naive_s / reused_s:.2f}x faster; "
              f"identical answers: {naive == reused} (max |Δ log-prob| {drift:.2e})")
        print(f"  answers: {reused}")
    model.close()
    print(f"load average before {load_before[0]:.2f}, after {os.getloadavg()[0]:.2f} ({os.cpu_count()} cores); "
          f"ratio{'s' if len(ratios) > 1 else ''}: {', '.join(f'{r:.2f}x' for r in ratios)} (target >= 4x)")


if __name__ == "__main__":
    main()
