""".ci/check_junit.py on junit XML written by real pytest runs of small generated test files."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHECKER = ROOT / ".ci" / "check_junit.py"

TESTS = textwrap.dedent('''
    import pytest

    def test_passes():
        pass

    def test_needs_cuda():
        pytest.skip("GPU only: needs a CUDA device")

    class TestServer:
        @pytest.mark.parametrize("n", [1, 2])
        def test_on_gpu(self, n):
            pytest.skip("GPU only: vLLM is not installed")

    @pytest.mark.xfail(strict=True, reason="known upstream bug")
    def test_strict_known_bug():
        assert False

    @pytest.mark.xfail(strict=False, reason="maybe")
    def test_lenient_known_bug():
        assert False

    def test_imperative_xfail():
        pytest.xfail("not now")

    def test_skipped_for_want_of_data():
        pytest.skip("../shared/data not present")
''')
LISTED = ["test_gen.py::test_needs_cuda", "test_gen.py::TestServer::test_on_gpu[1]", "test_gen.py::TestServer::test_on_gpu[2]"]


def junit_of(tmp_path: Path, selection: str) -> Path:
    """Run pytest on the generated file (with the project's xfail-strictness hook, as tests/conftest.py
    loads it) and return its junit XML."""
    project = tmp_path / "project"
    project.mkdir(exist_ok=True)
    (project / "test_gen.py").write_text(TESTS)
    (project / "conftest.py").write_text("from xfail_strictness import pytest_collection_modifyitems  # noqa: F401\n")
    junit = tmp_path / f"junit-{abs(hash(selection))}.xml"
    env = {"PYTHONPATH": str(ROOT / "tests"), "PATH": "/usr/bin:/bin"}
    subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-k", selection, f"--junitxml={junit}",
                    "--rootdir", str(project), str(project / "test_gen.py")], cwd=project, env=env, capture_output=True,
                   check=False, timeout=120)
    assert junit.is_file()
    return junit


def check(junit: Path, tmp_path: Path, listed: list[str]) -> subprocess.CompletedProcess[str]:
    gpu_only = tmp_path / "gpu_only.txt"
    gpu_only.write_text("# the GPU-only tests\n" + "\n".join(listed) + "\n")
    return subprocess.run([sys.executable, str(CHECKER), str(junit), "--gpu-only", str(gpu_only)], capture_output=True,
                          text=True, check=False, timeout=60)


CLEAN = "passes or needs_cuda or on_gpu or strict_known"


def test_listed_gpu_only_skips_and_strict_expected_failures_pass(tmp_path: Path) -> None:
    out = check(junit_of(tmp_path, CLEAN), tmp_path, LISTED)
    assert out.returncode == 0, out.stdout
    assert "CI: 5 tests, 3 of 3 listed GPU-only tests skipped, 1 strict expected failures" in out.stdout


def test_a_gpu_only_skip_not_on_the_list_fails(tmp_path: Path) -> None:
    out = check(junit_of(tmp_path, CLEAN), tmp_path, LISTED[:2])
    assert out.returncode == 1
    assert "test_gen.TestServer::test_on_gpu[2]: skipped as GPU-only but not on the list" in out.stdout
    assert "CI: 1 problems" in out.stdout


def test_a_stale_list_entry_and_a_listed_test_that_ran_fail(tmp_path: Path) -> None:
    out = check(junit_of(tmp_path, CLEAN), tmp_path, [*LISTED, "test_gen.py::test_gone", "test_gen.py::test_passes"])
    assert out.returncode == 1
    assert "test_gen.py::test_gone: on the GPU-only list but no such test ran (stale entry)" in out.stdout
    assert "test_gen.py::test_passes: on the GPU-only list but it ran here" in out.stdout


def test_other_skips_and_non_strict_expected_failures_fail(tmp_path: Path) -> None:
    out = check(junit_of(tmp_path, "lenient or imperative or want_of_data"), tmp_path, [])
    assert out.returncode == 1
    lines = [line for line in out.stdout.splitlines() if line.startswith("CI: test_gen")]
    assert lines == ["CI: test_gen::test_lenient_known_bug: an expected failure that is not strict (xfail(strict=True), "
                     "or xfail_strict in pyproject.toml)",
                     "CI: test_gen::test_imperative_xfail: an imperative pytest.xfail() is not a strict expected failure",
                     "CI: test_gen::test_skipped_for_want_of_data: skipped: ../shared/data not present"]

