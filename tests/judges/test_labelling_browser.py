"""Headless Chromium (Debian's /usr/bin/chromium via Playwright) against uvicorn on a loopback port: an
annotator signs in, labels ten pairs on /label, and the judge-vs-human κ on /agreement appears and then
changes as labels come in, each time equal to `assay.judges.agreement` on the stored judgments."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from assay.cli_commands.judgments import import_judgments
from assay.judges.agreement import agreement
from assay.judges.store import iter_judgments, replace_judgments
from assay.store import Store
from assay.web import create_app
from assay.web.rendering import fmt_number
from browser_support import chromium, require_browser, serve

TOKEN = "browser-label-token"
pytestmark = pytest.mark.slow


@pytest.fixture()
def served(judges_dir: Path, tmp_path: Path) -> Iterator[tuple[str, Store]]:
    require_browser()
    store = Store(f"sqlite:///{tmp_path / 'browser.db'}")
    path = judges_dir / "llmbar" / "LLMBar" / "Natural" / "evaluators" / "GPT-4" / "Swap"
    source, rows = import_judgments(store, path, "llmbar")
    replace_judgments(store, source, [j for j in rows if j.rater_kind == "judge"])  # the judge's verdicts only
    with serve(create_app(store, admin_token=TOKEN)) as url:
        yield url, store
    store.close()


def _expected_kappa(store: Store) -> str:
    entry = agreement(list(iter_judgments(store)), "human", n_resamples=1000)["judges"][0]
    return fmt_number(entry["cohen_kappa"]["all"]["value"])


def test_label_ten_pairs_and_watch_kappa(served: tuple[str, Store]) -> None:
    url, store = served
    with chromium() as browser:
        page = browser.new_page()
        page.goto(f"{url}/agreement")
        assert page.locator("#agreement-empty").inner_text().startswith("No human labels yet:")
        page.goto(f"{url}/label")
        page.fill("input[name=annotator]", "Ada")
        page.fill("input[name=token]", TOKEN)
        page.click("#label-start button")
        kappas = []
        for index in range(10):
            assert f"labelled {index} of 100" in page.locator("#label-progress").inner_text()
            first, second = page.locator("#response-1").inner_text(), page.locator("#response-2").inner_text()
            assert first and second and "output_1" not in page.content()
            # The annotator prefers the longer response, except on every fourth pair.
            longer_first = len(first) >= len(second)
            page.click("#vote-first" if longer_first != (index % 4 == 3) else "#vote-second")
            page.wait_for_url(f"{url}/label")
            if index in (4, 9):
                page.goto(f"{url}/agreement")
                assert page.locator("#human-labels").inner_text().startswith(f"{index + 1} human label(s) by 1")
                shown = page.locator("#agreement tbody tr td.kappa").inner_text()
                assert shown == _expected_kappa(store)
                kappas.append(shown)
                page.goto(f"{url}/label")
        assert "labelled 10 of 100" in page.locator("#label-progress").inner_text()
    assert kappas[0] != kappas[1] and all(k != "—" for k in kappas), kappas  # it moved as labels came in
    assert len(list(iter_judgments(store, source="label:web"))) == 10
