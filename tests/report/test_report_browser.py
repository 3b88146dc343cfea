"""The report in a real headless Chromium: it renders, the plots have a size, the search box filters the
sample table, pagination and expand work, and hostile model output stays text (no dialog, no injected
element). Skips when Chromium or Playwright is missing, except under CI, where .ci/run installs both."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from report_fixtures import BULK_SIZE, LONGCTX_SIZE, XSS, ReportRuns

from assay.report import write_report
from browser_support import AXIS_LABELS_JS, chromium, require_browser


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    require_browser()
    with chromium() as launched:
        yield launched


def _visible_rows(page: Any) -> int:
    return page.locator("#sample-rows tr").count()


def test_report_in_chromium(browser: Any, report_runs: ReportRuns, tmp_path: Path) -> None:
    output = tmp_path / "report.html"
    write_report(report_runs.store, [report_runs.full, report_runs.failing], output)
    total = 2 * (12 + 8 + BULK_SIZE + LONGCTX_SIZE)

    page = browser.new_page(viewport={"width": 1280, "height": 900})
    dialogs: list[str] = []
    problems: list[str] = []
    remote: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    # A CSP violation (our script or style blocked, or anything else tried) is logged as a console error.
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.on("request", lambda request: remote.append(request.url) if not request.url.startswith(("file:", "data:"))
            else None)
    page.goto(output.resolve().as_uri())
    page.wait_for_selector("#sample-rows tr")

    # Plots: every figure image decoded and laid out with a non-zero size.
    images = page.locator("figure img")
    assert images.count() == 7
    for index in range(images.count()):
        image = images.nth(index)
        assert image.evaluate("element => element.complete && element.naturalWidth > 0 && element.naturalHeight > 0")
        image.scroll_into_view_if_needed()
        box = image.bounding_box()
        assert box is not None and box["width"] > 50 and box["height"] > 50

    # Pagination: 50 a page.
    status = page.locator("#sample-status")
    assert _visible_rows(page) == 50
    assert status.text_content() == f"samples 1–50 of {total} · page 1 of {-(-total // 50)}"
    page.click("#sample-next")
    assert status.text_content().startswith(f"samples 51–100 of {total}")

    # Search filters (and resets to page 1); the hostile string is found and shown as text.
    page.fill("#sample-search", "alert(1)")
    assert _visible_rows(page) == 2  # qa-0 in each run
    assert status.text_content() == f"samples 1–2 of 2 (filtered from {total}) · page 1 of 1"
    prompts = page.locator("#sample-rows td.prompt .text").all_text_contents()
    assert all(XSS in text for text in prompts)
    # Terms are ANDed and case-insensitive: only bulk-17 of each run has both.
    page.fill("#sample-search", "QUESTION Bulk-17")
    assert page.locator("#sample-rows td.mono:nth-child(3)").all_text_contents() == ["bulk-17", "bulk-17"]
    page.fill("#sample-search", "no-sample-has-this-text")
    assert _visible_rows(page) == 0 and status.text_content().startswith("no sample matches")

    # Errors-only: every row shown has an error; the failing run's request failures are among them.
    page.fill("#sample-search", "")
    page.check("#sample-errors-only")
    errors = page.locator("#sample-rows td.error").all_text_contents()
    assert errors and all(text for text in errors)
    assert any(text.startswith("request_failed") for text in errors)
    page.uncheck("#sample-errors-only")

    # Expand swaps in the whole (head + tail) prompt.
    page.fill("#sample-search", "needle-at-the-end")
    cell = page.locator("#sample-rows td.prompt").first
    assert "needle-at-the-end" not in cell.locator(".text").text_content()
    cell.locator("button.expand").click()
    assert cell.locator(".text").text_content().endswith("needle-at-the-end\nA:")

    # Nothing ran: no dialog, only our two script elements, no injected <img onerror>, nothing fetched.
    assert dialogs == []
    assert page.evaluate("document.querySelectorAll('script').length") == 2
    scripts = page.evaluate("[...document.scripts].map(s => [s.id, s.type, s.textContent.includes('alert(')])")
    # The data block holds the hostile text (as \u003c-escaped JSON, inert); the one executable script does not.
    assert scripts == [["assay-samples", "application/json", True], ["", "", False]]
    assert page.evaluate("document.querySelectorAll('img[src=\"x\"], [onerror]').length") == 0
    assert remote == []
    assert problems == [], problems
    # The manifest opens.
    page.click("#runs details summary >> nth=0")
    assert re.search(r'"seed": 7', page.locator("pre.manifest").first.text_content())
    page.close()




def test_report_heatmap_of_a_non_square_run_in_chromium(browser: Any, report_runs: ReportRuns, tmp_path: Path) -> None:
    """The real 3-length × 2-depth run: one heatmap per run, drawn, rows = lengths, columns = depths."""
    output = tmp_path / "heatmap.html"
    write_report(report_runs.store, [report_runs.full, report_runs.failing], output)
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.goto(output.resolve().as_uri())
    heatmaps = page.locator('#long-context figure img[alt^="heatmap of"]')
    assert heatmaps.count() == 2
    for index in range(2):
        image = heatmaps.nth(index)
        assert image.get_attribute("alt") == ("heatmap of score: rows = context length (256, 512, 1k tokens), "
                                              "columns = needle depth (0%, 50%)")
        image.scroll_into_view_if_needed()
        assert image.evaluate("element => element.complete && element.naturalWidth > 0")
        box = image.bounding_box()
        assert box is not None and box["width"] > 100 and box["height"] > 100
        assert image.evaluate(AXIS_LABELS_JS) == {"lengths": ["256", "512", "1k"], "depths": ["0%", "50%"]}
    assert "malformed extra" not in page.content()
    assert problems == []
    page.close()
