"""Run the README's Quickstart command (a) exactly as written, as a new user would, and time it.

    python3 .ci/quickstart.py --log quickstart.log

The command is read from README.md's Quickstart block (the line after the `# (a)` comment), so the README
and CI cannot drift. It runs in the repository root, which must hold no assay.db or assay_out/ (a clean
clone: no stored run is reused), with the environment a user has: CI's OMP_NUM_THREADS and any ASSAY_DB
are removed. Each `&&` step runs in turn (as bash would), its output streamed here and to --log, and its
wall time and peak RSS printed. Exit status: the failing step's, else 0. Stdlib only: no venv exists yet.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# CI's own settings, which a user typing the Quickstart does not have.
NOT_A_USERS = ("OMP_NUM_THREADS", "ASSAY_DB")
LEFT_BY_A_RUN = ("assay.db", "assay_out")


def quickstart_command(readme: str) -> str:
    """The command on the line after `# (a)` in the first bash block of the `## Quickstart` section."""
    section = readme.partition("\n## Quickstart")[2].partition("\n## ")[0]
    block = re.search(r"```bash\n(.*?)```", section, re.DOTALL)
    lines = block.group(1).splitlines() if block else []
    for comment, command in zip(lines, lines[1:], strict=False):
        if comment.startswith("# (a)") and command.strip():
            return command.strip()
    raise ValueError("README.md: no command after a '# (a)' comment in the Quickstart's bash block")


def run_step(step: str, root: Path, env: dict[str, str], log: Path) -> tuple[int, float, float]:
    """Run one step with bash in the repository root; (exit status, wall seconds, peak RSS in MiB of the step's
    largest process: wait4 reports the child's own peak and that of every process it waited for)."""
    start = time.monotonic()
    with log.open("a", encoding="utf-8") as sink:
        process = subprocess.Popen(["bash", "-c", step], cwd=root, env=env, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, text=True, bufsize=1)
        assert process.stdout is not None
        for line in process.stdout:
            sys.stdout.write(line)
            sink.write(line)
        _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)  # reaped here: Popen must not wait again
    return process.returncode, time.monotonic() - start, usage.ru_maxrss / 1024  # ru_maxrss: KiB on Linux


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--log", type=Path, required=True, help="where to keep the command's output")
    parser.add_argument("--root", type=Path, default=ROOT, help="the clone (default: this one)")
    args = parser.parse_args(argv)
    root = args.root.resolve()
    try:
        command = quickstart_command((root / "README.md").read_text(encoding="utf-8"))
    except ValueError as exc:
        print(f"quickstart: {exc}", file=sys.stderr)
        return 2
    left = [name for name in LEFT_BY_A_RUN if (root / name).exists()]
    if left:
        print(f"quickstart: {', '.join(left)} already in {root}: the Quickstart runs in a clean clone "
              "(move them away first)", file=sys.stderr)
        return 2
    env = {key: value for key, value in os.environ.items() if key not in NOT_A_USERS}
    args.log.write_text("", encoding="utf-8")
    print(f"quickstart: README command (a), verbatim: {command}", flush=True)
    for step in command.split(" && "):
        code, wall_s, peak_mib = run_step(step, root, env, args.log)
        print(f"quickstart: `{step}`: exit {code}, wall {wall_s:.1f} s, peak RSS {peak_mib:.0f} MiB", flush=True)
        if code != 0:
            return code
    return 0


if __name__ == "__main__":
    sys.exit(main())
