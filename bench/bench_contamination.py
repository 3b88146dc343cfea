"""Contamination scan throughput: every GSM8K test item (1,319) against a corpus of 100,000 synthetic web
documents (~150 words each, .jsonl files on disk, read through the same corpus reader as
`assay contamination`), with 20 GSM8K questions planted in random documents. Prints the time, the load
average and whether exactly the planted item ids were found; exits 1 past the time limit or on a miss.

    OMP_NUM_THREADS=1 .venv/bin/python bench/bench_contamination.py [--docs 100000] [--limit-s 60]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

from assay.contamination.corpus import iter_documents
from assay.contamination.items import task_items
from assay.contamination.ngrams import scan_overlap
from assay.data_paths import default_data_dir
from assay.tasks import TaskContext, get_task


def write_corpus(folder: Path, n_docs: int, planted: dict[int, str], seed: int) -> None:
    rng = random.Random(seed)
    vocabulary = ["".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(2, 9))) for _ in range(50_000)]
    per_file = 10_000
    for start in range(0, n_docs, per_file):
        with (folder / f"web-{start // per_file:03d}.jsonl").open("w", encoding="utf-8") as handle:
            for doc in range(start, min(start + per_file, n_docs)):
                words = rng.choices(vocabulary, k=rng.randint(100, 200))
                text = " ".join(words)
                if doc in planted:
                    text = f"{text[:300]} {planted[doc]} {text[300:]}"
                handle.write(json.dumps({"text": text}) + "\n")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--docs", type=int, default=100_000)
    parser.add_argument("--limit-s", type=float, default=60.0)
    args = parser.parse_args()
    data_dir = default_data_dir()
    if data_dir is None:
        print("../shared/data not found: the bench needs GSM8K", file=sys.stderr)
        return 2
    items = task_items(get_task("gsm8k:zeroshot"), TaskContext(data_dir=data_dir))
    rng = random.Random(7)
    chosen = rng.sample(range(len(items)), 20)
    planted = {rng.randrange(args.docs): items[i].text for i in chosen}
    expected = {items[i].id for i in chosen}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        started = time.perf_counter()
        write_corpus(folder, args.docs, planted, seed=11)
        print(f"corpus written in {time.perf_counter() - started:.1f} s (not timed below)")
        report = scan_overlap(items, iter_documents(folder))
    found = {c.item_id for c in report.contaminated}
    load = os.getloadavg()
    print(f"{report.n_documents} documents, {report.n_words} words, {report.n_items} items: {report.seconds:.1f} s "
          f"({report.n_documents / report.seconds:,.0f} documents/s); load average {load[0]:.2f} {load[1]:.2f} "
          f"{load[2]:.2f} on {os.cpu_count()} CPUs")
    print(f"planted {len(expected)} items, found {len(found)}; missed {sorted(expected - found)}, "
          f"extra {sorted(found - expected)}")
    ok = found == expected and report.seconds < args.limit_s
    print("PASS" if ok else f"FAIL (limit {args.limit_s:g} s)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
