"""The three Python example tasks on the real embedded model (SmolLM2-135M), a few samples each."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import assay

pytestmark = pytest.mark.slow
EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "python"


@pytest.fixture(scope="module")
def embedded() -> Iterator[Any]:
    model = assay.load_model("embedded")  # loaded once for the three runs
    yield model
    model.close()


def _metrics(run: assay.Run, task: str) -> dict[str, float | None]:
    return {m.name: m.value for m in run.metrics if m.task == task}


def test_capitals_on_the_embedded_model(embedded: Any) -> None:
    metrics = _metrics(assay.evaluate(embedded, f"{EXAMPLES / 'capitals.py'}:capitals", limit=4), "capitals")
    # With one solved example the small model names most capitals (7 of the 8 when tried by hand).
    assert metrics["n_samples"] == 4 and metrics["exact"] is not None and metrics["exact"] >= 0.5


def test_science_choice_on_the_embedded_model(embedded: Any) -> None:
    run = assay.evaluate(embedded, str(EXAMPLES / "science_choice.py"), limit=4)
    metrics = _metrics(run, "science")
    assert metrics["n_samples"] == 4 and metrics["n_unparsable"] == 0
    assert {"acc", "acc_norm", "ece", "brier"} <= set(metrics)
    assert all(len(s.metadata["choice_logprobs"]) == 4 for s in run.samples())


def test_judged_answers_on_the_embedded_model(embedded: Any) -> None:
    run = assay.evaluate(embedded, str(EXAMPLES / "judged_answers.py"), limit=3)
    metrics = _metrics(run, "open_answers")
    assert metrics["n_samples"] == 3 and metrics["mentions_reference"] is not None
    assert all((s.responses[0]["text"] or "").strip() for s in run.samples())
    assert run.manifest["tasks"]["open_answers"]["spec"]["judge"]["rubric"]["max"] == 5
