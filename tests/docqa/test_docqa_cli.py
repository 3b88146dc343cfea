"""`assay docqa generate` from the command line: the set written and summarised, bad input as one line with
exit code 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from docqa_support import EXAMPLE_DOCS, GENERATOR_RULES, cli, docs_folder, one_error, rules_spec

from assay.docqa.question_set import load_set


def test_generate_writes_the_set_and_counts(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "set.jsonl"
    code, stdout, err = cli(capsys, "docqa", "generate", "--docs", str(docs_folder(tmp_path)), "--generator",
                            rules_spec(tmp_path, GENERATOR_RULES, "generator"), "--per-doc", "2", "-o", str(out))
    assert code == 0, err
    question_set, _ = load_set(out)
    counts = question_set.header.counts
    assert f"wrote {counts['kept']} questions about 1 documents" in stdout
    assert f"{counts['near_duplicates']} near duplicates" in stdout


def test_generate_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = str(tmp_path / "set.jsonl")
    docs = str(EXAMPLE_DOCS)
    assert "--docs" in one_error(capsys, "docqa", "generate", "--docs", str(tmp_path / "none"), "--generator",
                                 "scripted:echo", "-o", out)
    assert "unknown question type 'bogus'" in one_error(capsys, "docqa", "generate", "--docs", docs, "--generator",
                                                        "scripted:echo", "--types", "factual,bogus", "-o", out)
    assert one_error(capsys, "docqa", "generate", "--docs", docs, "--generator", "nosuch:x", "-o", out).startswith(
        "error: --generator: unknown model spec")
    assert "--generator-args: unknown key 'foo'" in one_error(capsys, "docqa", "generate", "--docs", docs,
                                                              "--generator", "scripted:echo", "--generator-args",
                                                              "foo=1", "-o", out)
    assert "does not exist" in one_error(capsys, "docqa", "generate", "--docs", docs, "--generator", "scripted:echo",
                                         "-o", str(tmp_path / "no" / "set.jsonl"))
    # The echo generator repeats the prompt: no question is read, none kept, every candidate counted.
    code, stdout, err = cli(capsys, "docqa", "generate", "--docs", docs, "--generator", "scripted:echo", "--per-doc",
                            "1", "-o", out)
    assert code == 2 and "no question was kept" in err and "12 question unreadable" in stdout
    assert len(json.loads(Path(out).read_text().splitlines()[0])["rejected"]) == 12
