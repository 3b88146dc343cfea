"""The long-context heatmap on the web run page, in headless Chromium: a real non-square run (3 lengths ×
2 depths, through the real Runner with a scripted model) is drawn — not "not drawn" — with rows = context
lengths and columns = needle depths, read from the tick labels inside the picture itself."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from assay.models.scripted import ScriptedModel
from assay.runner import Runner, RunOptions
from assay.store import Store
from assay.tasks.registry import get_task
from assay.web import create_app
from browser_support import AXIS_LABELS_JS, chromium, require_browser, serve

pytestmark = pytest.mark.slow
GRID = "niah_single:lengths=256+512+1024/depths=0+50/n=1"



@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    require_browser()
    store = Store(f"sqlite:///{tmp_path_factory.mktemp('heatmap') / 'heatmap.db'}")
    run_id = Runner(ScriptedModel("echo", None), store).run([get_task(GRID)], RunOptions(seed=5, show_progress=False)).run_id
    with serve(create_app(store, admin_token="")) as url:
        yield url, run_id
    store.close()


def test_run_page_draws_the_heatmap_lengths_by_depths(served: tuple[str, str]) -> None:
    base, run_id = served
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(f"{base}/runs/{run_id}")
        heatmaps = page.locator("figure.chart.heatmap img")
        assert heatmaps.count() == 1
        image = heatmaps.first
        assert image.get_attribute("alt") == ("heatmap of score: rows = context length (256, 512, 1k tokens), "
                                              "columns = needle depth (0%, 50%)")
        image.scroll_into_view_if_needed()
        assert image.evaluate("element => element.complete && element.naturalWidth > 0")
        box = image.bounding_box()
        assert box is not None and box["width"] > 100 and box["height"] > 100
        assert image.evaluate(AXIS_LABELS_JS) == {"lengths": ["256", "512", "1k"], "depths": ["0%", "50%"]}
        assert "not drawn" not in page.content()
        assert errors == []
