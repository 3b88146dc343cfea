"""A run's identity includes the sha256 of the data it read: two data sets give two spec hashes, so
resume, reuse and `compare` tell them apart; YAML tasks read `--data-dir`; the manifest records only
the folders that were read."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from cli_support import assay, manifest, one_error_line, prompts, run_json, store_state

TASK_YAML = """\
name: provenance_capitals
output_type: generate_until
dataset: {path: items.jsonl}
prompt: {template: "Q: What is the capital of {{ country }}?\\nA:"}
target: capital
generation: {until: ["\\n"], max_tokens: 8}
metrics: [exact_match]
"""


def _items(path: Path, countries: list[str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps({"country": c, "capital": c[:3]}) + "\n" for c in countries), encoding="utf-8")
    return path


@pytest.fixture()
def yaml_task(tmp_path: Path) -> Path:
    """A YAML task with its own items beside it, and two data dirs holding other versions of them."""
    (tmp_path / "task").mkdir()
    (tmp_path / "task" / "capitals.yaml").write_text(TASK_YAML, encoding="utf-8")
    _items(tmp_path / "task" / "items.jsonl", ["Besideland"])
    _items(tmp_path / "d1" / "items.jsonl", ["Firstonia", "Secondia"])
    _items(tmp_path / "d2" / "items.jsonl", ["Firstonia", "Changedia"])
    return tmp_path / "task" / "capitals.yaml"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_data_dir_picks_the_data_and_its_hash_is_the_runs_identity(yaml_task: Path) -> None:
    root = yaml_task.parent.parent
    db = root / "assay.db"
    base = ("--model", "scripted:echo", "--task", str(yaml_task), "--db", str(db))

    first = run_json(*base, "--data-dir", str(root / "d1"), cwd=root)
    assert any("Secondia" in p for p in prompts(db, first["id"]))
    assert not any("Besideland" in p for p in prompts(db, first["id"]))
    recorded = manifest(db, first["id"])
    spec = recorded["tasks"]["provenance_capitals"]["spec"]
    assert spec["data_sha256"] == {"data_dir:items.jsonl": _sha256(root / "d1" / "items.jsonl")}
    assert recorded["options"]["data_dir"] == str((root / "d1").resolve())

    # Same command, same data: the identical complete run is found again (not stored twice).
    again = run_json(*base, "--data-dir", str(root / "d1"), cwd=root)
    assert again["id"] == first["id"] and again["reused"]

    # Other data under the same names: a new run, and a spec hash that `compare` refuses to match.
    second = run_json(*base, "--data-dir", str(root / "d2"), cwd=root)
    assert second["id"] != first["id"] and not second["reused"] and not second["resumed"]
    assert any("Changedia" in p for p in prompts(db, second["id"]))
    hashes = [manifest(db, run)["tasks"]["provenance_capitals"]["spec_hash"] for run in (first["id"], second["id"])]
    assert hashes[0] != hashes[1]
    compared = assay("compare", first["id"], second["id"], "--db", str(db), cwd=root)
    assert compared.returncode != 0 and "provenance_capitals differs between the runs" in compared.stderr


def test_manifest_records_only_the_folders_that_were_read(yaml_task: Path) -> None:
    root = yaml_task.parent.parent
    db = root / "assay.db"
    # No --data-dir: the data beside the YAML file is read; the default data folder is not recorded.
    beside = run_json("--model", "scripted:echo", "--task", str(yaml_task), "--db", str(db), cwd=root)
    recorded = manifest(db, beside["id"])
    items = (root / "task" / "items.jsonl").resolve()
    assert recorded["tasks"]["provenance_capitals"]["spec"]["data_sha256"] == {f"file:{items}": _sha256(items)}
    assert "data_dir" not in recorded["options"] and "haystack_dir" not in recorded["options"]
    # A task that reads nothing records no data and no data folder ...
    arith = run_json("--model", "scripted:echo", "--task", "arith", "--limit", "2", "--db", str(db), cwd=root)
    recorded = manifest(db, arith["id"])
    assert recorded["tasks"]["arith"]["spec"]["data_sha256"] == {}
    assert "data_dir" not in recorded["options"]
    # ... and refuses a --data-dir it would not read, as does a YAML task whose file lies beside it.
    (root / "unused").mkdir()
    before = store_state(db)
    for task in ("arith", str(yaml_task)):
        refused = assay("run", "--model", "scripted:echo", "--task", task, "--data-dir", str(root / "unused"),
                        "--db", str(db), cwd=root)
        assert "--data-dir" in one_error_line(refused) and "no task of this run reads a file from it" in refused.stderr
    assert store_state(db) == before


def test_a_changed_haystack_folder_is_a_different_run(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    text = "\n\n".join(f"Paragraph {i} of the first version, about rivers, boats and bridges." for i in range(90))
    (docs / "a.txt").write_text(text, encoding="utf-8")
    db = tmp_path / "assay.db"
    args = ("--model", "scripted:echo", "--task", "niah_single:lengths=512/depths=50/n=1", "--haystack", str(docs),
            "--db", str(db))
    first = run_json(*args, cwd=tmp_path)
    (docs / "a.txt").write_text(text.replace("first", "second"), encoding="utf-8")
    second = run_json(*args, cwd=tmp_path)
    assert second["id"] != first["id"] and not second["reused"]
    digests = [manifest(db, run)["tasks"]["niah_single:lengths=512/depths=50/n=1"]["spec"]["data_sha256"]
               ["haystack:docs"] for run in (first["id"], second["id"])]
    assert digests[0] != digests[1]


def test_yaml_prompt_file_is_read_from_the_data_dir(yaml_task: Path) -> None:
    root = yaml_task.parent.parent
    text = yaml_task.read_text(encoding="utf-8").replace("metrics:", "few_shot: {prompt_file: prompt.txt}\nmetrics:")
    yaml_task.write_text(text, encoding="utf-8")
    (yaml_task.parent / "prompt.txt").write_text("Prompt kept beside the task.", encoding="utf-8")
    (root / "d1" / "prompt.txt").write_text("Prompt from the data dir.", encoding="utf-8")
    db = root / "assay.db"
    out = run_json("--model", "scripted:echo", "--task", str(yaml_task), "--data-dir", str(root / "d1"),
                   "--db", str(db), cwd=root)
    assert all(p.startswith("Prompt from the data dir.") for p in prompts(db, out["id"]))
    data = manifest(db, out["id"])["tasks"]["provenance_capitals"]["spec"]["data_sha256"]
    assert data["data_dir:prompt.txt"] == _sha256(root / "d1" / "prompt.txt")
