"""Every command of README.md's "What you can do" block runs, with stdout piped (as into a log file), and
no table cell in its output is cut or wrapped. The commands are adapted to a test: small limits, a
temporary database and folder, scripted models (deterministic verdicts for judges and arenas), a local fake
OpenAI server. The commands that take a model run on the embedded model in test_cli_readme_embedded.py; those
whose scripted run would only repeat that one run there alone. The README is read: a command added there and
adapted in neither file fails `test_every_readme_command_is_covered`."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from readme_support import HARROW_RULES, Workspace, readme_commands, truncation_problems
from test_cli_readme_embedded import ON_EMBEDDED

from assay.data_paths import default_data_dir

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# ---- the adapted commands, keyed by the README line ------------------------------------------------------

def main_job(ws: Workspace) -> None:
    stdout = ws.run("longctx", "--model", "scripted:echo")
    # The README says where the PNGs go: assay_out/ in the working folder, and the path is printed.
    pngs = list((ws.folder / "assay_out").glob("*.png"))
    assert pngs and str(pngs[0]) in stdout


def arith_run(ws: Workspace) -> None:
    stdout = ws.run("a", "--model", "scripted:echo", "--task", "arith,arith_mc", "--limit", "5")
    assert "95% CI" in stdout and "n_request_errors" in stdout
    ws.run("b", "--model", "scripted:constant=7", "--task", "arith,arith_mc", "--limit", "5")  # for compare






def openai_bbh(ws: Workspace) -> None:
    if ws.needs_data("bbh_cot", "bbh"):
        ws.run("openai", "--model", f"openai:{ws.openai_url}#fake-model", "--task", "bbh_cot:boolean_expressions",
               "--concurrency", "32", "--limit", "2", "--data-dir", str(ws.data_dir))












def listing(ws: Workspace) -> None:
    for what in ("tasks", "models", "runs"):
        stdout = ws.assay("list", what)
        json.loads(ws.assay("list", what, "--json"))
        if what == "runs":
            # Full model specs and task lists, each on one line.
            assert "scripted:constant=7" in stdout and "arith,arith_mc" in stdout
            assert all(run_id in stdout for run_id in ws.runs.values())
        if what == "tasks":
            assert len(stdout.splitlines()) < 60


def show(ws: Workspace) -> None:
    assert ws.runs["a"] in ws.assay("show", ws.runs["a"])
    assert json.loads(ws.assay("show", ws.runs["a"], "--json"))["id"] == ws.runs["a"]


def compare(ws: Workspace) -> None:
    assert "paired comparison" in ws.assay("compare", ws.runs["a"], ws.runs["b"])


def power(ws: Workspace) -> None:
    assert "samples per model" in ws.assay("power", "--baseline", "0.6", "--delta", "0.02")
    assert "pairs" in ws.assay("power", "--baseline", "0.6", "--delta", "0.02", "--paired-corr", "0.5")


def report(ws: Workspace) -> None:
    ws.assay("report", ws.runs["a"], ws.runs["b"], "-o", "report.html")
    assert (ws.folder / "report.html").stat().st_size > 10_000


def heatmap(ws: Workspace) -> None:
    stdout = ws.assay("heatmap", ws.runs["longctx"], "--out-dir", "pngs")
    pngs = list((ws.folder / "pngs").glob("*.png"))
    assert pngs and str(pngs[0]) in stdout


def suite_dump(ws: Workspace) -> None:
    ws.assay("suite", "dump", "--task", "niah_single", "-o", "suite.jsonl")
    assert len((ws.folder / "suite.jsonl").read_text().splitlines()) > 0


def export(ws: Workspace) -> None:
    for fmt in ("jsonl", "csv", "parquet"):
        ws.assay("export", ws.runs["a"], "--format", fmt, "-o", f"a.{fmt}")
        assert (ws.folder / f"a.{fmt}").stat().st_size > 0


def db_upgrade(ws: Workspace) -> None:
    assert ws.assay("db", "upgrade").strip().endswith("up to date")  # made by this version's `assay run`s
    assert ws.assay("db", "upgrade", "--db", ws.env["ASSAY_DB"]).strip().endswith("up to date")


def serve(ws: Workspace) -> None:
    pytest.importorskip("uvicorn", reason="assay serve needs the web extra")
    port = _free_port()
    env = {k: v for k, v in ws.env.items() if k != "ASSAY_ADMIN_TOKEN"}
    process = subprocess.Popen([sys.executable, "-m", "assay.cli", "serve", "--port", str(port)], cwd=ws.folder,
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                page = httpx.get(f"http://127.0.0.1:{port}/", timeout=30)
                break
            except httpx.TransportError:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"assay serve did not come up: {process.stdout.read() if process.stdout else ''}")
                time.sleep(0.2)
        assert page.status_code == 200 and "Leaderboard" in page.text
        runs = httpx.get(f"http://127.0.0.1:{port}/api/runs", timeout=30).json()
        assert set(ws.runs.values()) <= {r["id"] for r in runs}
        assert httpx.get(f"http://127.0.0.1:{port}/runs/{ws.runs['a']}", timeout=30).status_code == 200
    finally:
        process.terminate()
        process.wait(timeout=20)


def _judge_rules(ws: Workspace) -> str:
    rules = ws.folder / "judge.rules.json"
    rules.write_text(json.dumps([{"match": "assistant A", "answer": "[[A]]"},
                                 {"match": "score", "answer": '{"score": 7, "reason": "fine"}'}]), encoding="utf-8")
    return f"scripted:judge={rules}"


def judge(ws: Workspace) -> None:
    stdout = ws.assay("judge", ws.runs["a"], "--judge", _judge_rules(ws), "--rubric", "helpfulness", "--no-progress")
    assert "rubric_score" in stdout


def battle(ws: Workspace) -> None:
    stdout = ws.assay("battle", ws.runs["a"], ws.runs["b"], "--judge", _judge_rules(ws), "--no-progress")
    assert "position" in stdout


def import_judgments(ws: Workspace) -> None:
    if ws.needs_data("import judgments", "judges", "arena"):
        llmbar = ws.data_dir / "judges" / "llmbar" / "Processed" / "MT-Bench"
        ws.assay("import", "judgments", str(llmbar), "--format", "llmbar")
        alpaca = ws.data_dir / "arena" / "alpaca_eval" / "NullModel" / "annotations.json"
        ws.assay("import", "judgments", str(alpaca), "--format", "alpaca_eval")


def agreement(ws: Workspace) -> None:
    ws.assay("agreement")
    if ws.data_dir is not None and (ws.data_dir / "judges").is_dir():
        assert json.loads(ws.assay("agreement", "--reference", "label", "--json"))


def bias(ws: Workspace) -> None:
    ws.assay("bias")
    json.loads(ws.assay("bias", "--json"))


def arena(ws: Workspace) -> None:
    stdout = ws.assay("arena", "--rounds", "50")
    assert "scripted:echo" in stdout
    json.loads(ws.assay("arena", "--rounds", "50", "--json"))


def winrate(ws: Workspace) -> None:
    ws.assay("winrate", "--baseline", "scripted:echo")
    if ws.data_dir is not None and (ws.data_dir / "arena").is_dir():
        result = json.loads(ws.assay("winrate", "--baseline", "gpt4_1106_preview", "--json"))
        assert result




def import_predictions(ws: Workspace) -> None:
    if ws.needs_data("import predictions", "longdoc"):
        predictions = ws.data_dir / "longdoc" / "leval_quality" / "predictions" / "gpt4-32k.quality.pred.jsonl"
        ws.assay("import", "predictions", str(predictions), "--task", "leval_quality", "--model", "gpt4-32k",
                 "--data-dir", str(ws.data_dir))
        assert "imported:gpt4-32k" in ws.assay("list", "runs")




def _rules(ws: Workspace, name: str, rules: list[dict[str, object]]) -> str:
    path = ws.folder / f"{name}.rules.json"
    path.write_text(json.dumps(rules), encoding="utf-8")
    return f"scripted:judge={path}"


def docqa_generate(ws: Workspace) -> None:
    docs = ws.folder / "docqa-docs"
    docs.mkdir()
    example = Path(__file__).resolve().parents[2] / "examples" / "docs" / "harrow_mill.md"
    (docs / example.name).write_text(example.read_text(encoding="utf-8"), encoding="utf-8")
    ws.assay("docqa", "generate", "--docs", str(docs), "--generator", _rules(ws, "generator", HARROW_RULES),
             "--types", "factual,no_info", "--per-doc", "1", "-o", "set.jsonl")
    assert (ws.folder / "set.jsonl").stat().st_size > 0


def docqa_run(ws: Workspace) -> None:
    oracle = ws.folder / "docqa-oracle.json"
    oracle.write_text(json.dumps({"Harrow Mill": "Edith Calloway built the mill."}), encoding="utf-8")
    ws.run("docqa", "--model", f"scripted:oracle={oracle}", "--task", f"docqa:{ws.folder / 'set.jsonl'}")


def docqa_judge(ws: Workspace) -> None:
    ws.assay("docqa", "judge", ws.runs["docqa"], "--judge", _rules(ws, "judge", HARROW_RULES), "--no-progress")


def docqa_battle(ws: Workspace) -> None:
    ws.assay("docqa", "battle", ws.runs["docqa"], "--judge", _rules(ws, "judge", HARROW_RULES), "--no-progress")


def meta_eval(ws: Workspace) -> None:
    if ws.needs_data("meta-eval", "faithfulness"):
        result = json.loads(ws.assay("meta-eval", "--resamples", "20", "--data-dir", str(ws.data_dir), "--json"))
        assert result
        ws.assay("meta-eval", "--resamples", "20", "--data-dir", str(ws.data_dir))










def contamination(ws: Workspace) -> None:
    if ws.needs_data("contamination", "gsm8k"):
        first = json.loads((ws.data_dir / "gsm8k" / "test.jsonl").read_text(encoding="utf-8").splitlines()[0])
        corpus = ws.folder / "corpus"
        corpus.mkdir()
        (corpus / "leak.txt").write_text("Found online: " + first["question"], encoding="utf-8")
        (corpus / "clean.txt").write_text("Nothing to see here but ordinary prose about gardens.", encoding="utf-8")
        stdout = ws.assay("contamination", "--task", "gsm8k", "--corpus", str(corpus), "--limit", "20",
                          "--data-dir", str(ws.data_dir))
        assert "1" in stdout




def version(ws: Workspace) -> None:
    assert ws.assay("--version").startswith("assay ")
    assert "lock: " in ws.assay("--version", "--verbose")


ADAPTED: dict[str, Callable[[Workspace], None]] = {
    "assay run": main_job,
    "assay run --model embedded --task arith,arith_mc --limit 50": arith_run,
    "assay run --model openai:http://127.0.0.1:8080/v1#my-model --task bbh_cot:boolean_expressions --concurrency 32":
        openai_bbh,
    "assay list tasks | models | runs [--json]": listing,
    "assay show RUN [--json]": show,
    "assay compare RUN_A RUN_B": compare,
    "assay power --baseline 0.6 --delta 0.02 [--paired-corr 0.5]": power,
    "assay report RUN [RUN ...] -o report.html": report,
    "assay heatmap RUN [--out-dir DIR]": heatmap,
    "assay suite dump --task niah_single -o suite.jsonl": suite_dump,
    "assay export RUN --format jsonl|csv|parquet -o FILE": export,
    "assay db upgrade [--db URL]": db_upgrade,
    "assay serve [--db URL] [--host 127.0.0.1] [--port 8000]": serve,
    "assay judge RUN --judge embedded [--rubric helpfulness|correctness|FILE]": judge,
    "assay battle RUN_A RUN_B --judge SPEC": battle,
    "assay import judgments PATH --format llmbar|prd|alpaca_eval|jsonl": import_judgments,
    "assay agreement [--judge NAME] [--reference human|label] [--json]": agreement,
    "assay bias [--json]": bias,
    "assay arena [--task T] [--json]": arena,
    "assay winrate --baseline MODEL [--json]": winrate,
    "assay import predictions FILE --task leval_quality --model LABEL": import_predictions,
    "assay docqa generate --docs DIR --generator embedded -o set.jsonl": docqa_generate,
    "assay run --model embedded --task docqa:set.jsonl": docqa_run,
    "assay docqa judge RUN --judge embedded": docqa_judge,
    "assay docqa battle RUN --judge embedded": docqa_battle,
    "assay meta-eval [--json]": meta_eval,
    "assay contamination --task gsm8k --corpus DIR [--model SPEC]": contamination,
    "assay --version [--verbose]": version,
}


def test_every_readme_command_is_covered() -> None:
    commands = readme_commands()
    assert len(commands) >= 15, commands
    missing = [c for c in commands if c not in ADAPTED and c not in ON_EMBEDDED]
    assert not missing, f"README commands adapted neither here nor in test_cli_readme_embedded.py: {missing}"
    stale = [c for c in ADAPTED if c not in commands]
    assert not stale, f"adapted here but not in the README: {stale}"


def test_truncation_check_catches_a_narrow_table() -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table()
    for column in ("task", "metric", "method"):
        table.add_column(column)
    table.add_row("niah_multikey", "variant/single_unanswerable", "clustered_wilson(20 clusters)")
    console = Console(width=40, record=True, file=open(os.devnull, "w"))  # noqa: SIM115
    console.print(table)
    assert truncation_problems(console.export_text())


def test_readme_commands_run_with_piped_output(tmp_path: Path) -> None:
    from servers.fake_openai import Behaviour, FakeOpenAIServer

    env = {**os.environ, "ASSAY_DB": f"sqlite:///{tmp_path / 'assay.db'}", "OMP_NUM_THREADS": "1"}
    env.pop("COLUMNS", None)
    workspace = Workspace(tmp_path, env, data_dir=default_data_dir())
    with FakeOpenAIServer(Behaviour()) as server:
        workspace.openai_url = server.base_url
        for command in readme_commands():
            if command in ADAPTED:
                ADAPTED[command](workspace)
    if workspace.skipped:
        pytest.skip(f"../shared/data missing: not run: {workspace.skipped}")
