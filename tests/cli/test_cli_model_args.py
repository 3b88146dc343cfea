"""`--model-args key=value,...`: reaches the backend, is recorded in the manifest, and an unknown key or a
bad value is one line with exit code 2 before anything is loaded or stored."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from assay.errors import AssayError
from assay.models.registry import check_options


def assay(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "assay.cli", *args], capture_output=True, text=True, timeout=300)


@pytest.mark.slow
def test_embedded_model_args_reach_the_backend_and_the_manifest(tmp_path: Path) -> None:
    db = tmp_path / "args.db"
    out = assay("run", "--model", "embedded", "--model-args", "device=cpu,dtype=float32,batch_size=4", "--task", "arith",
                "--limit", "2", "--db", str(db), "--json")
    assert out.returncode == 0, out.stderr
    run = json.loads(out.stdout)
    assert {m["name"]: m["n"] for m in run["metrics"]}["exact_match"] == 2
    shown = json.loads(assay("show", run["id"], "--db", str(db), "--json").stdout)
    assert shown["manifest"]["options"]["model_args"] == {"device": "cpu", "dtype": "float32", "batch_size": 4}
    assert shown["manifest"]["model"]["fingerprint"]["dtype"] == "float32"
    # Other arguments are another configuration: a new run, not a resume or a reuse of the first.
    other = assay("run", "--model", "embedded", "--model-args", "batch_size=1", "--task", "arith", "--limit", "2",
                  "--db", str(db), "--json")
    assert other.returncode == 0, other.stderr
    assert json.loads(other.stdout)["id"] != run["id"]


@pytest.mark.parametrize(("model", "args", "named"), [
    ("embedded", "nosuch=1", "nosuch"),
    ("embedded", "dtype=float8", "dtype=float8"),
    ("embedded", "batch_size=0", "batch_size=0"),
    ("embedded", "device=gpu", "device=gpu"),
    ("embedded", "reuse_prefix=maybe", "reuse_prefix"),
    ("embedded", "dtype", "dtype"),
    ("scripted:echo", "concurrency=4", "concurrency"),
    ("openai:http://127.0.0.1:9/v1#m", "timeout=-1", "timeout=-1"),
])
def test_bad_model_args_are_one_line_exit_2(tmp_path: Path, model: str, args: str, named: str) -> None:
    db = tmp_path / "never.db"
    out = assay("run", "--model", model, "--model-args", args, "--task", "arith", "--limit", "2", "--db", str(db))
    lines = [line for line in out.stderr.splitlines() if line.strip()]
    assert out.returncode == 2 and len(lines) == 1 and named in lines[0] and "--model-args" in lines[0], out.stderr
    assert not db.exists()


def test_api_flags_are_refused_by_backends_that_do_not_use_them(tmp_path: Path) -> None:
    out = assay("run", "--model", "scripted:echo", "--task", "arith", "--concurrency", "4", "--db", str(tmp_path / "x.db"))
    assert out.returncode == 2 and "--concurrency" in out.stderr and len(out.stderr.strip().splitlines()) == 1


def test_options_are_typed_and_checked_per_backend() -> None:
    assert check_options("hf:/x", {"device": "cuda:1", "dtype": "bfloat16", "batch_size": "16", "reuse_prefix": "off",
                                   "max_context": "4096"}) == {
        "device": "cuda:1", "dtype": "bfloat16", "batch_size": 16, "reuse_prefix": False, "max_context": 4096}
    assert check_options("openai:http://h/v1#m", {"concurrency": 32, "timeout": 5.5, "max_retries": None}) == {
        "concurrency": 32, "timeout": 5.5}
    with pytest.raises(AssayError, match="unknown key 'n_ctx' for the hf backend"):
        check_options("hf:/x", {"n_ctx": "4"})
    with pytest.raises(AssayError, match="did you mean embedded"):
        check_options("embeded", {})
