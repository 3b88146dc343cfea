"""Contamination by overlap: a planted copy of GSM8K items in a corpus is found (exact 13-grams, and MinHash
for an edited copy), with the contaminated item ids; bad arguments are one line, exit code 2."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from tests.conftest import require_module

from assay.cli import main
from assay.contamination.corpus import iter_documents
from assay.contamination.items import Item, task_items
from assay.contamination.ngrams import scan_overlap
from assay.tasks import TaskContext, get_task


def _gsm8k_items(shared_data_dir: Path) -> list[Item]:
    return task_items(get_task("gsm8k"), TaskContext(data_dir=shared_data_dir))


def _corpus(folder: Path, planted: list[Item]) -> Path:
    folder.mkdir()
    rng = random.Random(3)
    words = ["river", "market", "seven", "apples", "train", "blue", "costs", "dollars", "each", "week", "she", "buys"]
    with (folder / "web.jsonl").open("w", encoding="utf-8") as handle:
        for index in range(300):  # look-alike word-problem noise, no item copied
            handle.write(json.dumps({"text": " ".join(rng.choices(words, k=60)) + f" page {index}"}) + "\n")
        handle.write(json.dumps({"text": f"Forum post: can someone solve this? {planted[0].text} Thanks!"}) + "\n")
    # Reformatted copy: upper case, punctuation moved; word 13-grams still match.
    (folder / "notes.md").write_text("# Notes\n\n" + planted[1].text.upper().replace(",", " ;") + "\n", encoding="utf-8")
    return folder


def test_planted_gsm8k_items_are_found_by_id(shared_data_dir: Path, tmp_path: Path) -> None:
    items = _gsm8k_items(shared_data_dir)
    planted = [items[17], items[1200]]
    report = scan_overlap(items, iter_documents(_corpus(tmp_path / "corpus", planted)))
    assert [c.item_id for c in report.contaminated] == ["17", "1200"]
    first, second = report.contaminated
    assert first.documents == ["web.jsonl:301"] and second.documents == ["notes.md"]
    assert first.matched == first.n_ngrams and second.matched == second.n_ngrams
    assert report.n_items == len(items) == 1319 and report.n_documents == 302


def test_a_shared_phrase_shorter_than_the_ngram_does_not_count() -> None:
    items = [Item("a", "how many dollars does she make every day at the farmers market in total after all")]
    docs = [("d", "how many dollars does she make every day at the farmers market"),
            ("e", "in total after all how many dollars does she make every day at the farmers")]
    assert scan_overlap(items, docs).contaminated == []
    hit = scan_overlap(items, [("f", "x how many dollars does she make every day at the farmers market in total y")])
    assert [c.item_id for c in hit.contaminated] == ["a"]


def test_minhash_finds_an_edited_copy_that_breaks_every_13_gram(tmp_path: Path) -> None:
    require_module("datasketch", "datasketch is not installed (pip install -e '.[contamination]')")
    from assay.contamination.minhash import scan_minhash

    text = ("A farmer has 15 cows and buys 3 more every month for a year while selling two each quarter to the "
            "neighbour who keeps goats and sheep on the hill; how many cows does the farmer have at the end")
    words = text.split()
    # One word in every 12 replaced: no 13-gram survives, about 40% of the 5-word shingles do.
    edited = " ".join("zebra" if i % 12 == 6 else w for i, w in enumerate(words))
    items = [Item("cows", text), Item("other", "An unrelated question about trains leaving two stations at noon.")]
    docs = [("blog.md", f"Intro paragraph.\n\n{edited}\n\nOutro.")]
    assert scan_overlap(items, docs).contaminated == []
    found = scan_minhash(items, docs, threshold=0.3)
    assert [c.item_id for c in found.contaminated] == ["cows"] and found.contaminated[0].documents == ["blog.md"]


@pytest.mark.parametrize(("argv", "message"), [
    (["--task", "gsm8k", "--corpus", "/no/such/dir"], "--corpus: /no/such/dir is not a directory"),
    (["--task", "gsm8k"], "--corpus or --model"),
    (["--corpus", "."], "--task or --texts"),
    (["--task", "gsm8k", "--corpus", ".", "--threshold", "0.5"], "--threshold: only used with --method minhash"),
    (["--task", "gsm8k", "--corpus", ".", "--method", "fuzzy"], "--method: expected ngram or minhash"),
    (["--task", "gsm8k", "--corpus", ".", "--labels", "x.json"], "--labels/--k/--order: only used with --model"),
])
def test_bad_arguments_are_one_line_exit_2(argv: list[str], message: str, capsys) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["contamination", *argv])
    assert stopped.value.code == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1


def test_a_bad_corpus_line_is_one_line_naming_file_and_line(tmp_path: Path, capsys) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.jsonl").write_text('{"text": "fine"}\n{"body": "no text"}\n', encoding="utf-8")
    with pytest.raises(SystemExit) as stopped:
        main(["contamination", "--texts", str(_texts(tmp_path)), "--corpus", str(corpus)])
    err = capsys.readouterr().err.strip()
    assert stopped.value.code == 2 and "a.jsonl line 2: expected an object with a \"text\" string" in err
    assert len(err.splitlines()) == 1


def _texts(folder: Path) -> Path:
    path = folder / "texts.jsonl"
    path.write_text('{"id": "q1", "text": "one two three"}\n', encoding="utf-8")
    return path


def test_cli_reports_contaminated_ids_as_json(shared_data_dir: Path, tmp_path: Path, capsys) -> None:
    items = _gsm8k_items(shared_data_dir)
    corpus = _corpus(tmp_path / "corpus", [items[3], items[4]])
    main(["contamination", "--task", "gsm8k", "--corpus", str(corpus), "--data-dir", str(shared_data_dir), "--json"])
    report = json.loads(capsys.readouterr().out)
    assert [c["item_id"] for c in report["overlap"]["contaminated"]] == ["3", "4"]
    assert report["overlap"]["n_contaminated"] == 2 and report["overlap"]["contaminated"][0]["overlap"] == 1.0
