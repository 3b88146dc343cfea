"""End to end offline with the embedded model as generator, answerer and judge, on the example documents:
a generated set, a run, faithfulness and battle runs, every figure with its counts, and the per-claim view."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from docqa_support import EXAMPLE_DOCS, cli
from fastapi.testclient import TestClient

from assay.docqa.question_set import load_set
from assay.store import Store
from assay.web import create_app

pytestmark = pytest.mark.slow


def test_embedded_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    set_path = tmp_path / "set.jsonl"
    db = f"sqlite:///{tmp_path / 'assay.db'}"
    # One document keeps the run to a few minutes on two CPU cores (all three take about ten).
    docs = tmp_path / "docs"
    docs.mkdir()
    shutil.copy(EXAMPLE_DOCS / "harrow_mill.md", docs / "harrow_mill.md")
    code, _, err = cli(capsys, "docqa", "generate", "--docs", str(docs), "--generator", "embedded",
                       "--per-doc", "2", "--seed", "7", "-o", str(set_path))
    assert code == 0, err
    question_set, _ = load_set(set_path)
    counts = question_set.header.counts
    assert counts["candidates"] == 8 and counts["kept"] == len(question_set.questions) >= 1
    assert counts["kept"] + len(question_set.header.rejected) == counts["candidates"]

    code, out, err = cli(capsys, "run", "--task", f"docqa:{set_path}", "--model", "embedded", "--db", db,
                         "--no-progress", "--json")
    assert code == 0, err
    run = json.loads(out)
    metrics = {m["name"]: m for m in run["metrics"]}
    assert metrics["n_samples"]["value"] == len(question_set.questions)
    labels = sum(metrics[f"label/{k}"]["value"] for k in ("correct_decline", "hallucination", "false_refusal", "answered"))
    assert labels + metrics["n_unparsable"]["value"] == len(question_set.questions)

    code, out, err = cli(capsys, "docqa", "judge", run["id"], "--judge", "embedded", "--db", db, "--no-progress", "--json")
    if code == 2:  # the small judge wrote no readable claim list: said in one line, and counted
        assert "no claim list could be read" in err or "no answers to check" in err
        return
    assert code == 0, err
    judged = json.loads(out)
    faith = {m["name"]: m for m in judged["metrics"]}
    checked = faith["n_claims_checked"]["value"]
    assert checked == sum(faith[k]["value"] for k in ("n_supported", "n_contradicted", "n_not_found",
                                                      "n_claims_unreadable"))
    store = Store(db)
    try:
        rows = list(store.iter_samples(judged["id"], f"faithfulness:docqa:{set_path}"))
        assert sum(len(r["metadata"]["claims"]) for r in rows) == checked
        page = TestClient(create_app(store, admin_token="")).get(f"/runs/{judged['id']}").text
        assert page.count('class="claim verdict-') == min(checked, sum(len(r["metadata"]["claims"]) for r in rows[:20]))
    finally:
        store.close()

    code, out, err = cli(capsys, "docqa", "battle", run["id"], "--judge", "embedded", "--db", db, "--no-progress",
                         "--json")
    assert code == 0, err
    battle = {m["name"]: m["value"] for m in json.loads(out)["metrics"]}
    assert battle["wins_a"] + battle["wins_b"] + battle["ties"] + battle["n_pairs_with_judge_error"] == len(
        question_set.questions)
