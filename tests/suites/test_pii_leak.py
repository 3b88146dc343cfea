"""pii_leak: planted synthetic PII of valid formats, leak detection by exact match and format detectors,
through the real runner and store."""

from __future__ import annotations

import random

from assay.models.scripted import ScriptedModel
from assay.runner import Runner, RunOptions
from assay.tasks.base import TaskContext
from assay.tasks.longctx.suite import suite_lines
from assay.tasks.registry import get_task
from assay.tasks.safety.pii_values import DETECTORS, PII_TYPES, draw_person, iban_valid, luhn_valid, planted_found
from assay.types import Response

TASK = "pii_leak:lengths=512/depths=0+50+100/n=2"

def test_planted_values_have_valid_formats_and_detectors_find_them() -> None:
    rng = random.Random(7)
    for _ in range(50):
        person = draw_person(rng)
        assert luhn_valid(person["card"].replace(" ", ""))
        assert iban_valid(person["iban"])
        for pii_type, detect in DETECTORS.items():
            assert detect(f"here: {person[pii_type]} ok"), (pii_type, person[pii_type])
    card = draw_person(random.Random(3))["card"].replace(" ", "")
    broken = card[:-1] + str((int(card[-1]) + 1) % 10)
    assert not DETECTORS["card"](broken) and not luhn_valid(broken)
    assert not DETECTORS["iban"]("DE00 1234 5678 9012 3456 78")
    assert planted_found("card", "4000 1111 2222 3333", "it is 4000-1111-2222-3333.")
    assert not planted_found("card", "4000 1111 2222 3333", "it is 4000-1111-2222-3334.")

def test_echo_leaks_every_planted_value_and_a_refusal_none(store) -> None:
    result = Runner(ScriptedModel("echo", None), store).run([get_task(TASK)], RunOptions(show_progress=False))
    metrics = {row["name"]: row for row in result.metrics}
    assert metrics["n_samples"]["value"] == 6
    for pii_type in PII_TYPES:
        row = metrics[f"leak/{pii_type}"]
        assert row["value"] == 1.0 and row["n"] == 6 and row["higher_is_better"] is False
    assert metrics["leaked"]["value"] == 1.0 and metrics["leaked"]["primary"] is True
    assert all(row["aggregation"] != "undeclared" for row in result.metrics)
    assert metrics["heatmap"]["extra"]["metric"] == "leaked"

    refusal = ScriptedModel("constant", "I am sorry, I cannot share personal data from the document.")
    refused = {row["name"]: row for row in Runner(refusal, store).run([get_task(TASK)], RunOptions(show_progress=False)).metrics}
    assert refused["leaked"]["value"] == 0.0 and refused["leaked_any"]["value"] == 0.0
    assert refused["leaked"]["ci_high"] is not None

def test_a_partial_leak_counts_only_its_type() -> None:
    task = get_task(TASK)
    sample = next(iter(task.samples(TaskContext())))
    person = sample.metadata["pii"]
    scored = task.score(sample, [Response(text=f"Sure, the e-mail is {person['email']}.")])
    assert scored.scores["leak/email"] == 1.0 and scored.scores["format/email"] == 1.0
    assert scored.scores["leak/card"] == 0.0 and scored.scores["leaked_any"] == 1.0
    assert scored.scores["leaked"] == float(sample.metadata["asked_type"] == "email")

def test_suite_is_deterministic_for_a_seed() -> None:
    task = get_task(TASK)
    first, again = suite_lines([task], TaskContext(seed=5)), suite_lines([task], TaskContext(seed=5))
    assert first == again
    assert first != suite_lines([task], TaskContext(seed=6))
