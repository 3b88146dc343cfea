"""Aggregation end to end: a fake model that reads only the first N words of a prompt, run through
the real runner and store, must get the effective length its reading window implies."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from assay.models.scripted import WhitespaceTokenizer
from assay.runner import Runner, RunOptions
from assay.scoring.ruler import is_abstention
from assay.tasks.base import TaskContext
from assay.tasks.longctx.report import run_report_lines
from assay.tasks.registry import get_task
from assay.types import GenerateRequest, Response


class ShortSightedModel:
    """Answers with the first 7-digit number among the first `window` words of the prompt, or declines."""

    spec = "test:short-sighted"
    max_context = 100_000

    def __init__(self, window: int) -> None:
        self.window = window
        self._tokenizer = WhitespaceTokenizer()

    def fingerprint(self) -> dict[str, Any]:
        return {"backend": "test", "window": self.window}

    def tokenizer(self) -> WhitespaceTokenizer:
        return self._tokenizer

    def generate(self, requests: Sequence[GenerateRequest]) -> list[Response]:
        out = []
        for request in requests:
            words = self._tokenizer.render_chat(request.messages or ()).split()[: self.window]
            numbers = [w.strip(".") for w in words if w.strip(".").isdigit() and len(w.strip(".")) == 7]
            out.append(Response(text=numbers[0] if numbers else "The answer is not in the document."))
        return out

    def loglikelihood(self, requests: Sequence[Any]) -> list[Response]:
        raise NotImplementedError

    def loglikelihood_rolling(self, requests: Sequence[Any]) -> list[Response]:
        raise NotImplementedError

    def close(self) -> None:
        pass


def test_effective_length_of_a_model_with_a_reading_window(store: Any, tmp_path: Path) -> None:
    task = get_task("niah_single:lengths=256+512+1024+2048/depths=0+50+100/n=2")
    result = Runner(ShortSightedModel(window=700), store).run(
        [task], RunOptions(seed=3, context=TaskContext(), show_progress=False))
    metrics = {m["name"]: m for m in result.metrics}
    heatmap = metrics["heatmap"]["extra"]
    assert heatmap["lengths"] == [256, 512, 1024, 2048] and heatmap["depths"] == [0.0, 50.0, 100.0]
    assert heatmap["counts"] == [[2, 2, 2]] * 4
    # Within the window every needle is found; at 2048 tokens the needles at 50% and 100% are not.
    assert heatmap["matrix"][0] == [1.0, 1.0, 1.0] and heatmap["matrix"][1] == [1.0, 1.0, 1.0]
    assert heatmap["matrix"][3] == [1.0, 0.0, 0.0]
    assert metrics["effective_length"]["value"] == 512.0
    assert metrics["effective_length"]["extra"]["threshold"] == 85.6
    curve = metrics["length_curve"]["extra"]
    assert curve["mean"][0] == 1.0 and curve["ci_low"][3] < curve["mean"][3] < curve["ci_high"][3]
    assert 0.0 <= metrics["wavg_inc"]["value"] < metrics["wavg_dec"]["value"] <= 1.0
    lines = run_report_lines(store, result.run_id, tmp_path / "out")
    assert any("heatmap" in line and line.endswith(".png") for line in lines)
    assert any("effective context length: 512 tokens" in line for line in lines)


def test_twin_rates_and_variants(store: Any) -> None:
    task = get_task("longctx_quick:lengths=512+1024/depths=0+100")
    result = Runner(ShortSightedModel(window=600), store).run(
        [task], RunOptions(seed=3, context=TaskContext(), show_progress=False))
    metrics = {m["name"]: m for m in result.metrics}
    assert {"variant/single", "variant/single_unanswerable", "variant/multikey"} <= set(metrics)
    # The fake model never invents a number when the needle is gone: every unanswerable twin is declined.
    assert metrics["hallucination"]["value"] == 0.0
    assert metrics["labels"]["extra"]["unanswerable"] == {"correct_decline": metrics["hallucination"]["n"]}
    assert is_abstention("The answer is not in the document.")
    # At 1024 tokens the needle at 100% is out of the window: declined on the answerable twin = false refusal.
    assert metrics["false_refusal"]["value"] > 0.0
    assert metrics["empty_output"]["value"] == 0.0
    # Variant rows carry their own n and CI (4 samples each here), not the task's.
    assert metrics["variant/single"]["n"] == 4 and metrics["variant/single"]["ci_low"] is not None
