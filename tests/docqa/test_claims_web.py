"""The per-claim section of the web sample browser: a faithfulness run's samples show each claim with its
verdict (an unreadable verdict as a judge error); other runs' samples show no such section. The Chromium test
opens the page in a real browser."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from docqa_support import cli, make_set, rules_spec, run_set
from fastapi.testclient import TestClient
from test_faithfulness import ANSWERS, JUDGE_RULES

from assay.store import Store
from assay.web import create_app
from browser_support import chromium, require_browser, serve

# A claim whose text is markup: shown as text.
MARKUP_RULES = [([r[0]] if isinstance(r[0], str) else r[0], r[1].replace("railway", "<b>railway</b>"))
                for r in JUDGE_RULES]


def _faithfulness_run(store: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[str, str]:
    _, path = make_set(tmp_path, per_doc=6, types=("factual",))
    answers = tmp_path / "answers.json"
    answers.write_text(json.dumps(ANSWERS), encoding="utf-8")
    run_id = run_set(store, path, f"scripted:oracle={answers}")
    code, out, err = cli(capsys, "docqa", "judge", run_id, "--judge", rules_spec(tmp_path, JUDGE_RULES, "judge"),
                         "--db", f"sqlite:///{tmp_path / 'assay.db'}", "--no-progress", "--json")
    assert code == 0, err
    return run_id, json.loads(out)["id"]


def test_claims_section_in_the_sample_view(store: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source_run, judged_run = _faithfulness_run(store, tmp_path, capsys)
    client = TestClient(create_app(store, admin_token=""))
    page = client.get(f"/runs/{judged_run}").text
    assert page.count('class="claim verdict-') == 2
    assert "The Bramwells added a third floor." in page and ">supported<" in page
    assert "not found (re-asked)" in page
    assert page.count('checked-answer"') == 1 and "They added a third floor. They built a railway." in page
    assert "Claims</span>" not in client.get(f"/runs/{source_run}").text


@pytest.fixture()
def server(store: Store) -> Iterator[str]:
    require_browser()
    with serve(create_app(store, admin_token="")) as url:
        yield url


@pytest.mark.slow
def test_claims_section_in_chromium(store: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                    server: str) -> None:
    _, judged_run = _faithfulness_run(store, tmp_path, capsys)
    with chromium() as browser:
        page = browser.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(f"{server}/runs/{judged_run}")
        rows = page.locator("li.sample table.claims-table tbody tr")
        assert rows.count() == 2
        cells = rows.evaluate_all("rows => rows.map(r => [...r.cells].map(c => c.textContent.trim()))")
        assert cells[0][1:3] == ["The Bramwells added a third floor.", "supported"]
        assert cells[1][1:3] == ["The Bramwells built a railway.", "not found (re-asked)"]
        assert rows.nth(0).is_visible() and errors == []
