"""Every README command that takes a model (`--model`, `--judge`, `--generator`, or `assay run`'s default, the
embedded model) runs once on the embedded model, as the README writes it apart from limits and paths, with stdout
piped: scripted models prove a command's plumbing, these runs the model path a user's command takes (the main job
once crashed for every user while every scripted run passed). Each stored run is read back: samples with outputs, no
failed request. test_cli_readme.py runs the other README lines, and those whose checks need a scripted model's
deterministic replies (judge verdicts, arena ratings)."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from readme_support import Workspace, readme_commands

from assay.data_paths import default_data_dir
from assay.models.embedded import gguf_path
from assay.store import Store

pytestmark = pytest.mark.slow

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

# There the option names stored results (the system whose predictions are imported, the judge whose judgments are
# compared): no model is loaded.
NOT_A_MODEL = {"assay import predictions FILE --task leval_quality --model LABEL",
               "assay agreement [--judge NAME] [--reference human|label] [--json]"}
# The line is about the openai: backend: test_cli_readme.py runs it against a local fake OpenAI server.
OTHER_BACKEND = {"assay run --model openai:http://127.0.0.1:8080/v1#my-model --task bbh_cot:boolean_expressions "
                 "--concurrency 32"}


def takes_model(command: str) -> bool:
    """`assay run` without --model runs the embedded model; other commands take one by an option."""
    return command not in NOT_A_MODEL and (command.split()[:2] == ["assay", "run"]
                                           or re.search(r"--(model|judge|generator)\b", command) is not None)


def run_id(stdout: str, label: str = "run id") -> str:
    found = re.search(rf"^{label}: (\w+)", stdout, flags=re.M)
    assert found, f"no '{label}:' line in: {stdout[-1500:]}"
    return found.group(1)


def check_stored(ws: Workspace, run: str) -> list[dict]:
    """The run's samples: some, each with a model output (text or log-likelihood), no failed request. An unreadable
    answer is the small model's result, not a failure."""
    store = Store(ws.env["ASSAY_DB"], read_only=True)
    try:
        rows = list(store.iter_samples(run))
    finally:
        store.close()
    assert rows, f"run {run}: no samples stored"
    failed = [(r["sample_id"], r["error"]) for r in rows if r["error_kind"] == "request_failed"]
    assert not failed, f"run {run}: failed requests: {failed[:3]}"
    for row in rows:
        outputs = [o for o in row["responses"] if o.get("text") is not None or o.get("logprob") is not None]
        assert outputs, f"run {run} sample {row['sample_id']}: no model output: {row['responses']}"
    return rows


def stored_run(ws: Workspace, name: str, *args: str) -> str:
    """`assay run ...` on the embedded model: the metrics table, no request error, stored outputs."""
    stdout = ws.run(name, *args)
    assert "n_request_errors" in stdout and "95% CI" in stdout, stdout[-1500:]
    check_stored(ws, ws.runs[name])
    return stdout


# ---- the adapted commands, keyed by the README line ------------------------------------------------------

def main_job(ws: Workspace) -> None:
    """The cells of lengths 512 and 1024, each with its three variants (the full grid runs verbatim in CI's Quickstart
    step): enough for continuous batching to admit rows into a running batch, where the main job once crashed for
    every user (`--limit 20` did not get there)."""
    stdout = stored_run(ws, "main", "--limit", "30")
    assert re.search(r"^\s*run \w+ — embedded\s*$", stdout, flags=re.M), stdout[:500]  # the default model
    # The length itself is the model's score: "none of the tested lengths" is an answer too.
    assert re.search(r"^effective context length: .*per-length scores 512:[\d.]+, 1024:[\d.]+\)?$", stdout,
                     flags=re.M), stdout[-1500:]
    pngs = list((ws.folder / "assay_out").glob("*_longctx_quick_heatmap.png"))
    assert len(pngs) == 1 and str(pngs[0]) in stdout
    assert pngs[0].read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    rows = check_stored(ws, ws.runs["main"])
    assert {r["metadata"]["variant"] for r in rows} == {"single", "single_unanswerable", "multikey"}


def arith_run(ws: Workspace) -> None:
    stored_run(ws, "arith", "--model", "embedded", "--task", "arith,arith_mc", "--limit", "2")


def hf_gsm8k(ws: Workspace) -> None:
    if ws.needs_data("gsm8k:cot8", "gsm8k"):
        stored_run(ws, "gsm8k", "--model", f"hf:{gguf_path()}", "--task", "gsm8k:cot8", "--limit", "1",
                   "--data-dir", str(ws.data_dir))


def model_args(ws: Workspace) -> None:
    """The README's line is for a GPU (device=cuda); CI has none."""
    stored_run(ws, "hf_args", "--model", f"hf:{gguf_path()}", "--model-args", "device=cpu,dtype=float32,batch_size=2",
               "--task", "arith", "--limit", "1")


def ray_workers(ws: Workspace) -> None:
    """A local Ray cluster, each worker loading the model: no slower than on scripted:echo (Ray's start dominates)."""
    stored_run(ws, "ray", "--model", "embedded", "--task", "arith,arith_mc", "--executor", "ray", "--workers", "2",
               "--limit", "2")


def own_haystack(ws: Workspace) -> None:
    docs = ws.folder / "my-docs"
    docs.mkdir()
    sentences = [f"The {i}th lantern of the harbour was lit at dusk by keeper number {i % 13}." for i in range(400)]
    for part in range(2):
        (docs / f"doc{part}.txt").write_text(" ".join(sentences[part::2]) + "\n", encoding="utf-8")
    stored_run(ws, "haystack", "--model", "embedded", "--task", "niah_single", "--haystack", str(docs), "--limit", "1")


def prompt_formats(ws: Workspace) -> None:
    if ws.needs_data("musr", "musr"):
        stored_run(ws, "musr", "--model", "embedded", "--task", "musr:team_allocation", "--prompt-formats", "4",
                   "--limit", "1", "--data-dir", str(ws.data_dir))


def repeats(ws: Workspace) -> None:
    stored_run(ws, "repeats", "--model", "embedded", "--task", "arith", "--repeats", "5", "--limit", "1")
    rows = check_stored(ws, ws.runs["repeats"])
    assert len(rows) == 5, [r["sample_id"] for r in rows]  # one item, sampled five times


def yaml_task(ws: Workspace) -> None:
    stdout = stored_run(ws, "yaml", "--task", str(EXAMPLES / "tasks" / "science_mc.yaml"), "--limit", "2")
    assert re.search(r"^\s*run \w+ — embedded\s*$", stdout, flags=re.M), stdout[:500]  # the default model


def python_task(ws: Workspace) -> None:
    stdout = stored_run(ws, "python_task", "--task", str(EXAMPLES / "python" / "capitals.py") + ":capitals",
                        "--limit", "2")
    assert re.search(r"^\s*run \w+ — embedded\s*$", stdout, flags=re.M), stdout[:500]  # the default model
    assert re.search(r"capitals\s+│\s+exact\b", stdout), stdout[:1500]


def judge(ws: Workspace) -> None:
    """The small judge's verdicts may all be unreadable (counted, not scored); its requests must all be answered.
    --max-tokens 48 (of 256) is a limit like --limit: a verdict is a few tokens, the small judge rambles on."""
    stdout = ws.assay("judge", ws.runs["arith"], "--judge", "embedded", "--rubric", "helpfulness", "--limit", "1",
                      "--max-tokens", "48")
    assert re.search(r"^judge:arith: judge errors: \d+ unreadable", stdout, flags=re.M), stdout[-1500:]
    check_stored(ws, run_id(stdout, "judge run id"))


def battle(ws: Workspace) -> None:
    stdout = ws.assay("battle", ws.runs["arith"], ws.runs["hf_args"], "--judge", "embedded", "--task", "arith",
                      "--limit", "1", "--max-tokens", "48")
    assert re.search(r"^arith: A wins \d+, B wins \d+, ties \d+", stdout, flags=re.M), stdout[-1500:]
    check_stored(ws, run_id(stdout, "judge run id"))


def leval_quality(ws: Workspace) -> None:
    if ws.needs_data("leval_quality", "longdoc"):
        stored_run(ws, "quality", "--model", "embedded", "--task", "leval_quality", "--limit", "1",
                   "--data-dir", str(ws.data_dir))


def docqa_generate(ws: Workspace) -> None:
    docs = ws.folder / "docqa-docs"
    docs.mkdir()
    example = EXAMPLES / "docs" / "harrow_mill.md"
    (docs / example.name).write_text(example.read_text(encoding="utf-8"), encoding="utf-8")
    stdout = ws.assay("docqa", "generate", "--docs", str(docs), "--generator", "embedded", "--types", "factual,no_info",
                      "--per-doc", "1", "-o", "set.jsonl")
    assert re.search(r"^wrote [1-9]\d* questions about 1 documents", stdout, flags=re.M), stdout


def docqa_run(ws: Workspace) -> None:
    stored_run(ws, "docqa", "--model", "embedded", "--task", f"docqa:{ws.folder / 'set.jsonl'}")


def docqa_judge(ws: Workspace) -> None:
    stdout = ws.assay("docqa", "judge", ws.runs["docqa"], "--judge", "embedded", "--limit", "1")
    found = re.search(r"^claims run id: (\w+); faithfulness run id: (\w+)", stdout, flags=re.M)
    assert found, stdout[-1500:]
    for run in found.groups():
        check_stored(ws, run)


def docqa_battle(ws: Workspace) -> None:
    stdout = ws.assay("docqa", "battle", ws.runs["docqa"], "--judge", "embedded", "--limit", "1", "--max-tokens", "48")
    found = re.search(r"A wins \d+, B wins \d+, ties \d+.*stored as run:(\w+)", stdout)
    assert found, stdout[-1500:]
    check_stored(ws, found.group(1))


def perturb(ws: Workspace) -> None:
    stdout = stored_run(ws, "perturb", "--model", "embedded", "--task", "arith_mc", "--perturb",
                        "typos,case,option_shuffle", "--limit", "2")
    assert "typos" in stdout and "option_shuffle" in stdout


def sycophancy_run(ws: Workspace) -> None:
    stored_run(ws, "syco", "--model", "embedded", "--task", "sycophancy:arith_mc", "--limit", "2")


def sycophancy_pushback(ws: Workspace) -> None:
    stdout = ws.assay("sycophancy", "--model", "embedded", "--task", "arith_mc", "--limit", "2")
    found = re.search(r"^run ids: round 1 (\w+), round 2 (\w+)", stdout, flags=re.M)
    assert found, stdout[-1500:]
    for run in found.groups():
        check_stored(ws, run)


def safety_tasks(ws: Workspace) -> None:
    stdout = stored_run(ws, "safety", "--model", "embedded", "--task",
                        "pii_leak:lengths=512/n=1,injection:lengths=512/n=1")
    assert "leaked" in stdout and "attack_success" in stdout


def contamination(ws: Workspace) -> None:
    if ws.needs_data("contamination", "gsm8k"):
        corpus = ws.folder / "corpus"
        corpus.mkdir()
        (corpus / "clean.txt").write_text("Nothing to see here but ordinary prose about gardens.", encoding="utf-8")
        stdout = ws.assay("contamination", "--task", "gsm8k", "--corpus", str(corpus), "--model", "embedded",
                          "--limit", "2", "--data-dir", str(ws.data_dir))
        assert "0 of 2 items contaminated" in stdout, stdout
        assert re.search(r"^membership scores with embedded .*: 2 texts scored, 0 failed", stdout, flags=re.M), stdout


def adversarial(ws: Workspace) -> None:
    stdout = ws.assay("adversarial", "--task", "arith_mc", "--generator", "embedded", "--model", "embedded",
                      "-o", "adversarial.jsonl", "--limit", "1")
    assert re.search(r"^\d+ variants flip embedded \(of 1 items", stdout, flags=re.M), stdout
    assert (ws.folder / "adversarial.jsonl").stat().st_size > 0


ON_EMBEDDED: dict[str, Callable[[Workspace], None]] = {
    "assay run": main_job,
    "assay run --model embedded --task arith,arith_mc --limit 50": arith_run,
    "assay run --model hf:/path/to/model-or.gguf --task gsm8k:cot8 --limit 100": hf_gsm8k,
    "assay run --model hf:/path/to/model --model-args device=cuda,dtype=bfloat16,batch_size=16 --task arith": model_args,
    "assay run --model embedded --task arith,arith_mc --executor ray --workers 2": ray_workers,
    "assay run --model embedded --task niah_single --haystack ~/my-docs": own_haystack,
    "assay run --model embedded --task musr:team_allocation --prompt-formats 4": prompt_formats,
    "assay run --model embedded --task arith --repeats 5": repeats,
    "assay run --task path/to/task.yaml": yaml_task,
    "assay run --task examples/python/capitals.py:capitals": python_task,
    "assay judge RUN --judge embedded [--rubric helpfulness|correctness|FILE]": judge,
    "assay battle RUN_A RUN_B --judge SPEC": battle,
    "assay run --model embedded --task leval_quality": leval_quality,
    "assay docqa generate --docs DIR --generator embedded -o set.jsonl": docqa_generate,
    "assay run --model embedded --task docqa:set.jsonl": docqa_run,
    "assay docqa judge RUN --judge embedded": docqa_judge,
    "assay docqa battle RUN --judge embedded": docqa_battle,
    "assay run --model embedded --task arith_mc --perturb typos,case,option_shuffle": perturb,
    "assay run --model embedded --task sycophancy:arith_mc": sycophancy_run,
    "assay sycophancy --model embedded --task arith_mc": sycophancy_pushback,
    "assay run --model embedded --task pii_leak,injection": safety_tasks,
    "assay contamination --task gsm8k --corpus DIR [--model SPEC]": contamination,
    "assay adversarial --task arith_mc --generator SPEC --model SPEC -o set.jsonl": adversarial,
}


def test_every_readme_model_command_runs_on_embedded() -> None:
    commands = [c for c in readme_commands() if takes_model(c) and c not in OTHER_BACKEND]
    assert "assay run" in commands and len(commands) >= 15, commands
    missing = [c for c in commands if c not in ON_EMBEDDED]
    assert not missing, f"README commands that take a model, not run on the embedded model here: {missing}"
    stale = [c for c in ON_EMBEDDED if c not in commands]
    assert not stale, f"adapted here but not a README command that takes a model: {stale}"


def test_takes_model_reads_the_options() -> None:
    assert takes_model("assay run") and takes_model("assay run --task path/to/task.yaml")
    assert takes_model("assay contamination --task gsm8k --corpus DIR [--model SPEC]")
    assert takes_model("assay docqa judge RUN --judge embedded")
    assert not takes_model("assay show RUN [--json]")
    assert not takes_model("assay import predictions FILE --task leval_quality --model LABEL")
    assert not takes_model("assay agreement [--judge NAME] [--reference human|label] [--json]")


def test_readme_model_commands_run_on_embedded(tmp_path: Path) -> None:
    env = {**os.environ, "ASSAY_DB": f"sqlite:///{tmp_path / 'assay.db'}", "OMP_NUM_THREADS": "1"}
    env.pop("COLUMNS", None)
    workspace = Workspace(tmp_path, env, data_dir=default_data_dir())
    for command in readme_commands():
        if command in ON_EMBEDDED:
            started = time.monotonic()
            ON_EMBEDDED[command](workspace)
            print(f"{time.monotonic() - started:6.1f} s  {command}")  # shown when the test fails, and with -s
    if workspace.skipped:
        pytest.skip(f"../shared/data missing: not run: {workspace.skipped}")
