"""Fuzzing of the JSON API with the admin token, so the write endpoints run all the way to the store: whatever
the inputs, no 500, and a rejected upload stores nothing. On SQLite and PostgreSQL. Derandomised, so a failure
reproduces; bounded (≈ 360 schema-driven calls, 40 mutated bundles and ≈ 170 edge-value bundles per backend).

1. schemathesis over the OpenAPI schema: every operation, query/path parameters and bodies from the schema.
2. Bundles exported from a real run (`assay export`'s own code), then mutated by Hypothesis (a value replaced
   by arbitrary JSON or an extreme of its type, a key deleted, a line dropped or repeated), uploaded; a stored
   one must render through the API and the run page, then delete.
3. Every field of the run record, a metric row and a sample line, one at a time, at the edges of its type
   (integers past 32 and 64 bits, NaN, NUL and lone surrogates in text, empty, null, missing): a random
   mutation rarely lands on the one integer column that overflows, this sweep always does.

Uses schemathesis' Python API (one Hypothesis strategy per operation) rather than its pytest plugin,
whose collection hooks do not work with pytest 9."""

from __future__ import annotations

import copy
import itertools
import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from web_support import Populated

from assay.store.export import export_run
from assay.web import create_app

schemathesis = pytest.importorskip("schemathesis", reason="schemathesis not installed (pip install schemathesis)")

EXAMPLES_PER_OPERATION = 40
MUTATED_BUNDLES = 40
TOKEN = "fuzz-admin-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
# What the run writes may answer with a valid token: stored, conflict, too large, malformed; deleted, no such run.
UPLOAD, DELETE = ("POST", "/api/runs"), ("DELETE", "/api/runs/{run_id}")
WRITE_STATUSES = {UPLOAD: {201, 409, 413, 422}, DELETE: {204, 404}}
FUZZ_SETTINGS = settings(deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck))


@schemathesis.serializer("application/x-ndjson")
def _ndjson(_context, value) -> bytes:  # type: ignore[no-untyped-def]
    # The upload body is declared as a string of JSON lines: send the generated text as is.
    return value.encode("utf-8", "surrogatepass") if isinstance(value, str) else str(value).encode()


def _run_count(client: TestClient) -> int:
    return len(client.get("/api/runs", params={"limit": 1000}).json())


def test_api_never_answers_500(populated: Populated) -> None:
    app = create_app(populated.store, admin_token=TOKEN)
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 8
    assert set(WRITE_STATUSES) <= {(operation.method.upper(), operation.path) for operation in operations}
    calls: dict[tuple[str, str], int] = {}
    for operation in operations:
        @given(case=operation.as_strategy())
        @settings(FUZZ_SETTINGS, max_examples=EXAMPLES_PER_OPERATION)
        def no_server_error(case) -> None:  # type: ignore[no-untyped-def]
            response = case.call(headers=AUTH)
            where = f"{case.method} {case.formatted_path} query={case.query} body={str(case.body)[:80]!r}"
            key = (case.method.upper(), case.operation.path)
            calls[key] = calls.get(key, 0) + 1
            assert response.status_code < 500, f"{where}: {response.status_code} {response.text[:300]}"
            if key in WRITE_STATUSES:
                assert response.status_code in WRITE_STATUSES[key], f"{where}: {response.status_code}"

        no_server_error()
    assert sum(calls.values()) >= 100
    # The token was accepted: upload and delete bodies reached their handlers (no 401 above), both ran.
    assert calls[UPLOAD] >= 10 and calls[DELETE] >= 10, calls
    # The fuzzer never guesses a stored run's id: the populated runs are all still there.
    client = TestClient(app)
    assert client.get(f"/api/runs/{populated.echo_run}").status_code == 200


# ---- mutated real bundles --------------------------------------------------------------------------

# Integers at and past the limits of the stores' integer columns (32-bit on Postgres, 64-bit on SQLite).
EDGE_INTEGERS = st.sampled_from([-1, 2**31 - 1, 2**31, -(2**31) - 1, 2**63, -(2**63) - 1, 10**30])
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | EDGE_INTEGERS | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=6)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """The path (keys and indexes) to every value inside a JSON line."""
    children = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    return [path for key, child in children for path in ((*prefix, key), *_paths(child, (*prefix, key)))]


@st.composite
def _mutation(draw: st.DrawFn, lines: list[dict[str, Any]]) -> None:
    """Replace (by arbitrary JSON or an extreme value of the same type) or delete any one value in one line (the
    run header half of the time), or drop or repeat a line."""
    kind = draw(st.sampled_from(["same_type", "same_type", "same_type", "replace", "delete", "drop_line",
                                 "repeat_line"]))
    index = 0 if draw(st.booleans()) else draw(st.integers(0, len(lines) - 1))
    if kind == "drop_line":
        del lines[index]
        return
    if kind == "repeat_line":
        lines.insert(index, copy.deepcopy(lines[index]))
        return
    paths = _paths(lines[index])
    if not paths:
        return
    *parents, key = draw(st.sampled_from(paths))
    parent: Any = lines[index]
    for step in parents:
        parent = parent[step]
    if kind == "delete":
        del parent[key]
    elif kind == "same_type":  # valid to the schema, so it reaches the database: extreme values
        parent[key] = draw(_like(parent[key]))
    else:
        parent[key] = draw(JSON_VALUES)


def _like(value: Any) -> st.SearchStrategy[Any]:
    if isinstance(value, bool) or value is None:
        return JSON_VALUES
    if isinstance(value, int):
        return EDGE_INTEGERS | st.integers()
    if isinstance(value, float):
        return st.floats()
    if isinstance(value, str):
        return st.text(max_size=40)
    return JSON_VALUES


@pytest.fixture(scope="module")
def exported(populated: Populated, tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    path: Path = tmp_path_factory.mktemp("bundle") / "run.jsonl"
    export_run(populated.store, populated.echo_run, "jsonl", path)
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_mutated_bundles_are_stored_whole_or_refused(populated: Populated, exported: list[dict[str, Any]]) -> None:
    client = TestClient(create_app(populated.store, admin_token=TOKEN), raise_server_exceptions=False)
    runs_before = _run_count(client)
    fresh_ids = (f"fuzz{n}" for n in itertools.count())
    outcomes: dict[int, int] = {}

    @given(data=st.data())
    @settings(FUZZ_SETTINGS, max_examples=MUTATED_BUNDLES)
    def upload(data: st.DataObject) -> None:
        lines = copy.deepcopy(exported)
        lines[0]["run"]["id"] = next(fresh_ids)  # so an unmutated bundle is stored, not a conflict
        for _ in range(data.draw(st.integers(0, 3), label="mutations")):
            data.draw(_mutation(lines))
        body = "\n".join(json.dumps(line, ensure_ascii=False) for line in lines).encode("utf-8", "surrogatepass")
        response = client.post("/api/runs", content=body, headers=AUTH)
        outcomes[response.status_code] = outcomes.get(response.status_code, 0) + 1
        assert response.status_code in WRITE_STATUSES[UPLOAD], f"{response.status_code}: {response.text[:300]}"
        if response.status_code != 201:
            assert _run_count(client) == runs_before, response.text  # all or nothing
            return
        run_id = response.json()["id"]
        for url in (f"/api/runs/{run_id}", f"/api/runs/{run_id}/samples", f"/runs/{run_id}", "/api/leaderboard", "/"):
            shown = client.get(url)
            assert shown.status_code == 200, f"{url}: {shown.status_code} {shown.text[:300]}"
        assert client.delete(f"/api/runs/{run_id}", headers=AUTH).status_code == 204
        assert client.get(f"/api/runs/{run_id}").status_code == 404
        assert _run_count(client) == runs_before

    upload()
    # Both sides were reached: some bundles were stored (and deleted), some refused.
    assert outcomes.get(201, 0) >= 3 and outcomes.get(422, 0) >= 3, outcomes


# ---- every field of a real bundle at its extremes -------------------------------------------------

def _extremes(value: Any) -> list[Any]:
    """Values of the same JSON type at the edges (so they pass validation and reach the database), and null."""
    if isinstance(value, bool):
        extremes: list[Any] = [not value]
    elif isinstance(value, int):
        extremes = [2**31, 2**63]  # past Postgres' integer, past SQLite's
    elif isinstance(value, float):
        extremes = [float("nan"), -float("inf")]
    elif isinstance(value, str):
        extremes = ["", "a\x00b", "\ud800"]
    elif isinstance(value, list):
        extremes = [[], [*value, *value]]
    else:
        extremes = [{}] if isinstance(value, dict) else []
    return [*extremes, None]


def _field_paths(lines: list[dict[str, Any]]) -> list[tuple[int, tuple[Any, ...]]]:
    """(line, path) of every field of the run record, of a metric row and of a sample line."""
    header, sample = lines[0], lines[1]
    return ([(0, ("run", key)) for key in header["run"]] + [(0, ("metrics", 0, key)) for key in header["metrics"][0]]
            + [(1, (key,)) for key in sample])


def test_every_field_at_its_extremes(populated: Populated, exported: list[dict[str, Any]]) -> None:
    # The run line and the first sample of each task: every field is there, at a fraction of the cost.
    first_samples = {line["task"]: line for line in reversed(exported[1:])}
    exported = [exported[0], *first_samples.values()]
    client = TestClient(create_app(populated.store, admin_token=TOKEN), raise_server_exceptions=False)
    runs_before = _run_count(client)
    failures, outcomes = [], {}
    for number, (line, path) in enumerate(_field_paths(exported)):
        *parents, key = path
        original = exported[line]
        for parent_key in parents:
            original = original[parent_key]
        for value in (*_extremes(original[key]), "<deleted>"):
            lines = copy.deepcopy(exported)
            lines[0]["run"]["id"] = f"edge{number}"
            parent = lines[line]
            for parent_key in parents:
                parent = parent[parent_key]
            if value == "<deleted>":
                del parent[key]
            else:
                parent[key] = value
            body = "\n".join(json.dumps(each, ensure_ascii=True) for each in lines).encode()
            response = client.post("/api/runs", content=body, headers=AUTH)
            outcomes[response.status_code] = outcomes.get(response.status_code, 0) + 1
            where = f"{'.'.join(map(str, path))} = {str(value)[:30]!r}"
            if response.status_code not in WRITE_STATUSES[UPLOAD]:
                failures.append(f"{where}: {response.status_code} {response.text[:100]}")
            elif response.status_code == 201:
                pages = [f"/runs/edge{number}", f"/api/runs/edge{number}/samples"] + ["/api/leaderboard"] * (line == 0)
                for url in pages:
                    if (status := client.get(url).status_code) != 200:
                        failures.append(f"{where}: GET {url} answered {status}")
                client.delete(f"/api/runs/edge{number}", headers=AUTH)
    assert failures == [], "\n".join(failures)
    # Refused uploads stored nothing (the run ids name the field: edgeN is field N).
    runs_after = client.get("/api/runs", params={"limit": 1000}).json()
    assert len(runs_after) == runs_before, [run["id"] for run in runs_after]
    assert outcomes.get(201, 0) >= 10 and outcomes.get(422, 0) >= 10, outcomes
