"""Adversarial set generation: variants that flip the target are kept (and only those), written as a
versioned set with the source task's spec hash, and run back as a task scored by the source's scorer."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path

import pytest

from assay.adversarial import generate_variants, spec_sha256, write_set
from assay.cli import main
from assay.errors import AssayError
from assay.models.scripted import ScriptedModel
from assay.runner import Runner, RunOptions
from assay.tasks.base import TaskContext
from assay.tasks.registry import get_task
from assay.types import GenerateRequest, Response

_QUESTION = re.compile(r"Question:\n(.*?)\n\nRewritten question:", re.S)
_SUM = re.compile(r"(\d+) \+ (\d+)")


class Rewriter(ScriptedModel):
    """Adds a distractor sentence; leaves the question unchanged for other kinds (counted, not kept)."""

    def __init__(self) -> None:
        super().__init__("echo", None)

    def generate(self, requests: Sequence[GenerateRequest]) -> list[Response]:
        out = []
        for request in requests:
            question = _QUESTION.search(request.prompt or "").group(1)
            distract = "irrelevant numbers" in (request.prompt or "")
            out.append(Response(text=("Rewritten question: There are 7 apples. " + question) if distract else question))
        return out


class DistractibleSolver(ScriptedModel):
    """Adds correctly unless the question mentions apples, then answers 7; gets item 0 wrong anyway."""

    def __init__(self) -> None:
        super().__init__("echo", None)

    def generate(self, requests: Sequence[GenerateRequest]) -> list[Response]:
        out = []
        for request in requests:
            a, b = map(int, _SUM.search(request.prompt or "").groups())
            wrong = "apples" in (request.prompt or "") or (a, b) == self.first
            out.append(Response(text="7" if wrong else str(a + b)))
        return out


def test_flipping_variants_are_kept_written_and_run_back(tmp_path: Path, store) -> None:
    task = get_task("arith")
    samples = list(task.samples(TaskContext(seed=1)))[:6]
    solver = DistractibleSolver()
    solver.first = tuple(map(int, _SUM.search(str(samples[0].input)).groups()))
    outcome = generate_variants(task, samples, Rewriter(), solver, ["distractor", "rename"], seed=1)
    assert [v["source_id"] for v in outcome.variants] == [s.id for s in samples[1:]]
    assert all(v["kind"] == "distractor" and v["rewritten"].startswith("There are 7 apples.") for v in outcome.variants)
    assert outcome.counts == {"kept_flipped": 5, "original_already_wrong": 2, "empty_or_unchanged": 5}
    path = tmp_path / "arith-adv.jsonl"
    write_set(path, task, outcome, Rewriter(), solver, ["distractor", "rename"], 1, len(samples))
    header = json.loads(path.read_text().splitlines()[0])
    assert header["version"] == 1 and header["source_spec_sha256"] == spec_sha256(task)
    assert header["counts"]["kept_flipped"] == 5

    adversarial = get_task(f"adversarial:{path}")
    result = Runner(solver, store).run([adversarial], RunOptions(show_progress=False))
    metrics = {row["name"]: row for row in result.metrics}
    assert metrics["exact_match"]["value"] == 0.0 and metrics["exact_match"]["n"] == 5
    assert metrics["exact_match"]["primary"] is True

    header["source_spec_sha256"] = "0" * 64
    stale = tmp_path / "stale.jsonl"
    stale.write_text("\n".join([json.dumps(header), *path.read_text().splitlines()[1:]]) + "\n")
    with pytest.raises(AssayError, match="regenerate the set"):
        get_task(f"adversarial:{stale}")


def test_cli_writes_a_set_and_refuses_to_overwrite(tmp_path: Path, capsys) -> None:
    out = tmp_path / "set.jsonl"
    argv = ["adversarial", "--task", "arith", "--generator", "scripted:constant=What is 1 + 1? Answer with a number.",
            "--model", "scripted:echo", "-o", str(out), "--limit", "3", "--kinds", "rename"]
    main(argv)
    header = json.loads(out.read_text().splitlines()[0])
    assert header["source_task"] == "arith" and header["n_source_items"] == 3
    assert sum(header["counts"].values()) == 3
    capsys.readouterr()
    with pytest.raises(SystemExit) as stopped:
        main(argv)
    assert stopped.value.code == 2 and "never overwritten" in capsys.readouterr().err
    with pytest.raises(SystemExit) as stopped:
        main([*argv[:-2], "--kinds", "typos"])
    assert stopped.value.code == 2 and "--kinds: expected some of negation" in capsys.readouterr().err
