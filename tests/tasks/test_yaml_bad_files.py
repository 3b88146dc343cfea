"""Every malformed task file fails the same way: exit code 2, one line on stderr naming the file
and the offending key, no traceback. Each fixture states what it expects in its header comments."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

BAD_DIR = Path(__file__).resolve().parents[1] / "fixtures" / "bad_yaml"
BAD_FILES = sorted(BAD_DIR.glob("*.yaml"))
# The exact number of bad task files: a fixture that goes missing (renamed to another suffix, deleted in a
# merge) would otherwise just drop out of the parametrisation. Add one here when you add a fixture.
EXPECTED_BAD_FILES = 28


def _expectations(path: Path) -> tuple[str, str]:
    text = path.read_text(encoding="utf-8")
    key = re.search(r"^# expect-key: (.+)$", text, re.MULTILINE)
    problem = re.search(r"^# expect-text: (.+)$", text, re.MULTILINE)
    assert key and problem, f"{path.name} lacks its expect-key / expect-text header"
    return key.group(1).strip(), problem.group(1).strip()


def test_every_bad_fixture_is_collected() -> None:
    assert len(BAD_FILES) == EXPECTED_BAD_FILES, [p.name for p in BAD_FILES]
    # Any other file in the folder is a data file some fixture reads (not a task file with a wrong suffix).
    texts = "\n".join(p.read_text(encoding="utf-8") for p in BAD_FILES)
    strays = [p.name for p in BAD_DIR.iterdir() if p.suffix != ".yaml" and p.name not in texts]
    assert strays == [], strays


@pytest.mark.parametrize("path", BAD_FILES, ids=lambda p: p.stem)
def test_bad_task_file_gives_one_line_naming_file_and_key(path: Path, tmp_path: Path, monkeypatch, capsys) -> None:
    from assay.cli import main

    key, problem = _expectations(path)
    monkeypatch.setattr(sys, "argv", ["assay", "run", "--model", "scripted:echo", "--task", str(path),
                                      "--db", f"sqlite:///{tmp_path / 'a.db'}", "--no-progress"])
    with pytest.raises(SystemExit) as exit_info:
        main()
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    lines = err.strip("\n").split("\n")
    assert len(lines) == 1, err
    assert "Traceback" not in err
    assert str(path) in lines[0]
    assert f": {key}: " in lines[0], lines[0]
    assert problem in lines[0], lines[0]


def test_bad_task_file_through_the_installed_command(tmp_path: Path) -> None:
    """The real process boundary once: exit status and stderr as a user sees them."""
    path = BAD_DIR / "unknown_metric.yaml"
    result = subprocess.run([sys.executable, "-c", "from assay.cli import main; main()", "run", "--model", "scripted:echo",
                             "--task", str(path), "--db", f"sqlite:///{tmp_path / 'a.db'}", "--no-progress"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert result.stderr.startswith("error: ") and str(path) in result.stderr and "metrics.1" in result.stderr


def _run_bad(path: Path, tmp_path: Path, monkeypatch, capsys) -> list[str]:
    from assay.cli import main

    monkeypatch.setattr(sys, "argv", ["assay", "run", "--model", "scripted:echo", "--task", str(path),
                                      "--db", f"sqlite:///{tmp_path / 'a.db'}", "--no-progress"])
    with pytest.raises(SystemExit) as exit_info:
        main()
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return err.strip("\n").split("\n")


def test_every_problem_of_a_task_file_gets_its_own_line(tmp_path: Path, monkeypatch, capsys) -> None:
    path = tmp_path / "three_problems.yaml"
    data = BAD_DIR.parent / "tasks" / "capitals.jsonl"
    path.write_text(f"name: three\noutput_type: generate_until\ndataset: {{path: {data}}}\n"
                    "promt: {template: 'Q: {{ country }}'}\nprompt: {template: 'Q: {{ country }}'}\ntarget: capital\n"
                    "generation: {until: ['\\n'], max_tokens: many}\nfew_shot: {count: -1}\nmetrics: [exact_match]\n",
                    encoding="utf-8")
    lines = _run_bad(path, tmp_path, monkeypatch, capsys)
    assert len(lines) == 3, lines
    assert all(line.startswith(f"error: {path}: ") for line in lines), lines
    keys = sorted(line.split(": ")[2] for line in lines)
    assert keys == ["few_shot.count", "generation.max_tokens", "promt"], lines
    assert not any("more problem" in line for line in lines)


def test_many_problems_show_ten_then_a_count(tmp_path: Path, monkeypatch, capsys) -> None:
    path = tmp_path / "many_problems.yaml"
    unknown = "".join(f"typo_{index:02d}: 1\n" for index in range(12))
    path.write_text(f"name: many\noutput_type: generate_until\ndataset: {{path: {BAD_DIR.parent / 'tasks' / 'capitals.jsonl'}}}\n"
                    f"prompt: {{template: 'Q: {{{{ country }}}}'}}\ntarget: capital\nmetrics: [exact_match]\n{unknown}",
                    encoding="utf-8")
    lines = _run_bad(path, tmp_path, monkeypatch, capsys)
    assert len(lines) == 11, lines
    assert [line.split(": ")[2] for line in lines[:10]] == [f"typo_{index:02d}" for index in range(10)]
    assert lines[10] == f"error: {path}: and 2 more problems"
