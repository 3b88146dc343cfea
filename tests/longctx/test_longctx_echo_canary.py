"""Canary: a model that repeats its prompt (`scripted:echo`) must score at or below chance on every
long-context task, run through the real runner and store (docs/longctx-scoring.md).

Chance is the expected primary score (per-sample `score`) of an answer that does not read the
prompt. Needle values, variable names and list words are drawn at random per sample (7-digit
numbers, invented words), so such an answer names them with probability ~0: chance 0. A blind
answer can always decline, which is right on every unanswerable twin: chance = the share of
unanswerable twins among the scored samples. Counterfactual facts come from a fixed list, so one
constant answer is right on the samples of one fact: chance = the largest share of one fact."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from assay.models.scripted import ScriptedModel
from assay.runner import Runner, RunOptions
from assay.tasks.base import TaskContext
from assay.tasks.registry import get_task, task_entries

SMALL = "lengths=256+512/n=1"
VARIANTS = {
    "niah_single": f"{SMALL}/depths=0+100",
    "niah_multikey": f"{SMALL}/depths=0+100",
    "niah_multivalue": f"{SMALL}/depths=0+100",
    "niah_multiquery": f"{SMALL}/depths=0+100",
    "niah_multineedle": SMALL,
    "variable_tracking": SMALL,
    "common_words": SMALL,
    "frequent_words": SMALL,
    "qa_needle": f"{SMALL}/depths=0+100",
    "counterfactual": f"{SMALL}/depths=0+50+100",
    "unanswerable": f"{SMALL}/depths=0+100",
    "position_sweep": f"{SMALL}/depths=0+100",
    "longctx_quick": f"{SMALL}/depths=0+100",
}


def _chance(task: str, rows: list[dict[str, Any]]) -> float:
    scored = [r for r in rows if "score" in (r["scores"] or {})]
    if task in ("unanswerable", "longctx_quick"):
        return sum(r["metadata"]["scorer"] == "twin_unanswerable" for r in scored) / len(scored)
    if task == "counterfactual":
        facts = Counter(tuple(r["metadata"]["references"]) for r in scored)
        return max(facts.values()) / len(scored)
    return 0.0


def _write_docs(folder: Path) -> Path:
    folder.mkdir()
    for i in range(8):
        (folder / f"notes{i}.md").write_text(
            f"Notes number {i} on the harbour, where the boats come in before the storm.\n\n"
            f"The market of district {i} opens at dawn and closes at noon, except on holidays.\n\n"
            f"Paragraph {i}: the valley keeps its snow until late spring in most years.\n", encoding="utf-8")
    return folder


def test_every_longctx_task_is_covered() -> None:
    # A new long-context task must join the canary.
    assert set(VARIANTS) == {entry.name for entry in task_entries() if entry.family == "longctx"}


@pytest.mark.parametrize("task", sorted(VARIANTS))
def test_echo_scores_at_or_below_chance(task: str, store: Any, tmp_path: Path) -> None:
    docs = _write_docs(tmp_path / "docs")
    context = TaskContext(options={"haystack_dir": str(docs)})
    result = Runner(ScriptedModel("echo", None), store).run(
        [get_task(f"{task}:{VARIANTS[task]}")], RunOptions(seed=11, context=context, show_progress=False))
    rows = list(store.iter_samples(result.run_id))
    scores = [float(r["scores"]["score"]) for r in rows if "score" in (r["scores"] or {})]
    assert scores, f"{task}: no scored samples"
    mean = sum(scores) / len(scores)
    assert mean <= _chance(task, rows), f"{task}: echo scores {mean:.3f}, chance {_chance(task, rows):.3f}"
    labels = Counter((r["metadata"] or {}).get("label") for r in rows)
    assert not labels.keys() & {"correct", "correct_decline", "doc"}, labels
