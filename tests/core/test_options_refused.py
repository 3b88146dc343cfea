"""`--haystack`, `--prompt-formats`, `--repeats`: applied to every task, or refused with one line and
exit code 2 before anything is stored — never silently ignored."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_support import assay, manifest, one_error_line, prompts, run_json, store_state

DOC_WORD = "Quillmarsh"


def _write_docs(folder: Path) -> Path:
    folder.mkdir()
    # Enough paragraphs for a 512-token prompt; a word no built-in haystack contains.
    paragraphs = [f"The harbour town of {DOC_WORD} kept ledger {i} of ships, cranes, tides and ropes for the "
                  f"winter season, and the clerks copied every line twice." for i in range(80)]
    (folder / "harbour.md").write_text("\n\n".join(paragraphs), encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(a store holding one complete run, a folder of documents)."""
    root = tmp_path_factory.mktemp("options")
    db = root / "assay.db"
    run_json("--model", "scripted:echo", "--task", "arith", "--limit", "3", "--db", str(db), cwd=root)
    return db, _write_docs(root / "docs")


REFUSED = [
    (["--task", "arith", "--haystack", "DOCS"], "--haystack", "task arith"),
    (["--task", "niah_single:lengths=512,arith", "--haystack", "DOCS"], "--haystack", "task arith"),
    (["--task", "niah_single:needles", "--haystack", "DOCS"], "--haystack", "task niah_single:needles"),
    (["--task", "common_words", "--haystack", "DOCS"], "--haystack", "task common_words"),
    (["--task", "arith", "--prompt-formats", "2"], "--prompt-formats 2", "task arith"),
    (["--task", "niah_single", "--prompt-formats", "2"], "--prompt-formats 2", "task niah_single"),
    (["--task", "arith_mc", "--repeats", "3"], "--repeats 3", "task arith_mc"),
    (["--task", "arith_mc", "--repeats", "2", "--prompt-formats", "2"], "--repeats", "--prompt-formats"),
]


@pytest.mark.parametrize(("args", "option", "named"), REFUSED)
def test_an_option_a_task_cannot_use_is_refused(setup: tuple[Path, Path], args: list[str], option: str,
                                                named: str) -> None:
    db, docs = setup
    before = store_state(db)
    args = [str(docs) if a == "DOCS" else a for a in args]
    line = one_error_line(assay("run", "--model", "scripted:echo", *args, "--db", str(db), "--no-progress",
                                cwd=db.parent))
    assert option in line and named in line
    assert store_state(db) == before


@pytest.mark.parametrize(("name", "content", "expected"), [
    ("binary.txt", b"words\x00\x01\x02", "binary.txt is a binary file"),
    ("latin.md", "caf\xe9 au lait".encode("latin-1"), "latin.md is not UTF-8 text"),
    ("empty.txt", b"", "empty.txt is empty"),
    ("blank.md", b"  \n\n\t\n", "blank.md is empty"),
])
def test_a_bad_haystack_file_is_refused(setup: tuple[Path, Path], tmp_path: Path, name: str, content: bytes,
                                        expected: str) -> None:
    db, _ = setup
    docs = _write_docs(tmp_path / "docs")
    (docs / name).write_bytes(content)
    before = store_state(db)
    line = one_error_line(assay("run", "--model", "scripted:echo", "--task", "niah_single", "--haystack", str(docs),
                                "--db", str(db), "--no-progress", cwd=tmp_path))
    assert expected in line and str(docs) in line
    assert store_state(db) == before


def test_haystack_applies_to_every_long_context_task(setup: tuple[Path, Path]) -> None:
    """The README's `--task niah_single --haystack DIR`: the prompts are built from DIR's text, for
    every task of the run that has a haystack; the manifest records the folder and its digest."""
    db, docs = setup
    grid = "lengths=512/depths=50/n=1"
    out = run_json("--model", "scripted:echo", "--task", f"niah_single:{grid},qa_needle:{grid}",
                   "--haystack", str(docs), "--db", str(db), cwd=db.parent)
    stored = prompts(db, out["id"])
    assert len(stored) == 2 and all(DOC_WORD in prompt for prompt in stored)
    recorded = manifest(db, out["id"])
    assert recorded["options"]["haystack_dir"] == str(docs.resolve())
    for entry in recorded["tasks"].values():
        assert set(entry["spec"]["data_sha256"]) == {"haystack:docs"}

    plain = run_json("--model", "scripted:echo", "--task", f"niah_single:{grid}", "--db", str(db), cwd=db.parent)
    assert not any(DOC_WORD in prompt for prompt in prompts(db, plain["id"]))
    plain_manifest = manifest(db, plain["id"])
    assert "haystack_dir" not in plain_manifest["options"]
    assert set(plain_manifest["tasks"][f"niah_single:{grid}"]["spec"]["data_sha256"]) == {"haystack:prose"}


def test_repeats_on_a_generative_task_sample_each_item_n_times(setup: tuple[Path, Path]) -> None:
    db, _ = setup
    out = run_json("--model", "scripted:echo", "--task", "arith", "--limit", "2", "--repeats", "3", "--db", str(db),
                   cwd=db.parent)
    # Each repeat is its own request (its own seed): 6 requests, none a duplicate of another.
    assert out["stats"]["requests"] == 6 and out["stats"]["unique_requests"] == 6
    assert manifest(db, out["id"])["tasks"]["arith"]["spec"]["repeats"] == 3


def test_suite_dump_applies_or_refuses_haystack(setup: tuple[Path, Path], tmp_path: Path) -> None:
    _, docs = setup
    out = tmp_path / "suite.jsonl"
    line = one_error_line(assay("suite", "dump", "--task", "frequent_words", "--haystack", str(docs), "-o", str(out),
                                cwd=tmp_path))
    assert "--haystack" in line and "task frequent_words" in line and not out.exists()
    done = assay("suite", "dump", "--task", "niah_single:lengths=512/depths=0/n=1", "--haystack", str(docs), "-o",
                 str(out), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert DOC_WORD in out.read_text(encoding="utf-8")
