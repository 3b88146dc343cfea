"""The labelling and agreement pages over HTTP: token guard, hidden model names, a deterministic side per
annotator and pair, votes stored as canonical human judgments, duplicates refused, κ from the store."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from assay.cli_commands.judgments import import_judgments
from assay.judges.agreement import agreement
from assay.judges.store import iter_judgments
from assay.store import Store
from assay.web import create_app
from assay.web.labelling import SOURCE, p_first, pairs_to_label

TOKEN = "label-secret"


@pytest.fixture()
def labelled_store(judges_dir: Path, tmp_path: Path) -> Store:
    store = Store(f"sqlite:///{tmp_path / 'label.db'}")
    # Judge verdicts without expert labels: the real importer's GPT-4 Swap rows, labels dropped.
    path = judges_dir / "llmbar" / "LLMBar" / "Natural" / "evaluators" / "GPT-4" / "Swap"
    source, rows = import_judgments(store, path, "llmbar")
    from assay.judges.store import replace_judgments

    replace_judgments(store, source, [j for j in rows if j.rater_kind == "judge"])
    yield store
    store.close()


def _signed_in(store: Store, name: str = "ann") -> TestClient:
    client = TestClient(create_app(store, admin_token="admin-secret"), follow_redirects=False)
    response = client.post("/label/start", data={"annotator": name, "token": TOKEN})
    assert response.status_code == 303
    return client


def test_disabled_without_a_token(labelled_store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ASSAY_LABEL_TOKEN", raising=False)
    client = TestClient(create_app(labelled_store, admin_token=""))
    assert client.get("/label").status_code == 403
    assert client.get("/agreement").status_code == 200


def test_wrong_token_and_bad_name(labelled_store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASSAY_LABEL_TOKEN", TOKEN)
    client = TestClient(create_app(labelled_store, admin_token=""), follow_redirects=False)
    assert client.post("/label/start", data={"annotator": "ann", "token": "nope"}).status_code == 401
    assert client.post("/label/start", data={"annotator": "<b>", "token": TOKEN}).status_code == 422
    assert client.post("/label/vote", data={"pair": "x", "choice": "first"}).status_code == 401


def test_votes_become_human_judgments(labelled_store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASSAY_LABEL_TOKEN", TOKEN)
    client = _signed_in(labelled_store)
    pairs, without_text = pairs_to_label(list(iter_judgments(labelled_store)))
    assert len(pairs) == 100 and without_text == 0
    page = client.get("/label").text
    first = pairs[0]
    assert "output_1" not in page and "output_2" not in page  # model names never reach the browser
    shown_first = first.output_p if p_first("ann", first.pair_id) else first.output_q
    assert f'value="{first.pair_id}"' in page
    assert client.post("/label/vote", data={"pair": first.pair_id, "choice": "first"}).status_code == 303
    assert client.post("/label/vote", data={"pair": first.pair_id, "choice": "tie"}).status_code == 409
    assert client.post("/label/vote", data={"pair": pairs[1].pair_id, "choice": "maybe"}).status_code == 422
    [vote] = list(iter_judgments(labelled_store, source=SOURCE))
    assert (vote.rater, vote.rater_kind, vote.item) == ("ann", "human", first.item)
    winner = vote.output_a if vote.verdict == "a" else vote.output_b
    assert winner == shown_first and vote.order == ("ab" if p_first("ann", first.pair_id) else "ba")
    assert "labelled 1 of 100" in client.get("/label").text


def test_side_is_deterministic_and_varies() -> None:
    sides = [p_first("ann", f"{i:016x}") for i in range(200)]
    assert sides == [p_first("ann", f"{i:016x}") for i in range(200)]
    assert 60 < sum(sides) < 140
    assert sides != [p_first("bob", f"{i:016x}") for i in range(200)]


def test_agreement_api_matches_the_library(labelled_store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASSAY_LABEL_TOKEN", TOKEN)
    client = _signed_in(labelled_store)
    pairs, _ = pairs_to_label(list(iter_judgments(labelled_store)))
    for index, pair in enumerate(pairs[:6]):
        client.post("/label/vote", data={"pair": pair.pair_id, "choice": ("first", "second")[index % 2]})
    api = client.get("/api/agreement").json()
    expected = agreement(list(iter_judgments(labelled_store)), "human", n_resamples=1000)["judges"][0]
    assert api["human_labels"] == 6 and api["judges"][0]["cohen_kappa"] == expected["cohen_kappa"]
    assert api["judges"][0]["accuracy"]["all"]["n"] == 12


def test_agreement_page_reports_instead_of_failing(labelled_store: Store) -> None:
    from dataclasses import replace

    from assay.judges.store import add_judgments

    judge_rows = [j for j in iter_judgments(labelled_store) if j.rater_kind == "judge"]
    add_judgments(labelled_store, [replace(judge_rows[0], source="again")])  # the same rating, stored twice
    add_judgments(labelled_store, [replace(judge_rows[0], rater="ann", rater_kind="human", source=SOURCE, order=None)])
    client = TestClient(create_app(labelled_store, admin_token=""))
    page = client.get("/agreement")
    assert page.status_code == 200 and "twice in order" in page.text
    assert "twice in order" in client.get("/api/agreement").json()["error"]
