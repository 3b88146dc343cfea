"""Importers on the real data, the JSON-lines format round trip, and bad files: one line naming the file
(and line), exit code 2 from the CLI, the store untouched."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from assay.errors import AssayError
from assay.judges.importers import get_importer, importers
from assay.judges.store import iter_judgments, sources
from assay.judges.types import Judgment
from assay.store import Store


def assay(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "assay.cli", *args], capture_output=True, text=True, timeout=300)


def test_registry_lists_the_formats() -> None:
    assert {"llmbar", "prd", "jsonl"} <= set(importers())


def test_llmbar_set_folder(judges_dir: Path) -> None:
    rows = get_importer("llmbar")(judges_dir / "llmbar" / "Processed" / "MT-Bench")
    assert Counter(j.rater for j in rows) == {"expert": 200, "GPT-4/Vanilla_NoRules": 400, "GPT-4/Metrics_Reference": 400,
                                              "ChatGPT/Vanilla_NoRules": 400, "ChatGPT/Metrics_Reference": 400}
    labels = [j for j in rows if j.rater_kind == "label"]
    assert all(j.order is None and j.verdict in ("a", "b") for j in labels)
    judged = [j for j in rows if j.rater_kind == "judge"]
    assert Counter(j.order for j in judged) == {"ab": 800, "ba": 800}
    assert all(j.output_a and j.output_b and j.prompt for j in rows)


def test_prd_folder(judges_dir: Path) -> None:
    rows = get_importer("prd")(judges_dir / "prd" / "vicuna80")
    gpt4 = [j for j in rows if j.rater == "gpt4"]
    assert len(gpt4) == 1600 and {j.rater_kind for j in gpt4} == {"judge"}
    assert Counter(j.order for j in gpt4) == {"ab": 800, "ba": 800}
    assert all(j.model_a < j.model_b for j in rows)
    humans = [j for j in rows if j.rater_kind == "human"]
    assert {j.rater for j in humans} == {"human-1", "human-2", "human-3"}
    with_outputs = [j for j in gpt4 if j.output_a and j.output_b and j.prompt]
    assert len(with_outputs) == 1600


def test_jsonl_round_trip_of_real_judgments(judges_dir: Path, tmp_path: Path) -> None:
    rows = get_importer("llmbar")(judges_dir / "llmbar" / "LLMBar" / "Natural" / "evaluators" / "GPT-4" / "Swap")
    path = tmp_path / "judgments.jsonl"
    path.write_text("".join(json.dumps({k: v for k, v in j.to_row().items() if k != "source" and v is not None}) + "\n"
                            for j in rows))
    again = get_importer("jsonl")(path)
    assert [j.to_row() for j in again] == [{**j.to_row(), "source": "import:jsonl"} for j in rows]


_PAIR = '"item": "i", "model_a": "x", "model_b": "y"'


@pytest.mark.parametrize(("line", "message"), [
    ('"rater": "r", "verdict": "A"}', "line 2: field 'verdict' must be one of"),
    ('"rater": "r", "verdict": "a", "colour": 1}', "line 2: unknown field 'colour'"),
    ('"rater": "r"}', "line 2: a pairwise judgment needs 'verdict'"),
    ('"verdict": "a"}', "line 2: missing field 'rater'"),
    ('"rater": "r", "verdict": "a", "preference": 2}', "line 2: field 'preference' must be in 0..1"),
    ('"rater": "r", "verdict": "a", ', "line 2: not valid JSON"),
    ('[1, 2]', "line 2: expected a JSON object"),
])
def test_jsonl_bad_lines(tmp_path: Path, line: str, message: str) -> None:
    path = tmp_path / "bad.jsonl"
    if not line.startswith("["):
        line = "{" + _PAIR + ", " + line
    path.write_text('{"item": "i", "model_a": "x", "model_b": "y", "rater": "r", "verdict": "a"}\n' + line + "\n")
    with pytest.raises(AssayError, match=message) as info:
        get_importer("jsonl")(path)
    assert str(path) in str(info.value)


def _broken_llmbar(judges_dir: Path, tmp_path: Path) -> Path:
    folder = tmp_path / "Natural"
    shutil.copytree(judges_dir / "llmbar" / "LLMBar" / "Natural", folder)
    result = folder / "evaluators" / "GPT-4" / "Swap" / "result.json"
    data = json.loads(result.read_text())
    del data[7]["results"]
    result.write_text(json.dumps(data))
    return folder


def test_bad_llmbar_file_names_file_and_instance(judges_dir: Path, tmp_path: Path) -> None:
    folder = _broken_llmbar(judges_dir, tmp_path)
    with pytest.raises(AssayError, match=r"Swap/result.json: instance 7: missing field 'results'"):
        get_importer("llmbar")(folder)


def test_bad_prd_score_names_file_and_line(judges_dir: Path, tmp_path: Path) -> None:
    folder = tmp_path / "vicuna80"
    shutil.copytree(judges_dir / "prd" / "vicuna80", folder)
    rated = folder / "ratings-gpt4" / "answer_bard-vs-answer_gpt4-gpt4-reviewer-threeclass.jsonl"
    lines = rated.read_text().splitlines()
    row = json.loads(lines[4])
    row["score"] = 7
    lines[4] = json.dumps(row)
    rated.write_text("\n".join(lines) + "\n")
    with pytest.raises(AssayError, match=r"threeclass.jsonl: line 5: score must be 1, 2, 3 or -1, got 7"):
        get_importer("prd")(folder)


def test_cli_bad_file_exits_2_with_one_line_and_keeps_the_store(judges_dir: Path, tmp_path: Path) -> None:
    db = tmp_path / "j.db"
    good = assay("import", "judgments", str(judges_dir / "llmbar" / "LLMBar" / "Natural"), "--format", "llmbar",
                 "--db", str(db))
    assert good.returncode == 0, good.stderr
    store = Store(str(db))
    before = [j.to_row() for j in iter_judgments(store)]
    store.close()
    bad = assay("import", "judgments", str(_broken_llmbar(judges_dir, tmp_path)), "--format", "llmbar", "--db", str(db))
    assert bad.returncode == 2
    assert bad.stderr.count("\n") == 1 and "instance 7: missing field 'results'" in bad.stderr
    assert "Traceback" not in bad.stderr
    unknown = assay("import", "judgments", str(tmp_path), "--format", "nope", "--db", str(db))
    assert unknown.returncode == 2 and "expected one of" in unknown.stderr and "llmbar" in unknown.stderr
    store = Store(str(db))
    assert [j.to_row() for j in iter_judgments(store)] == before and len(sources(store)) == 1
    store.close()


def test_reimport_replaces_the_source(judges_dir: Path, tmp_path: Path) -> None:
    from assay.cli_commands.judgments import import_judgments

    store = Store(f"sqlite:///{tmp_path / 'r.db'}")
    path = judges_dir / "llmbar" / "LLMBar" / "Natural" / "evaluators" / "GPT-4" / "Swap"
    source, rows = import_judgments(store, path, "llmbar")
    again, _ = import_judgments(store, path, "llmbar")
    assert source == again and sources(store) == [source]
    assert len(list(iter_judgments(store))) == len(rows) == 300
    assert all(isinstance(j, Judgment) and j.source == source for j in iter_judgments(store))
    store.close()
