"""CI's verdict on a pytest junit XML: nothing may be skipped, except the GPU-only tests listed by id in
.ci/gpu_only.txt, and an expected failure counts only if it is strict.

    python .ci/check_junit.py JUNIT_XML [--gpu-only .ci/gpu_only.txt]

Fails (exit 1, every reason printed) when: no test ran; a test skipped and is not on the list; a test
skipped with "GPU only:" but is not on the list (a new GPU-only test is added to the list deliberately);
a listed test did not skip as GPU-only or no longer exists (a stale list hides nothing); an expected
failure is not strict (tests/xfail_strictness.py records each xfail's strictness as a junit property;
an imperative `pytest.xfail()` has none and is not strict either). Stdlib only: it runs before any venv
exists on a fresh machine as well as after.
"""

from __future__ import annotations

import argparse
import re
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

GPU_ONLY_PREFIX = "GPU only:"
XFAIL = "pytest.xfail"
STRICT_PROPERTY = "xfail_strict"
DEFAULT_LIST = Path(__file__).with_name("gpu_only.txt")


def junit_key(node_id: str) -> tuple[str, str]:
    """A pytest node id as junit writes it: (classname, name). Mirrors pytest's junitxml address
    mangling: the file path becomes a dotted module, classes join it, the last part is the name."""
    path, bracket, params = node_id.partition("[")
    names = path.split("::")
    names[0] = re.sub(r"\.py$", "", names[0].replace("/", "."))
    names[-1] += bracket + params
    return ".".join(names[:-1]), names[-1]


def read_gpu_only(path: Path) -> list[str]:
    """The listed node ids: one a line; blank lines and `#` comments ignored."""
    ids = [line.split("#", 1)[0].strip() for line in path.read_text(encoding="utf-8").splitlines()]
    return [node_id for node_id in ids if node_id]


@dataclass
class Verdict:
    tests: int = 0
    gpu_only: list[str] = field(default_factory=list)
    xfailed: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def check(junit: Path, gpu_only_ids: list[str]) -> Verdict:
    listed = {junit_key(node_id): node_id for node_id in gpu_only_ids}
    verdict = Verdict()
    if len(listed) != len(gpu_only_ids):
        verdict.problems.append("the GPU-only list names a test twice")
    seen: set[tuple[str, str]] = set()
    for case in ET.parse(junit).getroot().iter("testcase"):
        verdict.tests += 1
        key = (case.get("classname", ""), case.get("name", ""))
        label = "::".join(part for part in key if part)
        seen.add(key)
        skip = case.find("skipped")
        strict = {p.get("name"): p.get("value") for p in case.iter("property")}.get(STRICT_PROPERTY)
        if strict is not None and strict != "true":
            verdict.problems.append(f"{label}: an expected failure that is not strict (xfail(strict=True), or "
                                    "xfail_strict in pyproject.toml)")
        if skip is None:
            if key in listed:
                verdict.problems.append(f"{listed[key]}: on the GPU-only list but it ran here; take it off the list")
            continue
        message = skip.get("message", "")
        if skip.get("type") == XFAIL:
            verdict.xfailed.append(label)
            if strict is None:
                verdict.problems.append(f"{label}: an imperative pytest.xfail() is not a strict expected failure")
        elif key in listed and message.startswith(GPU_ONLY_PREFIX):
            verdict.gpu_only.append(listed[key])
        elif key in listed:
            verdict.problems.append(f"{listed[key]}: listed as GPU-only but skipped for another reason: {message}")
        elif message.startswith(GPU_ONLY_PREFIX):
            verdict.problems.append(f"{label}: skipped as GPU-only but not on the list .ci/gpu_only.txt: {message}")
        else:
            verdict.problems.append(f"{label}: skipped: {message}")
    verdict.problems.extend(f"{node_id}: on the GPU-only list but no such test ran (stale entry)"
                            for key, node_id in listed.items() if key not in seen)
    if verdict.tests == 0:
        verdict.problems.append("no test ran")
    return verdict


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("junit", type=Path)
    parser.add_argument("--gpu-only", type=Path, default=DEFAULT_LIST, help="the listed GPU-only test ids")
    args = parser.parse_args(argv)
    for path in (args.junit, args.gpu_only):
        if not path.is_file():
            print(f"error: {path}: no such file", file=sys.stderr)
            return 2
    listed = read_gpu_only(args.gpu_only)
    verdict = check(args.junit, listed)
    print(f"CI: {verdict.tests} tests, {len(verdict.gpu_only)} of {len(listed)} listed GPU-only tests skipped, "
          f"{len(verdict.xfailed)} strict expected failures")
    if verdict.gpu_only:
        print("GPU-only (not run here; bench/gpu_check.py, docs/gpu.md, docs/vllm.md):", ", ".join(verdict.gpu_only))
    for problem in verdict.problems:
        print(f"CI: {problem}")
    if verdict.problems:
        print(f"CI: {len(verdict.problems)} problems; everything must run in CI (shared data, Chromium, PostgreSQL, "
              "llama.cpp) except the listed GPU-only tests")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
