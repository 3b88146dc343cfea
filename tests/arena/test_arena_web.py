"""The arena page over HTTP (FastAPI's test client) and in headless Chromium: ratings with intervals, the
canary banner, the win-rate heatmap, battles browsable down to both outputs and the judge's reasoning,
human votes in the same ratings, outputs shown as text. The store is filled by the real producers."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from arena_support import judgment
from battle_support import GOOD, NULL_TEXT, judged_battles, null_judge
from fastapi.testclient import TestClient

from assay.judges.store import add_judgments, iter_judgments
from assay.store import Store
from assay.web import create_app
from browser_support import chromium, require_browser, serve

XSS = "<script>alert(1)</script>"


@pytest.fixture(scope="module")
def arena_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    tmp_path = tmp_path_factory.mktemp("arena-web")
    store = Store(f"sqlite:///{tmp_path / 'assay.db'}")
    judged_battles(store, tmp_path, null_judge(tmp_path, "judge", True), {**GOOD, "people exercise": XSS})
    judged = list(iter_judgments(store, kind="pairwise"))
    first, items = judged[0], sorted({j.item for j in judged})[:2]
    # two votes on judged prompts, as the labelling page stores them: human, source label:web
    add_judgments(store, [judgment(first.model_a, str(first.model_b), "a", item, rater="ann", rater_kind="human",
                                   task=first.task or "", source="label:web", output_a="x", output_b=NULL_TEXT)
                          for item in items])
    yield store
    store.close()


@pytest.fixture(scope="module")
def client(arena_store: Store) -> TestClient:
    return TestClient(create_app(arena_store, admin_token=""))


def test_arena_page_and_api(client: TestClient) -> None:
    page = client.get("/arena?rounds=50")
    assert page.status_code == 200
    html = page.text
    assert 'data-status="gameable"' in html and "GAMEABLE" in html
    assert re.search(r"12 battles on 5 prompts\s+\(2 human, 10 judge\)", html), re.findall(r'id="arena-counts">[^<]*', html)
    assert len(re.findall(r'<tr data-model="', html)) == 2
    assert len(re.findall(r'<g class="cell"', html)) == 4  # 2 x 2 matrix
    assert 'id="separability"' in html and "agreement with human" in html
    api = client.get("/api/arena?rounds=50").json()
    assert api["canary"]["status"] == "gameable" and api["raters"] == {"human": 2, "judge": 10}
    assert api["ratings"][0]["model"].startswith("scripted:constant=")
    assert client.get("/api/arena?task=nope").status_code == 404
    assert 'id="arena-empty"' in client.get("/arena?task=nope").text
    assert client.get("/arena?rounds=1").status_code == 422


def test_battles_down_to_outputs_and_reasoning(client: TestClient) -> None:
    listing = client.get("/arena/battles").text
    pks = re.findall(r'<tr data-pk="(\d+)"', listing)
    assert len(pks) == 12
    null = "scripted:constant=" + NULL_TEXT
    assert len(re.findall(r'<tr data-pk="', client.get("/arena/battles", params={"model": null}).text)) == 12
    shown = [client.get(f"/arena/battles/{pk}").text for pk in pks]
    xss = [text for text in shown if "&lt;script&gt;alert(1)&lt;/script&gt;" in text]
    assert len(xss) == 2 and all(XSS not in text for text in shown)  # both orders of that prompt, as text
    assert all(NULL_TEXT in text and 'id="reasoning"' in text for text in shown)
    assert client.get("/arena/battles/999999").status_code == 404


@pytest.fixture(scope="module")
def server(arena_store: Store) -> Iterator[str]:
    require_browser()
    with serve(create_app(arena_store, admin_token="")) as url:
        yield url


@pytest.mark.slow
def test_arena_in_chromium(server: str, tmp_path: Path) -> None:
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        dialogs: list[str] = []
        errors: list[str] = []
        outside: list[str] = []
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.on("request", lambda req: None if req.url.startswith(server) else outside.append(req.url))
        page.goto(server + "/")
        page.locator("header nav a", has_text="Arena").click()
        page.wait_for_url("**/arena")
        assert page.locator("#canary").get_attribute("data-status") == "gameable"
        assert "GAMEABLE" in page.locator("#canary").inner_text()
        assert page.locator("#arena-ratings tbody tr").count() == 2
        assert page.locator("#winrate-heatmap g.cell rect").count() == 4
        # the heatmap's colours: the null model's row is blue (it won), the other red
        fills = page.locator("#winrate-heatmap g.cell").evaluate_all(
            "cells => cells.map(c => [c.dataset.row, c.dataset.column, c.querySelector('rect').getAttribute('fill')])")
        off_diagonal = {(r, c): f for r, c, f in fills if r != c}
        null = next(r for r, _ in off_diagonal if r.startswith("scripted:constant"))
        for (row, _), fill in off_diagonal.items():
            red, blue = int(fill[1:3], 16), int(fill[5:7], 16)
            assert (blue > red) == (row == null), (row, fill)  # it won 10 of 12 battles
        page.screenshot(path=str(tmp_path / "arena.png"), full_page=True)
        # down to one battle: both outputs and the reasoning, the output as text
        page.locator("#arena-ratings tbody tr").first.locator("a").click()
        page.wait_for_url("**/arena/battles?model=**")
        assert page.locator("#arena-battles tbody tr").count() == 12
        page.locator("#arena-battles tbody tr td a").last.click()
        page.wait_for_url(re.compile(r".*/arena/battles/\d+$"))
        assert page.locator("#output-b").inner_text() == NULL_TEXT or page.locator("#output-a").inner_text() == NULL_TEXT
        assert page.locator("#reasoning").count() == 1
        page.goto(server + "/arena/battles")
        links = page.locator("#arena-battles tbody tr td a").evaluate_all("as => as.map(a => a.href)")
        for link in links:
            page.goto(link)
            if XSS in page.locator("#output-a").inner_text():
                break
        assert page.locator("#output-a").inner_text() == XSS
        assert page.locator("pre.response script").count() == 0
        page.wait_for_timeout(200)
        assert dialogs == [] and errors == [] and outside == []
