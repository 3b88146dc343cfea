"""A data file that is not UTF-8 text (or is binary) is one line naming the file and the line,
exit code 2, and nothing stored — never a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_support import assay, one_error_line, run_json, store_state

GOOD_LINE = json.dumps({"question": "What is 2 + 2?", "answer": "2 + 2 = 4\n#### 4"}) + "\n"
YAML = """\
name: bad_bytes_task
output_type: generate_until
dataset: {path: items.jsonl}
prompt: {template: "Q: {{ question }}\\nA:"}
target: answer
metrics: [exact_match]
"""


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("bad_data")
    path = root / "assay.db"
    run_json("--model", "scripted:echo", "--task", "arith", "--limit", "2", "--db", str(path), cwd=root)
    return path


@pytest.mark.parametrize(("content", "expected"), [
    ((GOOD_LINE + GOOD_LINE.replace("What", "Wh\xe9t")).encode("latin-1"), "line 2: not UTF-8 text"),
    (GOOD_LINE.encode() * 2 + b"\x89PNG\x00\x00\x1a", "line 3: a binary file"),
])
def test_gsm8k_jsonl_with_bad_bytes(db: Path, tmp_path: Path, content: bytes, expected: str) -> None:
    data = tmp_path / "data" / "gsm8k"
    data.mkdir(parents=True)
    (data / "test.jsonl").write_bytes(content)
    before = store_state(db)
    line = one_error_line(assay("run", "--model", "scripted:echo", "--task", "gsm8k:zeroshot", "--data-dir",
                                str(tmp_path / "data"), "--db", str(db), "--no-progress", cwd=tmp_path))
    assert str(data / "test.jsonl") in line and expected in line
    assert store_state(db) == before


def test_yaml_dataset_with_bad_bytes(db: Path, tmp_path: Path) -> None:
    (tmp_path / "task.yaml").write_text(YAML, encoding="utf-8")
    (tmp_path / "items.jsonl").write_bytes(GOOD_LINE.encode() + b'{"question": "\xff\xfe", "answer": "1"}\n')
    before = store_state(db)
    line = one_error_line(assay("run", "--model", "scripted:echo", "--task", str(tmp_path / "task.yaml"),
                                "--db", str(db), "--no-progress", cwd=tmp_path))
    assert "items.jsonl line 2: not UTF-8 text" in line and "dataset.path" in line
    assert store_state(db) == before
