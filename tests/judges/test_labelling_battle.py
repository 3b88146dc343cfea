"""Pairs to label come from `assay battle`'s stored judgments (a scripted judge over two scripted runs):
each battled sample is one pair, its texts are the runs' outputs, and votes on it are compared with the
judge on /api/agreement."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from judge_support import QUESTIONS, answering_model, judge_spec, source_run

from assay.judges.engine import JudgeSettings, execute, plan_battle
from assay.judges.prompts import load_prompt
from assay.judges.store import iter_judgments
from assay.models import load_model
from assay.store import Store
from assay.web import create_app
from assay.web.labelling import SOURCE, pairs_to_label

ANSWERS_A = {q: f"A's answer about {q}." for q in QUESTIONS}
ANSWERS_B = {q: f"B's longer answer about {q}, with more words." for q in QUESTIONS}


def test_battle_pairs_are_labelled_and_compared(store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run_a = source_run(store, answering_model(tmp_path, "a", ANSWERS_A))
    run_b = source_run(store, answering_model(tmp_path, "b", ANSWERS_B))
    prompt = load_prompt("pairwise")
    options = JudgeSettings(show_progress=False)
    judge = load_model(judge_spec(tmp_path, [("longer answer", '{"verdict": "tie"}')]))
    try:
        execute(store, judge, prompt, plan_battle(store, run_a, run_b, prompt, options), options)
    finally:
        judge.close()
    pairs, without_text = pairs_to_label(list(iter_judgments(store)))
    assert len(pairs) == len(QUESTIONS) and without_text == 0
    assert {p.output_p for p in pairs} | {p.output_q for p in pairs} == set(ANSWERS_A.values()) | set(ANSWERS_B.values())

    monkeypatch.setenv("ASSAY_LABEL_TOKEN", "t")
    client = TestClient(create_app(store, admin_token=""), follow_redirects=False)
    assert client.post("/label/start", data={"annotator": "bea", "token": "t"}).status_code == 303
    for pair in pairs:
        assert client.post("/label/vote", data={"pair": pair.pair_id, "choice": "tie"}).status_code == 303
    assert "Nothing left to label" in client.get("/label").text
    votes = list(iter_judgments(store, source=SOURCE))
    assert len(votes) == len(QUESTIONS) and {v.verdict for v in votes} == {"tie"}
    [entry] = client.get("/api/agreement").json()["judges"]
    assert entry["items"] == len(QUESTIONS) and entry["accuracy"]["all"]["k"] == entry["accuracy"]["all"]["n"] == 10
