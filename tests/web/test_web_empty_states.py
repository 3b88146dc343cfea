"""Every page on an empty database, on one with runs but no battles, and on one whose battles all ended
in rater errors — each state made by the real `assay run` and `assay battle` — is a page a person can
read: the site's layout, a sentence saying what is missing and which command fills it, the right
status (200 for an empty state, 4xx for a bad request), and never a Python repr, a traceback or a bare
JSON error. The arena in that last state is also looked at in Chromium."""

from __future__ import annotations

import html
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from assay.store import Store
from assay.web import create_app
from browser_support import chromium, require_browser, serve

pytestmark = pytest.mark.slow

# Every HTML page the app serves by GET (checked against the app's routes, so a new page must be added here).
PAGES = {"/", "/runs", "/runs/{run_id}", "/model", "/task", "/compare", "/label", "/agreement", "/arena",
         "/arena/battles", "/arena/battles/{pk}"}
LEAKS = ("{'", "Traceback", '{"detail"', "<class ")


def _assay(*args: str, cwd: Path) -> str:
    result = subprocess.run([sys.executable, "-m", "assay.cli", *args], capture_output=True, text=True, timeout=300,
                            cwd=cwd, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert result.returncode == 0, result.stderr + result.stdout
    return result.stdout


def _run_id(output: str) -> str:
    match = re.search(r"run id: (\w+)", output)
    assert match, output
    return match.group(1)


@dataclass
class Databases:
    empty: str
    runs: str  # two runs of arith, no battles
    errors: str  # the same runs, battled by a judge whose every reply is unreadable
    run_a: str
    run_b: str


@pytest.fixture(scope="module")
def databases(tmp_path_factory: pytest.TempPathFactory) -> Databases:
    folder = tmp_path_factory.mktemp("empty-states")
    runs_db = folder / "runs.db"
    run_a = _run_id(_assay("run", "--model", "scripted:echo", "--task", "arith", "--limit", "5", "--no-progress",
                           "--db", str(runs_db), cwd=folder))
    run_b = _run_id(_assay("run", "--model", "scripted:constant=7", "--task", "arith", "--limit", "5", "--no-progress",
                           "--db", str(runs_db), cwd=folder))
    errors_db = folder / "errors.db"
    shutil.copy(runs_db, errors_db)
    # An echoing judge repeats the prompt: no verdict can be read from it, so every battle is a rater error.
    _assay("battle", run_a, run_b, "--judge", "scripted:echo", "--no-progress", "--db", str(errors_db), cwd=folder)
    return Databases(f"sqlite:///{folder / 'empty.db'}", f"sqlite:///{runs_db}", f"sqlite:///{errors_db}", run_a, run_b)


@pytest.fixture(scope="module", params=["empty", "runs", "errors"])
def client(request: pytest.FixtureRequest, databases: Databases) -> Iterator[tuple[str, TestClient]]:
    store = Store(getattr(databases, request.param))
    with TestClient(create_app(store, admin_token="")) as test_client:
        yield request.param, test_client
    store.close()


def _main_text(body: str) -> str:
    main = body.split("<main>", 1)[1].split("</main>", 1)[0]
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", main)).split())


def _readable(body: str, url: str, sentence: bool = True) -> str:
    """The page's main text, after checking it is the site's page, leaks nothing and (a refusal or an
    empty state) says what happened in a sentence."""
    assert '<header class="top">' in body and "<main>" in body, f"{url}: not a page of the site: {body[:200]}"
    leaked = [leak for leak in LEAKS if leak in body]
    assert not leaked, f"{url}: shows {leaked}: {_main_text(body)[:300]}"
    text = _main_text(body)
    # A sentence: words running to a full stop (not only a status code, a "Not Found" or a JSON body).
    assert not sentence or re.search(r"\w+ \w+ \w+ [^.!?]+[.!?]", text), f"{url}: no sentence: {text[:300]}"
    return text


def _get_paths(routes: list[Any]) -> set[str]:
    """GET paths of the app, through included routers (FastAPI keeps those as wrappers of the original)."""
    paths = set()
    for route in routes:
        if hasattr(route, "original_router"):
            paths |= _get_paths(route.original_router.routes)
        elif "GET" in (getattr(route, "methods", None) or ()):
            paths.add(route.path)
    return paths


def test_every_page_is_listed() -> None:
    app = create_app(Store("sqlite://"), admin_token="")
    pages = {path for path in _get_paths(app.routes) if not path.startswith(("/api", "/openapi", "/static"))}
    assert pages == PAGES


def test_every_page_reads_as_a_sentence_in_every_state(client: tuple[str, TestClient], databases: Databases) -> None:
    state, test_client = client
    run = databases.run_a if state != "empty" else "0123456789ab"
    # (url, expected status): pages and their empty states answer 200; missing things 404; bad input 422.
    has_runs = state != "empty"
    cases = [("/", 200), ("/runs", 200), (f"/runs/{run}", 200 if has_runs else 404), ("/model?name=scripted:echo",
             200 if has_runs else 404), ("/task?name=arith", 200 if has_runs else 404), ("/compare", 200),
             (f"/compare?a={run}&b={databases.run_b}", 200 if has_runs else 404), ("/label", 403), ("/agreement", 200),
             ("/arena", 200), ("/arena/battles", 200), ("/arena/battles/1", 200 if state == "errors" else 404),
             ("/runs?offset=abc", 422), (f"/runs/{run}?page=0", 422), ("/model", 422), ("/task", 422),
             ("/arena?rounds=1", 422), ("/arena/battles/abc", 422), ("/no-such-page", 404)]
    for url, status in cases:
        response = test_client.get(url)
        assert response.status_code == status, f"{state} {url}: {response.status_code} {response.text[:300]}"
        assert response.headers["content-type"].startswith("text/html"), f"{state} {url}"
        _readable(response.text, url, sentence=status != 200)
    # Bad requests name the parameter and what it expected, one line each.
    assert "offset: " in _main_text(test_client.get("/runs?offset=abc").text)
    assert "name: " in _main_text(test_client.get("/model").text)


def test_empty_states_name_the_command_that_fills_them(client: tuple[str, TestClient]) -> None:
    state, test_client = client
    battle = "assay battle RUN_A RUN_B --judge SPEC"
    for url in ("/", "/runs", "/compare", "/arena", "/arena/battles", "/agreement"):
        if state == "empty" or url.startswith(("/arena", "/agreement")):
            _readable(test_client.get(url).text, url)
    if state == "empty":
        assert "assay run" in _main_text(test_client.get("/").text)
        assert "No runs stored yet: run assay run --model SPEC --task NAME" in _main_text(test_client.get("/runs").text)
        assert "No runs stored yet" in _main_text(test_client.get("/compare").text)
    if state in ("empty", "runs"):
        arena = _main_text(test_client.get("/arena").text)
        assert f"No battles yet: run {battle}" in arena
        assert battle in _main_text(test_client.get("/arena/battles").text)
        assert "No human labels yet: vote on the labelling page" in _main_text(test_client.get("/agreement").text)
    if state == "errors":
        arena = _main_text(test_client.get("/arena").text)
        assert "10 pairwise judgment(s) are stored, but none has a verdict (rater error (10))" in arena
        assert battle in arena


def test_api_twin_says_why_in_words(databases: Databases) -> None:
    store = Store(databases.errors)
    with TestClient(create_app(store, admin_token="")) as test_client:
        response = test_client.get("/api/arena")
        assert response.status_code == 404
        detail = response.json()["detail"]
        assert "rater error (10)" in detail and "{'" not in detail
    store.close()


def test_arena_of_rater_errors_in_chromium(databases: Databases, tmp_path: Path) -> None:
    require_browser()
    store = Store(databases.errors)
    with serve(create_app(store, admin_token="")) as url, chromium() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        response = page.goto(f"{url}/arena")
        assert response is not None and response.status == 200
        empty = page.locator("#arena-empty")
        assert empty.is_visible()
        assert "none has a verdict" in empty.inner_text()
        assert page.locator("#arena-empty a", has_text="look at them").get_attribute("href") == "/arena/battles"
        assert page.locator("header.top nav a.active").inner_text() == "Arena"
        page.screenshot(path=str(tmp_path / "arena-rater-errors.png"))
    store.close()
