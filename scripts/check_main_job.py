"""Check what the Quickstart's main job (`.venv/bin/assay run`) produced, as CI runs it (.ci/run):

    .venv/bin/python scripts/check_main_job.py --db assay.db --output quickstart.log
    .venv/bin/python scripts/check_main_job.py --db assay.db --update   # deliberately: a new snapshot

Checks: the printed output has the effective-length line and the heatmap's path, and that file is a valid
PNG; the store holds one complete run of the snapshot's tasks and seed; its per-sample results (task,
sample id, extracted answer, scores) match tests/golden/main_job.jsonl. Every differing sample is
printed; more than --max-differing (2: a different CPU may flip a greedy token) fails. A code change that
moves the main job's results is a snapshot update (`--update`) whose commit says why.
Exit 0 pass, 1 a check failed, 2 bad arguments. Results are read through assay's store API.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SNAPSHOT = ROOT / "tests" / "golden" / "main_job.jsonl"
FIELDS = ("task", "sample_id", "extracted", "scores")
EFFECTIVE_LINE = re.compile(r"effective context length: (\d+ tokens|none of the tested lengths)")
HEATMAP_LINE = re.compile(r"^(\S+): heatmap (.+\.png)\s*$", re.MULTILINE)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MAX_DIFFERING = 2  # of the main job's 60 samples: a different CPU may flip a greedy token or two
MIN_PNG_BYTES = 5_000  # a rendered length x depth grid with labels; an empty or truncated file is far smaller


@dataclass(frozen=True)
class Snapshot:
    header: dict[str, Any]  # {"seed": ..., "tasks": [...]} of the run it was taken from
    samples: dict[tuple[str, str], dict[str, Any]]


def run_results(db: str, run_id: str | None) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The run (the only one in the store unless `run_id`) and its samples' checked fields, in store order."""
    from assay.store import Store

    store = Store(db, read_only=True)
    try:
        if run_id is None:
            runs = store.list_runs()
            if len(runs) != 1:
                raise SystemExit(_fail(f"--db {db}: expected the main job's one run, found {len(runs)} (give --run)", 2))
            run_id = runs[0]["id"]
        run = store.get_run(run_id)
        rows = [{name: row[name] for name in FIELDS} for row in store.iter_samples(run["id"], columns=FIELDS)]
    finally:
        store.close()
    return run, rows


def snapshot_lines(run: dict[str, Any], rows: Iterable[dict[str, Any]]) -> list[str]:
    header = {"seed": run["seed"], "tasks": list(run["tasks"]), "model": run["model_spec"]}
    ordered = sorted(rows, key=lambda row: (row["task"], row["sample_id"]))
    return [json.dumps(item, sort_keys=True, ensure_ascii=False) for item in (header, *ordered)]


def read_snapshot(path: Path) -> Snapshot:
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    if not lines or "seed" not in lines[0]:
        raise SystemExit(_fail(f"--snapshot {path}: expected a header line with the seed, then one sample a line", 2))
    return Snapshot(lines[0], {(row["task"], row["sample_id"]): row for row in lines[1:]})


def differences(snapshot: Snapshot, rows: list[dict[str, Any]]) -> list[str]:
    """One line per sample that differs from the snapshot (changed, missing or new)."""
    got = {(row["task"], row["sample_id"]): json.loads(json.dumps(row)) for row in rows}  # stored JSON, compared as JSON
    out = []
    for key in sorted(snapshot.samples.keys() | got.keys()):
        want, have = snapshot.samples.get(key), got.get(key)
        label = f"{key[0]} {key[1]}"
        if want is None:
            out.append(f"{label}: not in the snapshot (extracted {have['extracted']!r}, scores {have['scores']})")
        elif have is None:
            out.append(f"{label}: in the snapshot but not in the run")
        elif want != have:
            out.append(f"{label}: extracted {have['extracted']!r}, scores {have['scores']} "
                       f"(snapshot: {want['extracted']!r}, {want['scores']})")
    return out


def output_problems(output: str) -> list[str]:
    """What the printed output lacks: the effective-length line, a heatmap PNG that is a valid image."""
    problems = []
    if not EFFECTIVE_LINE.search(output):
        problems.append("the output has no effective-length line ('effective context length: ...')")
    heatmaps = HEATMAP_LINE.findall(output)
    if not heatmaps:
        problems.append("the output names no heatmap PNG ('TASK: heatmap PATH.png')")
    for task, path in heatmaps:
        problems.extend(f"{task} heatmap {path}: {problem}" for problem in png_problems(Path(path)))
    return problems


def png_problems(path: Path) -> list[str]:
    if not path.is_file():
        return ["no such file"]
    data = path.read_bytes()
    if not data.startswith(PNG_SIGNATURE):
        return ["not a PNG (wrong signature)"]
    if len(data) < MIN_PNG_BYTES:
        return [f"only {len(data)} bytes (expected at least {MIN_PNG_BYTES})"]
    try:
        from PIL import Image  # matplotlib's own dependency
    except ImportError:
        return []
    try:
        with Image.open(path) as image:
            image.load()
            width, height = image.size
    except (OSError, SyntaxError, ValueError) as exc:
        return [f"does not open as an image ({exc})"]
    return [] if min(width, height) >= 100 else [f"{width}x{height} pixels: too small for a heatmap"]


def environment_problems(run: dict[str, Any], require_locked: bool) -> list[str]:
    """Print whether the run's packages were the locked set (its manifest says); a problem if required."""
    from assay.environment import difference_lines

    record = (run.get("manifest") or {}).get("environment") or {}
    if record.get("locked"):
        print("main job: packages: the locked set (src/assay/lock.txt)")
        return []
    differs = difference_lines(record.get("differs_from_lock") or {})
    summary = f"{len(differs)} differ from the lock: {'; '.join(differs)}" if differs else f"not recorded as locked {record}"
    print(f"main job: packages: {summary}")
    return [f"the main job's packages are not the locked set ({summary}); a new dependency needs scripts/lock.sh"
            ] if require_locked else []


def _fail(message: str, code: int) -> int:
    print(f"main job: {message}", file=sys.stderr)
    return code


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True, help="the store the main job wrote (SQLite path or URL)")
    parser.add_argument("--run", help="the run to check (default: the store's only run)")
    parser.add_argument("--output", type=Path, help="a file with what the main job printed")
    parser.add_argument("--snapshot", type=Path, default=SNAPSHOT)
    parser.add_argument("--max-differing", type=int, help=f"samples allowed to differ (default {MAX_DIFFERING})")
    parser.add_argument("--require-locked", action="store_true", help="fail unless the run's manifest says its "
                        "packages were the locked set (CI: install.sh installs the lock)")
    parser.add_argument("--update", action="store_true", help="write the snapshot from the run instead of checking")
    args = parser.parse_args(argv)
    checking_only = {"--output": args.output, "--max-differing": args.max_differing, "--require-locked": args.require_locked}
    for flag, value in checking_only.items():
        if args.update and value not in (None, False):
            return _fail(f"{flag}: not used with --update (it only writes the snapshot)", 2)
    max_differing = MAX_DIFFERING if args.max_differing is None else args.max_differing
    if args.output is not None and not args.output.is_file():
        return _fail(f"--output {args.output}: no such file", 2)
    if not args.update and not args.snapshot.is_file():
        return _fail(f"--snapshot {args.snapshot}: no such file (make it with --update)", 2)
    from assay.errors import AssayError

    try:
        run, rows = run_results(args.db, args.run)
    except AssayError as exc:
        return _fail(str(exc), 2)
    if args.update:
        args.snapshot.parent.mkdir(parents=True, exist_ok=True)
        args.snapshot.write_text("\n".join(snapshot_lines(run, rows)) + "\n", encoding="utf-8")
        print(f"main job: wrote {len(rows)} samples of run {run['id']} to {args.snapshot}")
        return 0
    problems = output_problems(args.output.read_text(encoding="utf-8")) if args.output is not None else []
    snapshot = read_snapshot(args.snapshot)
    if run["status"] != "complete":
        problems.append(f"run {run['id']} is {run['status']}, not complete")
    for name in ("seed", "tasks"):
        if snapshot.header[name] != run[name]:
            problems.append(f"run {run['id']} has {name} {run[name]}, the snapshot {snapshot.header[name]}")
    problems.extend(environment_problems(run, args.require_locked))
    differing = differences(snapshot, rows)
    for line in differing:
        print(f"main job: differs: {line}")
    print(f"main job: run {run['id']} ({run['model_spec']}, seed {run['seed']}): {len(rows)} samples, "
          f"{len(differing)} differ from {args.snapshot.name} (at most {max_differing} may)")
    if len(differing) > max_differing:
        problems.append(f"{len(differing)} samples differ from the snapshot; if the change is meant, update it with "
                        "scripts/check_main_job.py --update and say why in the commit")
    for problem in problems:
        print(f"main job: FAIL: {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
