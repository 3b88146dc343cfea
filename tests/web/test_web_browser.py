"""The real thing: uvicorn on a loopback port, headless Chromium driven by Playwright. Loads the
leaderboard, sorts it, opens a run, searches its samples, and checks that a model output of
`<script>alert(1)</script>` shows as text and never runs. Saves docs/leaderboard.png and docs/run.png."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from web_support import XSS, Populated

from assay.web import create_app
from browser_support import chromium, require_browser, serve

DOCS = Path(__file__).resolve().parents[2] / "docs"
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(populated: Populated) -> Iterator[str]:
    require_browser()
    with serve(create_app(populated.store, admin_token="")) as url:
        yield url


@pytest.fixture(scope="module")
def browser(server: str):
    with chromium() as launched:
        yield launched


def _column(page, table_id: str, index: int) -> list[str]:
    return page.locator(f"#{table_id} tbody tr").evaluate_all(
        f"rows => rows.map(r => r.cells[{index}].textContent.trim())")


def test_leaderboard_sorts_and_run_page_shows_outputs_as_text(populated: Populated, server: str, browser,
                                                              request: pytest.FixtureRequest) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    outside: list[str] = []
    page.on("request", lambda req: None if req.url.startswith(server) else outside.append(req.url))

    page.goto(server + "/")
    models = _column(page, "leaderboard", 1)
    assert models == ["scripted:echo", "scripted:constant=nothing here"]
    # Model names A→Z: the order must flip; a second click reverses it back.
    page.locator("#leaderboard thead th", has_text="Model").click()
    assert _column(page, "leaderboard", 1) == ["scripted:constant=nothing here", "scripted:echo"]
    assert page.locator("#leaderboard thead th", has_text="Model").get_attribute("aria-sort") == "ascending"
    page.locator("#leaderboard thead th", has_text="Model").click()
    assert _column(page, "leaderboard", 1) == models
    backend = request.node.callspec.params.get("populated", "sqlite")
    if backend == "sqlite":
        DOCS.mkdir(exist_ok=True)
        page.locator("#leaderboard thead th", has_text="Mean").click()
        page.screenshot(path=str(DOCS / "leaderboard.png"), full_page=True)
        assert (DOCS / "leaderboard.png").stat().st_size > 10_000

    # Open the echo run from its leaderboard cell and search its samples.
    page.locator("#leaderboard tbody tr").first.locator("td.num a").first.click()
    page.wait_for_url(f"**/runs/{populated.echo_run}**")
    assert page.locator("#manifest").count() == 1
    page.fill("#sample-search input[name=q]", "alert")
    page.locator("#sample-search button[type=submit]").click()
    page.wait_for_url("**q=alert**")
    assert page.locator("#sample-count").inner_text().startswith("1 sample")
    sample = page.locator("li.sample").first
    assert sample.locator("pre.response").inner_text() == XSS
    assert sample.locator("code.extracted").inner_text() == XSS
    # The raw-record viewer writes data with textContent: still text.
    sample.locator("button.raw-toggle").click()
    assert XSS in sample.locator("pre.raw").inner_text()
    # Rendered as text: no element was created from the output, and nothing ran.
    assert page.evaluate("document.querySelectorAll('script:not([src]):not([type=\"application/json\"])').length") == 0
    assert page.locator("pre.response script").count() == 0
    page.reload()
    page.wait_for_timeout(300)
    assert dialogs == [] and errors == []
    if backend == "sqlite":
        page.screenshot(path=str(DOCS / "run.png"), full_page=False)
        assert (DOCS / "run.png").stat().st_size > 10_000

    # Paging without search: the second page starts where the first ended.
    page.goto(f"{server}/runs/{populated.echo_run}")
    first_ids = page.locator("li.sample").evaluate_all("items => items.map(i => i.dataset.sampleId)")
    page.locator("#next-page").click()
    second_ids = page.locator("li.sample").evaluate_all("items => items.map(i => i.dataset.sampleId)")
    assert len(first_ids) == 20 and second_ids and not set(first_ids) & set(second_ids)

    # Model page charts are drawn from stored metric rows: inline SVG curves and calibration, heatmap images.
    page.goto(server + "/model?name=scripted%3Aecho")
    assert page.locator("figure.chart svg").count() == 4
    assert page.locator("figure.chart.heatmap img").count() == 2
    assert outside == [], f"pages fetched outside the server: {outside}"
    assert dialogs == [] and errors == []
    page.close()

