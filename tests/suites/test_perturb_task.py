"""--perturb: perturbed copies paired with their originals, through the real runner and store, with a
scripted oracle that knows only the clean questions (a planted robustness failure)."""

from __future__ import annotations

import json
import random
from pathlib import Path

from assay.models.scripted import ScriptedModel
from assay.perturb import FIXED
from assay.perturb.base import rng_for
from assay.perturb.options import PerturbChoices, perturbed_tasks
from assay.perturb.report import paired_entries, robustness_lines
from assay.perturb.typos import add_typos
from assay.runner import Runner, RunOptions
from assay.tasks.base import TaskContext
from assay.tasks.registry import get_task
from assay.types import Sample

N = 30


def _oracle(tmp_path: Path, task_name: str) -> ScriptedModel:
    """Knows the answer of every clean question of the task (read from the task's own samples)."""
    table = {}
    for sample in get_task(task_name).samples(TaskContext()):
        table[f"Question: {sample.input}\n"] = sample.choices[sample.target] if sample.choices else sample.target
    path = tmp_path / "oracle.json"
    path.write_text(json.dumps(table), encoding="utf-8")
    return ScriptedModel("oracle", str(path))


def _run(store, model, names):
    tasks = perturbed_tasks([get_task("arith_mc")], PerturbChoices(tuple(names)))
    result = Runner(model, store).run(tasks, RunOptions(show_progress=False, limit=N))
    return {row["name"]: row for row in result.metrics}, result


def test_an_oracle_of_the_clean_questions_breaks_under_typos_not_under_option_shuffle(store, tmp_path) -> None:
    metrics, result = _run(store, _oracle(tmp_path, "arith_mc"), ["typos", "option_shuffle"])
    assert metrics["acc"]["value"] == 1.0 and metrics["acc"]["n"] == N and metrics["n_samples"]["value"] == 3 * N
    typos = metrics["perturb_diff/typos"]
    assert typos["method"] == "mcnemar" and typos["n"] == N and typos["higher_is_better"] is True
    assert typos["value"] == metrics["acc@typos"]["value"] - 1.0 < -0.4
    assert typos["ci_high"] < 0 and typos["extra"]["p_value"] < 0.001
    assert typos["extra"]["clean"] == 1.0 and typos["extra"]["n_unchanged"] == 0
    flips = metrics["flip_rate/typos"]
    assert flips["value"] == 1.0 - metrics["acc@typos"]["value"] and flips["ci_low"] < flips["value"] < flips["ci_high"]
    assert metrics["flip_to_wrong/typos"]["value"] == flips["value"] and metrics["flip_to_wrong/typos"]["n"] == N
    assert metrics["flip_to_wrong/typos"]["higher_is_better"] is False
    shuffle = metrics["perturb_diff/option_shuffle"]
    assert shuffle["value"] == 0.0 and shuffle["extra"]["p_value"] == 1.0 and metrics["flip_rate/option_shuffle"]["value"] == 0.0
    assert all(row["aggregation"] != "undeclared" for row in result.metrics)
    stored = {row["name"]: row for row in store.get_metrics(result.run_id)}
    assert stored["perturb_diff/typos"]["extra"]["p_value"] == typos["extra"]["p_value"]
    entries = {e["condition"]: e for e in paired_entries(stored.values())}
    assert entries["typos"]["flip_rate"]["value"] == flips["value"] and entries["typos"]["metric"] == "acc"
    assert any(line.startswith("perturbation arith_mc · typos (acc): clean 1.000") for line in robustness_lines(result.metrics))


def test_the_clean_copy_is_the_plain_sample_and_copies_share_its_cluster() -> None:
    plain = list(get_task("arith_mc").samples(TaskContext(seed=3)))[:5]
    task = perturbed_tasks([get_task("arith_mc")], PerturbChoices(("case", "option_shuffle")))[0]
    samples = list(task.samples(TaskContext(seed=3)))[:15]
    assert [s.id for s in samples[:3]] == ["arith_mc-0", "arith_mc-0~case", "arith_mc-0~option_shuffle"]
    assert samples[0].input == plain[0].input and samples[0].cluster is None
    assert {s.cluster for s in samples[1:3]} == {"arith_mc-0"}
    for original, shuffled in zip(plain, samples[2::3], strict=True):
        assert shuffled.choices != original.choices and sorted(shuffled.choices) == sorted(original.choices)
        assert shuffled.choices[shuffled.target] == original.choices[original.target]
    assert task.requests(samples[1])[0].context == f"Question: {samples[1].input}\nAnswer:"


def test_text_perturbations_keep_numbers_and_touch_only_the_question() -> None:
    text = "Natalia sold clips to 48 of her friends in April, and then she sold half as many clips in May."
    for seed in range(20):
        changed = add_typos(text, random.Random(seed))
        assert changed != text and [w for w in changed.split() if w.isdigit()] == ["48"]
    prefix = "Q: Exemplar question here?\nA: The answer is 3.\n\n"
    sample = Sample(id="7", input=f"{prefix}Q: {text}\nA:", target="72", metadata={"question": text})
    for name in ("typos", "case", "whitespace", "distractor"):
        changed = FIXED[name].apply(sample, rng_for(1, name, "7"))
        assert changed.input.startswith(prefix) and changed.input.endswith("\nA:") and changed.input != sample.input
        assert changed.metadata["question"] in changed.input and changed.target == "72"
