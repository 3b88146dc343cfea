"""Numbers and answers are shown one way everywhere: counts and token lengths as integers, context
lengths as 1k/2k/4k, a multiple-choice target and its extracted answer in the same form, long extracted
text clipped like prompts, and the leaderboard explains Borda beside the rank."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from assay.display import answer_form, format_metric_value, length_label
from assay.models.scripted import ScriptedModel
from assay.runner import Runner, RunOptions
from assay.store import Store
from assay.tasks import get_task


def test_counts_and_token_lengths_are_integers() -> None:
    assert format_metric_value({"value": 0.0, "method": "count"}) == "0"
    assert format_metric_value({"value": 512.0, "method": "task", "scale": "tokens"}) == "512"
    assert format_metric_value({"value": 1024.0, "method": "task", "scale": "tokens"}) == "1024"
    assert format_metric_value({"value": 3.0, "method": "mean", "aggregation": "count"}) == "3"
    assert format_metric_value({"value": 0.25, "method": "wilson", "scale": "0..1"}) == "0.2500"
    assert format_metric_value({"value": None, "method": "count"}) == "—"


def test_length_labels_are_binary_thousands() -> None:
    assert [length_label(n) for n in (512, 1024, 2048, 4096, 1536, 1000)] == ["512", "1k", "2k", "4k", "1.5k", "1000"]


def test_target_and_extracted_share_a_form() -> None:
    choices = ["143", "144", "133"]
    assert answer_form(0, choices) == "143 (choice 0)"
    assert answer_form("133", choices) == "133 (choice 2)"
    assert answer_form("C", choices) == "133 (choice 2)"  # a multiple-choice task's extracted letter
    assert answer_form("17", choices) == "17"
    assert answer_form(["a", "b"], None) == '["a", "b"]'


@pytest.fixture(scope="module")
def web_run(tmp_path_factory: pytest.TempPathFactory):
    pytest.importorskip("fastapi", reason="the web pages need the web extra")
    from fastapi.testclient import TestClient

    from assay.web import create_app

    store = Store(f"sqlite:///{tmp_path_factory.mktemp('display') / 'assay.db'}")
    result = Runner(ScriptedModel("echo", None), store).run([get_task("arith_mc"), get_task("arith")],
                                                            RunOptions(seed=3, limit=4, show_progress=False))
    yield TestClient(create_app(store)), store, result.run_id
    store.close()


def _cells(html: str, row_label: str) -> list[str]:
    rows = re.findall(r"<tr>(.*?)</tr>", html, flags=re.S)
    found = [re.findall(r"<td[^>]*>(.*?)</td>", row, flags=re.S) for row in rows if f">{row_label}<" in row]
    assert found, f"no row {row_label} in the page"
    return found[0]


def test_web_run_page_shows_counts_as_integers_and_answers_in_one_form(web_run) -> None:
    client, store, run_id = web_run
    page = client.get(f"/runs/{run_id}?task=arith_mc").text
    assert _cells(page, "n_request_errors")[2].strip() == "0"
    assert _cells(page, "n_samples")[2].strip() == "4"
    samples = list(store.iter_samples(run_id, "arith_mc"))
    for sample in samples:
        choices = sample["metadata"]["choices"]
        target = f"{choices[sample['target']]} (choice {sample['target']})"
        extracted = f"{sample['extracted']} (choice {choices.index(sample['extracted'])})"
        assert f'<code class="target">{target}</code>' in page
        assert f'<code class="extracted">{extracted}</code>' in page


def test_web_clips_long_extracted_text(tmp_path: Path) -> None:
    pytest.importorskip("fastapi", reason="the web pages need the web extra")
    from fastapi.testclient import TestClient

    from assay.tasks.yaml_task import load_yaml_task
    from assay.web import create_app

    # A declarative task without answer extraction: the whole output is the extracted answer.
    (tmp_path / "d.jsonl").write_text('{"q": "say words", "a": "word"}\n', encoding="utf-8")
    (tmp_path / "t.yaml").write_text("name: long_answer\ndescription: whole output\noutput_type: generate_until\n"
                                     "dataset:\n  path: d.jsonl\nprompt:\n  template: '{{ q }}'\ntarget: a\n"
                                     "metrics: [exact_match]\n", encoding="utf-8")
    store = Store(f"sqlite:///{tmp_path / 'long.db'}")
    long_answer = "word " * 300
    result = Runner(ScriptedModel("constant", long_answer), store).run([load_yaml_task(tmp_path / "t.yaml")],
                                                                      RunOptions(seed=3, show_progress=False))
    [sample] = store.iter_samples(result.run_id)
    assert len(sample["extracted"]) > 600
    page = TestClient(create_app(store)).get(f"/runs/{result.run_id}").text
    assert 'class="extracted-preview"' in page and f"… {len(sample['extracted'])} characters" in page
    store.close()


def test_leaderboard_explains_borda(web_run) -> None:
    client, _, _ = web_run
    page = client.get("/").text
    assert 'id="borda-note"' in page and "Borda" in page and "mean" in page
