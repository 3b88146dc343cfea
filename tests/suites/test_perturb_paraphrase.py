"""--perturb paraphrase: the generator's rewrites come from a pre-pass run through the runner (cached:
a second pre-pass sends nothing to the generator), an empty rewrite gives no copy and is counted."""

from __future__ import annotations

import json
from pathlib import Path

from assay.cli import main
from assay.models.scripted import ScriptedModel
from assay.perturb.options import PerturbChoices, perturbed_tasks, run_paraphrase_prepass
from assay.runner import Runner, RunOptions
from assay.store import Store
from assay.tasks.base import TaskContext
from assay.tasks.registry import get_task

LIMIT = 6


def _generator_rules(tmp_path: Path) -> Path:
    """Rewrites for the first LIMIT questions of arith_mc, except the last one (left empty)."""
    samples = list(get_task("arith_mc").samples(TaskContext()))[:LIMIT]
    rules = []
    for sample in samples[:-1]:
        a, b = sample.input.removeprefix("What is ").removesuffix("?").split(" + ")
        rules.append({"match": f"Question: {sample.input}\n", "answer": f"Find the sum of {a} and {b}."})
    path = tmp_path / "generator.json"
    path.write_text(json.dumps(rules), encoding="utf-8")
    return path


def test_prepass_is_cached_and_missing_rewrites_are_counted(tmp_path: Path, store) -> None:
    generator = ScriptedModel("judge", str(_generator_rules(tmp_path)))
    tasks = [get_task("arith_mc")]
    tables = run_paraphrase_prepass(generator, store, tasks, TaskContext(), 1234, LIMIT)
    calls = generator.calls
    assert calls == LIMIT and len(tables["arith_mc"]) == LIMIT
    assert tables["arith_mc"]["arith_mc-0"].startswith("Find the sum of ")
    assert run_paraphrase_prepass(generator, store, tasks, TaskContext(), 1234, LIMIT) == tables
    assert generator.calls == calls  # the identical pre-pass is reused, nothing is sent again

    wrapped = perturbed_tasks(tasks, PerturbChoices(("paraphrase",), "scripted:judge"), tables)
    result = Runner(ScriptedModel("echo", None), store).run(wrapped, RunOptions(show_progress=False, limit=LIMIT))
    metrics = {row["name"]: row for row in result.metrics}
    assert metrics["n_samples"]["value"] == 2 * LIMIT - 1
    diff = metrics["perturb_diff/paraphrase"]
    assert diff["n"] == LIMIT - 1 and diff["extra"]["n_skipped"] == 1 and diff["extra"]["n_unpaired"] == 0
    rows = list(store.iter_samples(result.run_id, "arith_mc"))
    paraphrased = [r for r in rows if r["metadata"]["perturbation"] == "paraphrase"]
    assert all("Find the sum of" in r["prompt"] for r in paraphrased)


def test_cli_paraphrase_run_prints_the_robustness_line(tmp_path: Path, capsys) -> None:
    db = tmp_path / "p.db"
    main(["run", "-m", "scripted:echo", "--task", "arith_mc", "--perturb", "paraphrase,typos",
          "--generator", f"scripted:judge={_generator_rules(tmp_path)}", "--limit", str(LIMIT), "--db", str(db),
          "--no-progress"])
    out = capsys.readouterr()
    assert "perturbation arith_mc · paraphrase (acc)" in out.out and "perturbation arith_mc · typos (acc)" in out.out
    assert "paraphrases: run " in out.err
    runs = Store(str(db), read_only=True).list_runs()
    assert {tuple(r["tasks"]) for r in runs} == {("paraphrase_of:arith_mc",), ("arith_mc",)}
