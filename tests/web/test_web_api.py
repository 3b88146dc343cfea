"""The JSON API and the HTML pages over stores filled by the real Runner, on SQLite and Postgres."""

from __future__ import annotations

import json
import re

import pytest
from fastapi.testclient import TestClient
from web_support import TASK_A, TASK_B, XSS, Populated

from assay.web import create_app


@pytest.fixture(scope="module")
def client(populated: Populated) -> TestClient:
    return TestClient(create_app(populated.store, admin_token=""))


def test_leaderboard_ranks_echo_above_constant_with_cis(client: TestClient) -> None:
    board = client.get("/api/leaderboard").json()
    assert board["tasks"] == [TASK_A, TASK_B]
    assert [m["model"] for m in board["models"]] == ["scripted:echo", "scripted:constant=nothing here"]
    echo = board["models"][0]
    assert echo["rank_low"] == echo["rank_high"] == 1 and echo["n_tasks"] == 2
    cell = echo["cells"][TASK_A]
    assert cell["metric"] == "exact_match" and cell["n"] == 24
    assert cell["ci_low"] < cell["value"] < cell["ci_high"]
    assert echo["ci_low"] < echo["mean"] < echo["ci_high"]


def test_leaderboard_filters_by_family_and_backend(client: TestClient) -> None:
    only_b = client.get("/api/leaderboard", params={"family": "webtest_b"}).json()
    assert only_b["tasks"] == [TASK_B] and only_b["families"] == ["webtest_a", "webtest_b"]
    assert all(m["n_tasks"] == 1 for m in only_b["models"])
    assert client.get("/api/leaderboard", params={"backend": "openai"}).json()["models"] == []
    assert len(client.get("/api/leaderboard", params={"backend": "scripted"}).json()["models"]) == 2
    page = client.get("/", params={"family": "webtest_b"}).text
    # Header links name the task (its text may hold <wbr> break points after "_").
    assert f'href="/task?name={TASK_B}"' in page and f'href="/task?name={TASK_A}"' not in page


def test_leaderboard_uses_latest_complete_run(populated: Populated, client: TestClient) -> None:
    # A newer run of the same model that never finished must not replace the complete one.
    populated.store.create_run("unfinished01", "k" * 32, "scripted:echo", [TASK_A], 7, {})
    populated.store.replace_metrics("unfinished01", [{"task": TASK_A, "name": "exact_match", "value": 0.01, "ci_low": 0.0,
                                                      "ci_high": 0.02, "stderr": 0.01, "n": 3, "method": "wilson",
                                                      "extra": {}, "higher_is_better": True, "primary": True,
                                                      "scale": "0..1", "aggregation": "mean"}])
    try:
        cell = client.get("/api/leaderboard").json()["models"][0]["cells"][TASK_A]
        assert cell["run_id"] == populated.echo_run
        populated.store.set_run_status("unfinished01", "complete")
        board = client.get("/api/leaderboard").json()
        echo = next(m for m in board["models"] if m["model"] == "scripted:echo")
        assert echo["cells"][TASK_A]["run_id"] == "unfinished01"
        assert echo["cells"][TASK_B]["run_id"] == populated.echo_run
    finally:
        populated.store.delete_run("unfinished01")


def test_runs_and_run_detail(populated: Populated, client: TestClient) -> None:
    runs = client.get("/api/runs").json()
    assert {r["id"] for r in runs} == {populated.echo_run, populated.constant_run}
    assert all(r["n_samples"] == 36 for r in runs)
    detail = client.get(f"/api/runs/{populated.echo_run}").json()
    assert detail["manifest"]["model"]["spec"] == "scripted:echo"
    names = {(m["task"], m["name"]) for m in detail["metrics"]}
    assert {(TASK_A, "exact_match"), (TASK_A, "n_unparsable"), (TASK_A, "heatmap")} <= names
    unparsable = next(m for m in detail["metrics"] if m["task"] == TASK_A and m["name"] == "n_unparsable")
    assert unparsable["value"] == 1
    assert client.get("/api/runs/nope").status_code == 404
    assert client.get("/runs/nope").status_code == 404


def test_sample_pages_cover_the_run_once_by_offset_and_by_cursor(populated: Populated, client: TestClient) -> None:
    url = f"/api/runs/{populated.echo_run}/samples"
    by_page, page = [], 1
    while True:
        body = client.get(url, params={"per_page": 5, "page": page}).json()
        by_page += [(s["task"], s["idx"]) for s in body["samples"]]
        if body["next_cursor"] is None:
            break
        page += 1
    assert body["total"] == 36 and len(by_page) == 36 == len(set(by_page))
    assert by_page == sorted(by_page)
    by_cursor, cursor = [], None
    while True:
        body = client.get(url, params={"per_page": 7, **({"cursor": cursor} if cursor else {})}).json()
        by_cursor += [(s["task"], s["idx"]) for s in body["samples"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert by_cursor == by_page
    one_task = client.get(url, params={"task": TASK_B, "per_page": 200}).json()
    assert one_task["total"] == 12 and {s["task"] for s in one_task["samples"]} == {TASK_B}
    assert client.get(url, params={"cursor": "not-a-cursor"}).status_code == 422
    assert client.get(url, params={"per_page": 0}).status_code == 422


def test_sample_search_matches_prompt_response_and_extracted(populated: Populated, client: TestClient) -> None:
    url = f"/api/runs/{populated.echo_run}/samples"
    found = client.get(url, params={"q": "ALERT(1)"}).json()
    assert [s["sample_id"] for s in found["samples"]] == [f"{TASK_A}-3", f"{TASK_B}-3"]
    assert found["samples"][0]["response_texts"] == [XSS] and found["samples"][0]["extracted"] == XSS
    # Only the constant model's responses say "nothing here": found through the response text.
    constant = client.get(f"/api/runs/{populated.constant_run}/samples", params={"q": "nothing", "task": TASK_B}).json()
    assert constant["total"] == 12
    # The substring fallback: % and _ are literal characters, not wildcards.
    assert client.get(url, params={"q": "%", "match": "substring"}).json()["total"] == 0
    assert client.get(url, params={"q": "word1_", "match": "substring"}).json()["total"] == 0
    # Word search: nothing to search for is a clear 422, never a 500.
    refused = client.get(url, params={"q": "%"})
    assert refused.status_code == 422 and "no word to search for" in refused.json()["detail"]
    unparsable = client.get(url, params={"q": "unparsable"}).json()["samples"]
    assert unparsable[0]["error_kind"] == "unparsable" and unparsable[0]["extracted"] is None


def test_model_output_is_escaped_never_markup(populated: Populated, client: TestClient) -> None:
    response = client.get(f"/runs/{populated.echo_run}", params={"task": TASK_A, "q": "script"})
    page = response.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert XSS not in page
    # The only <script> elements are our own file and the JSON data block.
    assert re.findall(r"<script[^>]*>", page) == ['<script src="/static/app.js" defer>',
                                                   '<script type="application/json" id="sample-data">']
    data = page.split('<script type="application/json" id="sample-data">')[1].split("</script>")[0]
    assert "<" not in data
    assert json.loads(data)[0]["extracted"] == XSS
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert response.headers["x-content-type-options"] == "nosniff"


def test_model_and_task_pages_draw_charts(client: TestClient) -> None:
    model = client.get("/model", params={"name": "scripted:echo"})
    assert model.status_code == 200
    assert model.text.count("<svg") == 4  # per task: length curve, calibration (inline SVG)
    assert "<polyline" in model.text
    # per task: the heatmap, drawn by the one heatmap renderer as an image, rows = lengths, columns = depths
    assert model.text.count('<figure class="chart heatmap">') == 2
    assert model.text.count('<img src="data:image/svg+xml;base64,') == 2
    assert model.text.count('alt="heatmap of exact_match: rows = context length (128, 256, 512, 1k tokens), '
                            'columns = needle depth (0%, 50%, 100%)"') == 2
    task = client.get("/task", params={"name": TASK_A})
    assert task.status_code == 200 and "scripted:constant=nothing here" in task.text
    api_task = client.get("/api/task", params={"name": TASK_A}).json()
    assert [m["model"] for m in api_task["models"]] == ["scripted:echo", "scripted:constant=nothing here"]
    assert client.get("/model", params={"name": "nobody"}).status_code == 404
    assert client.get("/api/model", params={"name": "scripted:echo"}).json()["tasks"][0]["task"] == TASK_A


def test_compare_runs_paired(populated: Populated, client: TestClient) -> None:
    body = client.get("/api/compare", params={"a": populated.echo_run, "b": populated.constant_run}).json()
    assert body["refused"] is None
    assert [t["task"] for t in body["tasks"]] == [TASK_A, TASK_B]
    alpha = next(c for c in body["comparisons"] if c["task"] == TASK_A and c["metric"] == "exact_match")
    assert alpha["primary"] and alpha["higher_is_better"] is True
    assert alpha["n"] == 24 and alpha["test"] == "mcnemar" and alpha["p_holm"] >= alpha["p_value"]
    assert alpha["diff"] < 0 and alpha["ci_high"] < 0 and alpha["p_value"] < 0.01
    page = client.get("/compare", params={"a": populated.echo_run, "b": populated.constant_run}).text
    assert "mcnemar" in page and "p Holm" in page
    assert client.get("/api/compare", params={"a": populated.echo_run, "b": "missing"}).status_code == 404


def test_web_and_cli_compare_are_one_engine(populated: Populated, client: TestClient) -> None:
    from assay.comparison import compare_runs

    body = client.get("/api/compare", params={"a": populated.echo_run, "b": populated.constant_run}).json()
    direct = compare_runs(populated.store, populated.echo_run, populated.constant_run)
    assert [(c["task"], c["metric"], c.get("p_holm")) for c in body["comparisons"]] == \
        [(c["task"], c["metric"], c.get("p_holm")) for c in direct["comparisons"]]


def test_web_compare_refuses_runs_whose_task_specs_differ(populated: Populated, client: TestClient) -> None:
    run = populated.store.get_run(populated.constant_run)
    manifest = {**run["manifest"], "tasks": {task: {**entry, "spec_hash": "0" * 64}
                                             for task, entry in run["manifest"]["tasks"].items()}}
    from sqlalchemy import update

    from assay.store.schema import runs

    with populated.store.engine.begin() as conn:
        conn.execute(update(runs).where(runs.c.id == run["id"]).values(manifest=manifest))
    try:
        body = client.get("/api/compare", params={"a": populated.echo_run, "b": populated.constant_run}).json()
        assert "not comparable" in body["refused"] and body["comparisons"] == []
        page = client.get("/compare", params={"a": populated.echo_run, "b": populated.constant_run}).text
        assert "Not compared" in page and "spec hash" in page
    finally:
        with populated.store.engine.begin() as conn:
            conn.execute(update(runs).where(runs.c.id == run["id"]).values(manifest=run["manifest"]))


def test_no_path_traversal_and_no_cdn_docs(client: TestClient) -> None:
    assert client.get("/static/app.css").status_code == 200
    for path in ("/static/../app.py", "/static/%2e%2e/app.py", "/static/..%2fapp.py", "/static/%2e%2e/%2e%2e/store/schema.py",
                 "/static//etc/passwd"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert "def create_app" not in response.text
    assert client.get("/docs").status_code == 404
    schema = client.get("/openapi.json").json()
    expected = {"/api/leaderboard", "/api/runs", "/api/runs/{run_id}", "/api/runs/{run_id}/samples", "/api/compare"}
    assert expected <= set(schema["paths"])


def test_writes_are_disabled_without_a_token(populated: Populated, client: TestClient) -> None:
    assert client.post("/api/runs", content=b"{}").status_code == 403
    assert client.delete(f"/api/runs/{populated.echo_run}").status_code == 403
    assert client.get(f"/api/runs/{populated.echo_run}").status_code == 200
