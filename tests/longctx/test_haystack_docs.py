"""The user's documents as a haystack: every word kept in order, in units small enough to set a
prompt's length finely, and a digest of the folder that changes with any file."""

from __future__ import annotations

from pathlib import Path

from assay import provenance
from assay.tasks.longctx.haystack import DOC_UNIT_WORDS, docs_haystack, select_haystack


def test_long_paragraphs_are_cut_into_small_units_keeping_every_word(tmp_path: Path) -> None:
    run_on = " ".join(f"w{i % 97}" for i in range(1333)) + "."
    prose = " ".join(f"Sentence number {i} tells of a ship." for i in range(40))
    (tmp_path / "a.txt").write_text(run_on + "\n\n" + prose + "\n", encoding="utf-8")
    haystack = docs_haystack(tmp_path)
    assert all(len(unit.split()) <= DOC_UNIT_WORDS for unit in haystack.units)
    assert " ".join(haystack.units).split() == (run_on + " " + prose).split()
    # Prose is cut between sentences, never inside one.
    prose_units = [unit for unit in haystack.units if unit.startswith("Sentence")]
    assert prose_units and all(unit.endswith("ship.") for unit in prose_units)


def test_the_folder_digest_is_recorded_and_follows_the_files(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text("One paragraph about rivers.", encoding="utf-8")
    with provenance.recording() as reads:
        first = select_haystack("docs", str(tmp_path))
    assert reads == {"haystack:docs": first.folder_sha256}
    (tmp_path / "b.txt").write_text("Another file about bridges.", encoding="utf-8")
    assert docs_haystack(tmp_path).folder_sha256 != first.folder_sha256
