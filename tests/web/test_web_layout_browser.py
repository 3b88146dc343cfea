"""Layout at a laptop's 1400×900 in headless Chromium, on runs made by the real Runner: a leaderboard of
twelve tasks keeps its last task column reachable (scrolling inside its own box, rank and model kept in
view, a hint saying so — headless Chromium, like overlay scrollbars, shows no scrollbar); a `longctx_quick`
run page shows its heatmap on the first screen with cell and axis labels of at least 11 px."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from assay.models.scripted import ScriptedModel
from assay.runner import Runner, RunOptions
from assay.store import Store
from assay.tasks.registry import get_task
from assay.web import create_app
from browser_support import chromium, require_browser, serve

pytestmark = pytest.mark.slow
VIEWPORT = {"width": 1400, "height": 900}
TASKS = ("arith", "arith_mc", "niah_single", "niah_multikey", "niah_multiquery", "niah_multivalue", "niah_multineedle",
         "qa_needle", "unanswerable", "variable_tracking", "common_words", "frequent_words")

# Rendered size in CSS px of the heatmap's labels: each label's glyphs are scaled by font-size/100 in the SVG's
# own units (matplotlib writes text as paths), and the picture is drawn at (shown width / viewBox width).
LABEL_PIXELS_JS = """img => {
  const bytes = Uint8Array.from(atob(img.src.split(',')[1]), c => c.charCodeAt(0));
  const svg = new DOMParser().parseFromString(new TextDecoder().decode(bytes), 'image/svg+xml').documentElement;
  const perUnit = img.getBoundingClientRect().width / svg.viewBox.baseVal.width;
  const size = group => {
    const scaled = [...group.querySelectorAll('g[transform*="scale("]')].map(
      g => parseFloat(g.getAttribute('transform').match(/scale\\(([-0-9.e]+)/)[1]) * 100 * perUnit);
    return Math.min(...scaled);
  };
  const ticks = [...svg.querySelectorAll('#heatmap-lengths g[id^="text"], #heatmap-depths g[id^="text"]')];
  return {cells: [...svg.querySelectorAll('g[id^="heatmap-cell-"]')].map(size), ticks: ticks.map(size)};
}"""


@dataclass
class Served:
    url: str
    longctx_run: str


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    require_browser()
    store = Store(f"sqlite:///{tmp_path_factory.mktemp('layout') / 'layout.db'}")
    tasks = [get_task(name) for name in TASKS]
    for name, argument in (("echo", None), ("constant", "7")):
        Runner(ScriptedModel(name, argument), store).run(tasks, RunOptions(limit=2, show_progress=False))
    longctx = Runner(ScriptedModel("echo", None), store).run([get_task("longctx_quick")],
                                                             RunOptions(show_progress=False)).run_id
    with serve(create_app(store, admin_token="")) as url:
        yield Served(url, longctx)
    store.close()


def test_leaderboard_last_task_column_is_reachable_at_1400(served: Served, tmp_path: Path) -> None:
    with chromium() as browser:
        page = browser.new_page(viewport=VIEWPORT)
        page.goto(served.url + "/")
        headers = page.locator("#leaderboard thead th")
        assert headers.count() == 6 + len(TASKS) + 1  # and longctx_quick
        last = headers.last
        box = last.bounding_box()
        assert box is not None
        fits = box["x"] + box["width"] <= VIEWPORT["width"]
        if not fits:
            # Too wide to fit: it must scroll inside its own box, and a visible line must say so.
            scrolls = page.locator("#leaderboard").evaluate(
                "t => { const w = t.parentElement; const ok = w.scrollWidth > w.clientWidth && "
                "getComputedStyle(w).overflowX === 'auto'; w.scrollLeft = w.scrollWidth; return ok; }")
            assert scrolls
            assert page.evaluate("document.documentElement.scrollWidth") <= VIEWPORT["width"]  # the page itself does not
            box = last.bounding_box()
            assert box is not None
            hint = page.locator("#leaderboard-scroll-hint")
        assert box["x"] >= 0 and box["x"] + box["width"] <= VIEWPORT["width"]
        # The last task's cells are readable beside the row's model: not hidden under the kept columns, and
        # the model column still on screen.
        model = page.locator("#leaderboard tbody tr").first.locator("td.model")
        model_box = model.bounding_box()
        assert model_box is not None and model_box["x"] >= 0
        assert model_box["x"] + model_box["width"] <= box["x"]
        assert page.evaluate("([x, y]) => document.elementFromPoint(x, y).closest('td.model') !== null",
                             [model_box["x"] + 5, model_box["y"] + model_box["height"] / 2])
        if not fits:
            assert hint.is_visible() and "scroll the table sideways" in hint.inner_text()
        page.screenshot(path=str(tmp_path / "leaderboard.png"))


def test_longctx_run_page_shows_a_readable_heatmap_on_the_first_screen(served: Served, tmp_path: Path) -> None:
    with chromium() as browser:
        page = browser.new_page(viewport=VIEWPORT)
        page.goto(f"{served.url}/runs/{served.longctx_run}")
        image = page.locator("figure.chart.heatmap img")
        assert image.count() == 1
        assert image.evaluate("element => element.complete && element.naturalWidth > 0")
        box = image.bounding_box()
        assert box is not None and box["y"] < VIEWPORT["height"], f"heatmap starts below the fold: {box}"
        assert box["y"] + box["height"] <= VIEWPORT["height"], f"heatmap runs below the fold: {box}"
        sizes = image.evaluate(LABEL_PIXELS_JS)
        assert len(sizes["cells"]) == 4 * 5 and len(sizes["ticks"]) == 4 + 5 + 2  # tick labels and both axis titles
        assert min(sizes["cells"]) >= 11, sizes
        assert min(sizes["ticks"]) >= 11, sizes
        page.screenshot(path=str(tmp_path / "longctx-run.png"))
