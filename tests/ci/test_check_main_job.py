"""scripts/check_main_job.py on what the real producer stores: `assay run --task longctx_quick` runs of scripted
models (the main job's task; the embedded model's run is CI's Quickstart step). A snapshot is taken with
--update from one run; runs whose model fails some requests (scripted:fail=K) differ from it in exactly
those samples."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from assay.store import Store

ROOT = Path(__file__).resolve().parents[2]
CHECKER = ROOT / "scripts" / "check_main_job.py"


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three runs of longctx_quick, each in its own store, with what `assay run` printed; the snapshot of the first."""
    folder = tmp_path_factory.mktemp("main_job")
    for name, model in (("echo", "scripted:echo"), ("fail40", "scripted:fail=40"), ("fail30", "scripted:fail=30")):
        out = assay("run", "--model", model, "--task", "longctx_quick", "--db", f"{name}.db", "--no-progress", cwd=folder)
        assert out.returncode == 0, out.stderr
        (folder / f"{name}.txt").write_text(out.stdout)
    assert check(folder, "echo", "--update").returncode == 0
    return folder


def assay(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "assay.cli", *args], capture_output=True, text=True, timeout=300,
                          cwd=cwd, check=False)


def check(folder: Path, name: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(CHECKER), "--db", str(folder / f"{name}.db"), "--snapshot",
                           str(folder / "snapshot.jsonl"), *args], capture_output=True, text=True, check=False,
                          timeout=120, cwd=folder)


def failed_samples(db: Path) -> list[str]:
    store = Store(str(db), read_only=True)
    try:
        run = store.list_runs()[0]
        return sorted(row["sample_id"] for row in store.iter_samples(run["id"], columns=("sample_id", "error"))
                      if row["error"])
    finally:
        store.close()


def differing(stdout: str) -> list[str]:
    return sorted(re.findall(r"^main job: differs: longctx_quick (\S+):", stdout, re.MULTILINE))


def test_the_snapshot_is_the_runs_samples_and_the_same_run_passes(folder: Path) -> None:
    lines = (folder / "snapshot.jsonl").read_text().splitlines()
    assert len(lines) == 61 and '"seed": 1234' in lines[0]
    out = check(folder, "echo", "--output", str(folder / "echo.txt"))
    assert out.returncode == 0, out.stdout + out.stderr
    assert "60 samples, 0 differ from snapshot.jsonl (at most 2 may)" in out.stdout


def test_two_differing_samples_are_printed_and_pass(folder: Path) -> None:
    out = check(folder, "fail40", "--output", str(folder / "fail40.txt"))
    assert len(failed_samples(folder / "fail40.db")) == 2
    assert differing(out.stdout) == failed_samples(folder / "fail40.db")
    assert out.returncode == 0, out.stdout


def test_three_differing_samples_are_printed_and_fail(folder: Path) -> None:
    out = check(folder, "fail30", "--output", str(folder / "fail30.txt"))
    assert len(failed_samples(folder / "fail30.db")) == 3
    assert differing(out.stdout) == failed_samples(folder / "fail30.db")
    assert out.returncode == 1
    assert "main job: FAIL: 3 samples differ from the snapshot" in out.stdout


def test_output_without_the_effective_length_or_a_valid_heatmap_fails(folder: Path) -> None:
    printed = (folder / "echo.txt").read_text()
    heatmap = Path(re.search(r"longctx_quick: heatmap (\S+\.png)", printed).group(1))
    truncated = folder / "truncated.png"
    truncated.write_bytes(heatmap.read_bytes()[:6000])
    broken = "".join(line for line in printed.splitlines(keepends=True) if "effective context length" not in line)
    (folder / "broken.txt").write_text(broken.replace(str(heatmap), str(truncated)))
    out = check(folder, "echo", "--output", str(folder / "broken.txt"))
    assert out.returncode == 1
    assert "main job: FAIL: the output has no effective-length line ('effective context length: ...')" in out.stdout
    assert re.search(r"main job: FAIL: longctx_quick heatmap \S+truncated.png: does not open as an image", out.stdout)


def test_a_store_with_other_runs_needs_the_run_named(folder: Path) -> None:
    both = folder / "both.db"
    for name in ("echo", "fail40"):
        assert assay("run", "--model", "scripted:echo" if name == "echo" else "scripted:fail=40", "--task",
                     "longctx_quick", "--db", str(both), "--no-progress", cwd=folder).returncode == 0
    out = check(folder, "both")
    assert out.returncode == 2 and "expected the main job's one run, found 2 (give --run)" in out.stderr
    refused = check(folder, "echo", "--update", "--require-locked")
    assert refused.returncode == 2 and "--require-locked: not used with --update" in refused.stderr


def test_whether_the_run_had_the_locked_packages_is_printed_and_required_in_ci(folder: Path) -> None:
    from assay.environment import difference_lines, environment_record

    out = check(folder, "echo", "--require-locked")
    record = environment_record()  # this process's packages, those the run's manifest recorded
    if record["locked"]:
        assert out.returncode == 0 and "main job: packages: the locked set (src/assay/lock.txt)" in out.stdout
    else:
        assert out.returncode == 1
        assert f"main job: packages: {len(record['differs_from_lock'])} differ from the lock: " in out.stdout
        assert all(line in out.stdout for line in difference_lines(record["differs_from_lock"]))
