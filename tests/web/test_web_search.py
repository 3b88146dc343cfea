"""Word search over stored samples (assay.store.search) and the trigger-kept sample counts, on SQLite and
PostgreSQL, with runs stored by the real Runner: what it finds, that both databases find the same, that
bad queries are clear 422s, and that a database made before the index gets it on open."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from web_support import BACKENDS, TASK_A, TASK_B, Populated, database_url, populate

from assay.store import Store
from assay.store.search import BadSearch, parse_search
from assay.web import create_app, queries

QUERIES = ["question", "SAY", "Word7", '"say word7"', '"word7 say"', "alert script", "nothing here",
           '"here nothing"', "webtest_alpha", "webtest-beta", "unparsable", "xyzzy", "1", '"of webtest"',
           '"say', "say word1 word1", "say 😀", "a—b say", '"— say"', "say\u200bword7", "ǅ"]


@pytest.fixture(scope="module")
def both(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Populated]]:
    """The same two runs (echo, constant) stored by the Runner on each database."""
    with (database_url("sqlite", tmp_path_factory.mktemp("search")) as sqlite_url,
          database_url("postgres", tmp_path_factory.mktemp("search")) as postgres_url):
        stores = {"sqlite": populate(sqlite_url), "postgres": populate(postgres_url)}
        yield stores
        for filled in stores.values():
            filled.store.close()


def _everything(client: TestClient, q: str, per_page: int = 7) -> list[dict[str, Any]]:
    """Every match of the store-wide search, page by page."""
    found: list[dict[str, Any]] = []
    after = None
    while True:
        response = client.get("/api/search", params={"q": q, "per_page": per_page, **({"after": after} if after else {})})
        assert response.status_code == 200, response.text
        body = response.json()
        found.extend(body["samples"])
        after = body["next_after"]
        if after is None:
            assert body["total"] == len(found) and not body["total_is_lower_bound"]
            return found


def _keys(populated: Populated, rows: list[dict[str, Any]]) -> set[tuple[str, str, str]]:
    model_of = {populated.echo_run: "echo", populated.constant_run: "constant"}
    return {(model_of[r["run_id"]], r["task"], r["sample_id"]) for r in rows}


def test_same_results_on_sqlite_and_postgres(both: dict[str, Populated]) -> None:
    clients = {name: TestClient(create_app(filled.store, admin_token="")) for name, filled in both.items()}
    for q in QUERIES:
        results = {name: _keys(both[name], _everything(client, q)) for name, client in clients.items()}
        assert results["sqlite"] == results["postgres"], q
    sqlite = clients["sqlite"]
    echo = both["sqlite"].echo_run
    # Case-insensitive words anywhere in prompt or response; all words must occur.
    assert _keys(both["sqlite"], _everything(sqlite, "Word7")) == {("echo", TASK_A, f"{TASK_A}-7"),
                                                                   ("echo", TASK_B, f"{TASK_B}-7"),
                                                                   ("constant", TASK_A, f"{TASK_A}-7"),
                                                                   ("constant", TASK_B, f"{TASK_B}-7")}
    # The constant model's response "nothing here" is in no prompt: found through the response text.
    assert {k[0] for k in _keys(both["sqlite"], _everything(sqlite, "nothing here"))} == {"constant"}
    assert len(_everything(sqlite, "nothing here")) == 36
    # A phrase is its words in order; reversed, it is nowhere.
    assert len(_everything(sqlite, '"say word7"')) == 4 and _everything(sqlite, '"word7 say"') == []
    # Punctuation separates words: webtest_alpha is the words webtest and alpha.
    assert {k[1] for k in _keys(both["sqlite"], _everything(sqlite, "webtest_alpha"))} == {TASK_A}
    # Within one run, through the sample browser's API.
    in_run = sqlite.get(f"/api/runs/{echo}/samples", params={"q": "SAY word7"}).json()
    assert [s["sample_id"] for s in in_run["samples"]] == [f"{TASK_A}-7", f"{TASK_B}-7"]
    assert in_run["total"] == 2 and in_run["total_is_lower_bound"] is False


@pytest.mark.parametrize("q", ["!!!", '""', "%", "-", " ", "\\"])
def test_nothing_to_search_for_is_a_clear_422(both: dict[str, Populated], q: str) -> None:
    for filled in both.values():
        client = TestClient(create_app(filled.store, admin_token=""))
        for url in ("/api/search", f"/api/runs/{filled.echo_run}/samples"):
            response = client.get(url, params={"q": q})
            assert response.status_code == 422, (url, q, response.text)
        page = client.get(f"/runs/{filled.echo_run}", params={"q": "!!!"})
        assert page.status_code == 422 and "no word to search for" in page.text


def test_quotes_and_sql_characters_are_only_text(both: dict[str, Populated]) -> None:
    for filled in both.values():
        client = TestClient(create_app(filled.store, admin_token=""))
        for q in ("' OR 1=1 --", 'say" word7', "a'b", "word7 & | ! <-> :*", "AND OR NOT NEAR"):
            response = client.get("/api/search", params={"q": q})
            assert response.status_code == 200, (q, response.text)
        assert len(client.get("/api/search", params={"q": "word7 & | ! <-> :*"}).json()["samples"]) == 4
        assert client.get("/api/search", params={"q": "' OR 1=1 --"}).json()["samples"] == []
        # The substring fallback and a mode that does not exist.
        run_url = f"/api/runs/{filled.echo_run}/samples"
        assert client.get(run_url, params={"q": "(1)<", "match": "substring"}).json()["total"] == 2
        assert client.get(run_url, params={"q": "x", "match": "regex"}).status_code == 422
        refused = client.get("/api/search", params={"q": "x", "match": "substring"})
        assert refused.status_code == 422 and "within one run only" in refused.json()["detail"]


def test_count_stops_at_the_cap(both: dict[str, Populated], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(queries, "SEARCH_COUNT_CAP", 5)
    for filled in both.values():
        client = TestClient(create_app(filled.store, admin_token=""))
        body = client.get("/api/search", params={"q": "question", "per_page": 3}).json()
        assert body["total"] == 5 and body["total_is_lower_bound"] is True and len(body["samples"]) == 3
        run_body = client.get(f"/api/runs/{filled.echo_run}/samples", params={"q": "question"}).json()
        assert run_body["total"] == 5 and run_body["total_is_lower_bound"] is True
        page = client.get(f"/runs/{filled.echo_run}", params={"q": "question"}).text
        assert "at least 5 samples" in page


def _drop_derived(url: str) -> None:
    """Make the database look like one from before the index and the counts."""
    store = Store(url)
    with store.engine.begin() as conn:
        if store.engine.dialect.name == "sqlite":
            for trigger in ("samples_fts_insert", "samples_fts_delete", "samples_fts_update", "sample_counts_insert",
                            "sample_counts_delete", "sample_counts_update"):
                conn.execute(text(f"DROP TRIGGER {trigger}"))
            conn.execute(text("DROP TABLE samples_fts"))
            conn.execute(text("DROP VIEW samples_search_doc"))
        else:
            conn.execute(text("ALTER TABLE samples DROP COLUMN search_doc"))
            for trigger in ("sample_counts_insert", "sample_counts_delete", "sample_counts_update"):
                conn.execute(text(f"DROP TRIGGER {trigger} ON samples"))
        conn.execute(text("DROP TABLE sample_counts"))
    store.close()


@pytest.mark.parametrize("backend", BACKENDS)
def test_an_older_database_gets_index_and_counts_on_open(backend: str, tmp_path: Path) -> None:
    with database_url(backend, tmp_path) as url:
        filled = populate(url)
        filled.store.close()
        _drop_derived(url)
        store = Store(url)  # opening builds them, from the stored samples
        try:
            client = TestClient(create_app(store, admin_token=""))
            assert len(client.get("/api/search", params={"q": "word7"}).json()["samples"]) == 4
            runs = {r["id"]: r["n_samples"] for r in client.get("/api/runs").json()}
            assert runs == {filled.echo_run: 36, filled.constant_run: 36}
            tasks = client.get(f"/api/runs/{filled.echo_run}").json()["sample_tasks"]
            assert tasks == [{"task": TASK_A, "n": 24}, {"task": TASK_B, "n": 12}]
            # Idempotent: a second open builds nothing and loses nothing.
            Store(url).close()
            assert len(client.get("/api/search", params={"q": "word7"}).json()["samples"]) == 4
            # Kept in sync afterwards: a deleted run leaves the index and the counts.
            store.delete_run(filled.echo_run)
            assert len(client.get("/api/search", params={"q": "word7"}).json()["samples"]) == 2
            assert [r["id"] for r in client.get("/api/runs").json()] == [filled.constant_run]
            with store.engine.connect() as conn:
                assert conn.execute(text("SELECT sum(n) FROM sample_counts")).scalar_one() == 36
        finally:
            store.close()


def test_parse_search() -> None:
    assert parse_search('Say "Word 7" again').groups == (("word", "7"), ("say",), ("again",))
    assert parse_search("foo-bar foo").groups == (("foo",), ("bar",))
    assert parse_search('"unclosed phrase').groups == (("unclosed",), ("phrase",))
    assert parse_search('"a b"').postgres() == "('a' <-> 'b')"
    assert parse_search('"a b" c').fts5() == '"a b" AND "c"'
    with pytest.raises(BadSearch, match="no word to search for"):
        parse_search('"" -- !')
