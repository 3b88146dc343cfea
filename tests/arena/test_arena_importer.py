"""The AlpacaEval importer: the preference scale, draws, unreadable preferences as judge errors, and one-line
errors for files that are not AlpacaEval annotations (nothing stored)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assay.errors import AssayError
from assay.judges.importers import get_importer, importers

ROW = {"instruction": "Say hi.", "output_1": "Hi!", "generator_1": "base", "output_2": "Hello there.",
       "generator_2": "cand", "annotator": "ann", "dataset": "d"}


def _write(tmp_path: Path, rows: object) -> Path:
    path = tmp_path / "annotations.json"
    path.write_text(json.dumps(rows), encoding="utf-8")
    return path


def test_preferences_verdicts_and_errors(tmp_path: Path) -> None:
    assert "alpaca_eval" in importers()
    values = [1.0, 2.0, 1.5, 1.25, 0, None, "n/a", 3.0]
    rows = get_importer("alpaca_eval")(_write(tmp_path, [{**ROW, "preference": v} for v in values]))
    assert [j.verdict for j in rows] == ["a", "b", "tie", "a", "tie", None, None, None]
    assert [j.preference for j in rows[:5]] == [0.0, 1.0, 0.5, 0.25, 0.5]
    assert [j.ok for j in rows] == [True] * 5 + [False] * 3
    first = rows[0]
    assert (first.model_a, first.model_b, first.rater, first.rater_kind, first.task) == \
        ("base", "cand", "ann", "judge", "alpaca_eval")
    assert first.prompt == "Say hi." and first.output_b == "Hello there." and first.order is None
    assert len({j.item for j in rows}) == 1  # same instruction, same prompt cluster
    assert first.source.startswith("import:alpaca_eval:")


@pytest.mark.parametrize(("content", "expected"), [
    ("{not json", "not JSON"),
    ('{"a": 1}', "expected a JSON list"),
    (json.dumps([{**ROW, "generator_2": None, "preference": 1.0}]), "annotation 0: field 'generator_2'"),
])
def test_bad_files(tmp_path: Path, content: str, expected: str) -> None:
    path = tmp_path / "annotations.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(AssayError, match=expected):
        get_importer("alpaca_eval")(path)
