"""Every `assay ...` command shown in a code block of docs/*.md runs: adapted to a test (scripted models,
small limits, a temporary database and folder), or listed in NOT_RUN_HERE with the reason (a GPU, a vLLM
server), or run by the README test when it is the README's own command line. A command added to a doc
and not adapted here fails `test_every_doc_command_is_covered`. The options of the commands not run
here are still checked against the CLI, so they cannot go stale either."""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from assay.data_paths import default_data_dir
from cli.readme_support import HARROW_RULES

DOCS = Path(__file__).resolve().parents[2] / "docs"
EXAMPLES = DOCS.parent / "examples"
# The README test's docqa replies, and a rubric score for `assay judge`.
_HARROW_RULES = [*HARROW_RULES, {"match": "score", "answer": '{"score": 4, "reason": "fine"}'}]


def doc_commands() -> list[tuple[str, str]]:
    """(doc file name, command) for every `assay` line in a fenced or indented code block; a trailing
    backslash or an indented next line continues a command, a `  # comment` is dropped."""
    found = []
    for path in sorted(DOCS.glob("*.md")):
        lines = path.read_text(encoding="utf-8").splitlines()
        in_fence = False
        current: str | None = None
        for line in lines:
            if line.strip().startswith("```"):
                in_fence = not in_fence
                current = None
                continue
            if not (in_fence or line.startswith("    ")):
                current = None
                continue
            text = re.sub(r"\s+#\s.*$", "", line).strip()  # a comment, not the '#' of openai:URL#MODEL
            continues = current is not None and (current.endswith("\\") or (line.startswith(" ") and in_fence))
            if continues and text and not text.startswith("assay "):
                current = current.removesuffix("\\").strip() + " " + text
                found[-1] = (path.name, current)
            elif re.match(r"^([A-Z_]+=\S+ )*assay ", text):
                current = text
                found.append((path.name, text))
            else:
                current = None
    return [(doc, " ".join(command.removesuffix("\\").split())) for doc, command in found]


@dataclass
class Workspace:
    folder: Path
    db: str
    capsys: pytest.CaptureFixture[str]
    data_dir: Path | None
    runs: dict[str, str] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)

    def assay(self, *args: str) -> str:
        from assay.cli import main

        self.capsys.readouterr()
        try:
            main(list(args))
        except SystemExit as exc:
            captured = self.capsys.readouterr()
            assert exc.code in (0, None), f"assay {' '.join(args)} failed ({exc.code}): {captured.err[-2000:]}"
            return captured.out
        return self.capsys.readouterr().out

    def run(self, name: str, *args: str) -> str:
        out = self.assay("run", *args, "--no-progress")
        self.runs[name] = _run_id(out)
        return out

    def data(self, command: str, *subfolders: str) -> Path | None:
        if self.data_dir is None or not all((self.data_dir / s).is_dir() for s in subfolders):
            self.skipped.append(command)
            return None
        return self.data_dir

    def rules(self, name: str, rules: list[dict[str, object]] = _HARROW_RULES) -> str:
        path = self.folder / f"{name}.rules.json"
        path.write_text(json.dumps(rules), encoding="utf-8")
        return f"scripted:judge={path}"


def _run_id(out: str) -> str:
    found = re.search(r"^(?:judge )?run id: (\w+)", out, flags=re.M)
    assert found, out[-1000:]
    return found.group(1)


# ---- the adapted commands, keyed by the doc line ---------------------------------------------------------

def capitals(ws: Workspace) -> None:
    from test_architecture_examples import doc_files

    for name in ("capitals.yaml", "capitals.jsonl"):
        (ws.folder / name).write_text(doc_files()[name], encoding="utf-8")
    assert "exact_match" in ws.run("capitals", "--task", "capitals.yaml", "--model", "scripted:echo")


def judge_brevity(ws: Workspace) -> None:
    from test_architecture_examples import doc_files

    (ws.folder / "brevity.yaml").write_text(doc_files()["brevity.yaml"], encoding="utf-8")
    ws.run("arith", "--model", "scripted:echo", "--task", "arith", "--limit", "2")
    out = ws.assay("judge", ws.runs["arith"], "--judge", ws.rules("judge"), "--rubric", "brevity.yaml", "--no-progress")
    assert "rubric_score" in out


def open_questions_a(ws: Workspace) -> None:
    ws.run("open_a", "-m", "scripted:echo", "-t", str(EXAMPLES / "tasks" / "open_questions.yaml"))


def open_questions_b(ws: Workspace) -> None:
    ws.run("open_b", "-m", "scripted:constant=Jupiter", "-t", str(EXAMPLES / "tasks" / "open_questions.yaml"))


def judge_reference(ws: Workspace) -> None:
    out = ws.assay("judge", ws.runs["open_a"], "--judge", ws.rules("judge"), "--rubric", "correctness", "--reference",
                   "--no-progress")
    assert "rubric_score" in out


def python_judged_run(ws: Workspace) -> None:
    ws.run("judged", "--model", "scripted:echo", "--task", str(EXAMPLES / "python" / "judged_answers.py"), "--limit", "2")


def python_judged_judge(ws: Workspace) -> None:
    """No --template: the judge prompt the Python task declares is used, and the judge run's manifest says so."""
    import assay

    out = ws.assay("judge", ws.runs["judged"], "--judge", ws.rules("judge"), "--no-progress")
    assert "rubric_score" in out
    manifest = assay.load_run(_run_id(out), db=ws.db).manifest
    assert "open_answers" in json.dumps(manifest).split('"task_declared"', 1)[1], manifest


def battle(ws: Workspace) -> None:
    out = ws.assay("battle", ws.runs["open_a"], ws.runs["open_b"], "--judge", ws.rules("judge"), "--no-progress")
    assert "position" in out


def import_llmbar(ws: Workspace) -> None:
    if data := ws.data("import llmbar", "judges"):
        ws.assay("import", "judgments", str(data / "judges/llmbar/Processed/MT-Bench"), "--format", "llmbar")


def import_prd(ws: Workspace) -> None:
    if data := ws.data("import prd", "judges"):
        ws.assay("import", "judgments", str(data / "judges/prd/vicuna80"), "--format", "prd")


def import_jsonl(ws: Workspace) -> None:
    lines = [{"item": f"q{i}", "model_a": "m1", "model_b": "m2", "rater": "me", "rater_kind": "human",
              "verdict": "a" if i % 3 else "tie", "order": "ab"} for i in range(6)]
    (ws.folder / "my_judgments.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines), encoding="utf-8")
    assert "6" in ws.assay("import", "judgments", "my_judgments.jsonl", "--format", "jsonl")


def agreement(ws: Workspace) -> None:
    json.loads(ws.assay("agreement", "--json"))


def import_alpaca(ws: Workspace) -> None:
    if data := ws.data("import alpaca_eval", "arena"):
        ws.assay("import", "judgments", str(data / "arena/alpaca_eval/NullModel/annotations.json"), "--format",
                 "alpaca_eval")


def winrate(ws: Workspace) -> None:
    if ws.data("winrate", "arena"):
        assert json.loads(ws.assay("winrate", "--baseline", "gpt4_1106_preview", "--json"))


def arena(ws: Workspace) -> None:
    json.loads(ws.assay("arena", "--method", "bt", "--ties", "half", "--rounds", "20", "--seed", "0", "--json"))


def leval_quality(ws: Workspace, task: str = "leval_quality") -> None:
    if data := ws.data(task, "longdoc"):
        ws.run(task, "--model", "scripted:echo", "--task", task, "--limit", "2", "--data-dir", str(data))


def import_predictions(ws: Workspace) -> None:
    if data := ws.data("import predictions", "longdoc"):
        path = data / "longdoc/leval_quality/predictions/gpt4-32k.quality.pred.jsonl"
        out = ws.assay("import", "predictions", str(path), "--task", "leval_quality", "--model", "gpt4-32k",
                       "--data-dir", str(data))
        ws.runs["imported"] = _run_id(out)


def show(ws: Workspace) -> None:
    if "imported" in ws.runs:
        assert ws.runs["imported"] in ws.assay("show", ws.runs["imported"])


def meta_eval(ws: Workspace) -> None:
    if data := ws.data("meta-eval", "faithfulness"):
        assert ws.assay("meta-eval", "--resamples", "20", "--data-dir", str(data))


def meta_eval_scores(ws: Workspace) -> None:
    if data := ws.data("meta-eval --scores", "faithfulness"):
        records = json.loads((data / "faithfulness/frank/human_annotations.json").read_text(encoding="utf-8"))
        scores = [{"id": f"{r['hash']}/{r['model_name']}", "score": float(index % 7)} for index, r in enumerate(records)]
        (ws.folder / "my_metric.jsonl").write_text("".join(json.dumps(s) + "\n" for s in scores), encoding="utf-8")
        out = ws.assay("meta-eval", "--scores", "my_metric.jsonl", "--resamples", "20", "--data-dir", str(data))
        assert "my_metric" in out


def meta_eval_human(ws: Workspace) -> None:
    from assay.store import Store

    run_id = ws.runs["faithfulness"]
    store = Store(ws.db, read_only=True)
    rows = list(store.iter_samples(run_id))
    store.close()
    people = [{"id": row["sample_id"], "score": (index % 3) / 2} for index, row in enumerate(rows)]
    (ws.folder / "people.jsonl").write_text("".join(json.dumps(p) + "\n" for p in people), encoding="utf-8")
    ws.assay("meta-eval", "--human", "people.jsonl", "--run", f"{run_id}:faithfulness", "--no-baselines",
             "--resamples", "20")


def docqa_generate(ws: Workspace, *extra: str) -> None:
    docs = ws.folder / "docqa-docs"
    docs.mkdir(exist_ok=True)
    (docs / "harrow_mill.md").write_text((EXAMPLES / "docs" / "harrow_mill.md").read_text(encoding="utf-8"),
                                         encoding="utf-8")
    ws.assay("docqa", "generate", "--docs", str(docs), "--generator", ws.rules("generator"), *extra, "-o", "set.jsonl")
    assert (ws.folder / "set.jsonl").stat().st_size > 0


def docqa_run(ws: Workspace) -> None:
    oracle = ws.folder / "docqa-oracle.json"
    oracle.write_text(json.dumps({"Harrow Mill": "Edith Calloway built the mill."}), encoding="utf-8")
    ws.run("docqa", "--task", "docqa:set.jsonl", "--model", f"scripted:oracle={oracle}")


def docqa_judge(ws: Workspace) -> None:
    out = ws.assay("docqa", "judge", ws.runs["docqa"], "--judge", ws.rules("judge"), "--no-progress")
    found = re.findall(r"run id:? (\w{12})", out)
    assert found, out
    ws.runs["faithfulness"] = found[-1]


def docqa_battle(ws: Workspace) -> None:
    ws.assay("docqa", "battle", ws.runs["docqa"], "--judge", ws.rules("judge"), "--no-progress")


def pii_run(ws: Workspace) -> None:
    assert "leaked" in ws.run("pii", "--model", "scripted:echo", "--task", "pii_leak:lengths=512/depths=0+50+100/n=4")


def suite_dump(ws: Workspace, *args: str) -> None:
    ws.assay("suite", "dump", *args)


def injection_run(ws: Workspace) -> None:
    out = ws.run("injection", "--model", "scripted:echo", "--task", "injection:lengths=512+1k/depths=0+50+100/n=2")
    assert "attack_success" in out


def _crawl(ws: Workspace, data: Path) -> str:
    crawl = ws.folder / "crawl"
    if not crawl.is_dir():
        crawl.mkdir()
        first = json.loads((data / "gsm8k" / "test.jsonl").read_text(encoding="utf-8").splitlines()[0])
        (crawl / "leak.txt").write_text("Found online: " + first["question"], encoding="utf-8")
        (crawl / "clean.txt").write_text("Ordinary prose about gardens and rivers.", encoding="utf-8")
    return str(crawl)


def contamination_ngram(ws: Workspace) -> None:
    if data := ws.data("contamination", "gsm8k"):
        ws.assay("contamination", "--task", "gsm8k", "--corpus", _crawl(ws, data), "--limit", "20",
                 "--data-dir", str(data))


def contamination_minhash(ws: Workspace) -> None:
    pytest.importorskip("datasketch", reason="the contamination extra")
    if data := ws.data("contamination --method minhash", "gsm8k"):
        ws.assay("contamination", "--task", "gsm8k", "--corpus", _crawl(ws, data), "--method", "minhash",
                 "--threshold", "0.6", "--limit", "20", "--data-dir", str(data))


def contamination_texts(ws: Workspace) -> None:
    pytest.importorskip("sklearn", reason="the contamination extra")
    texts = [{"id": f"t{i}", "text": f"text number {i} about {'apples' if i % 2 else 'rivers'} and more words",
              "label": i % 2} for i in range(6)]
    (ws.folder / "members.jsonl").write_text("".join(json.dumps(t) + "\n" for t in texts), encoding="utf-8")
    assert "AUROC" in ws.assay("contamination", "--texts", "members.jsonl", "--model", "scripted:echo")


def contamination_order(ws: Workspace) -> None:
    ws.assay("contamination", "--task", "arith_mc", "--model", "scripted:echo", "--order", "options,examples",
             "--limit", "10")


def adversarial_gsm8k(ws: Workspace) -> None:
    if data := ws.data("adversarial", "gsm8k"):
        ws.assay("adversarial", "--task", "gsm8k", "--generator", "scripted:echo", "--model", "scripted:echo",
                 "--limit", "2", "-o", "gsm8k-adv-v1.jsonl", "--data-dir", str(data))


def adversarial_run(ws: Workspace) -> None:
    if (ws.folder / "gsm8k-adv-v1.jsonl").exists():
        ws.run("adversarial", "--model", "scripted:echo", "--task", "adversarial:gsm8k-adv-v1.jsonl")


def perturb_run(ws: Workspace) -> None:
    ws.run("perturb", "--model", "scripted:echo", "--task", "arith_mc", "--perturb", "typos,case,option_shuffle",
           "--limit", "4")


def perturb_generator(ws: Workspace) -> None:
    if data := ws.data("--perturb paraphrase", "gsm8k"):
        ws.run("paraphrase", "--model", "scripted:echo", "--task", "gsm8k:zeroshot", "--perturb", "distractor,paraphrase",
               "--generator", "scripted:echo", "--limit", "2", "--data-dir", str(data))


def sycophancy_run(ws: Workspace) -> None:
    ws.run("syco", "--model", "scripted:echo", "--task", "sycophancy:arith_mc,sycophancy:arith", "--limit", "4")


def sycophancy_pushback(ws: Workspace) -> None:
    ws.assay("sycophancy", "--model", "scripted:echo", "--task", "arith_mc,arith", "--limit", "4", "--no-progress")


ADAPTED: dict[str, Callable[[Workspace], None]] = {
    "assay run --task capitals.yaml --model scripted:echo": capitals,
    "assay judge RUN --judge embedded --rubric brevity.yaml": judge_brevity,
    "assay run -m embedded -t examples/tasks/open_questions.yaml": open_questions_a,
    "assay run -m openai:http://localhost:8000/v1#my-model -t examples/tasks/open_questions.yaml": open_questions_b,
    "assay judge RUN_A --judge openai:http://localhost:8080/v1#judge --rubric correctness --reference": judge_reference,
    "assay battle RUN_A RUN_B --judge embedded": battle,
    "assay run --model embedded --task examples/python/judged_answers.py --db runs.db": python_judged_run,
    "assay judge RUN_ID --judge embedded --db runs.db": python_judged_judge,
    "assay import judgments ../shared/data/judges/llmbar/Processed/MT-Bench --format llmbar": import_llmbar,
    "assay import judgments ../shared/data/judges/prd/vicuna80 --format prd": import_prd,
    "assay import judgments my_judgments.jsonl --format jsonl": import_jsonl,
    "assay agreement [--judge NAME] [--reference human|label|NAME] [--source S ...] [--json]": agreement,
    "assay import judgments ../shared/data/arena/alpaca_eval/NullModel/annotations.json --format alpaca_eval":
        import_alpaca,
    "assay winrate --baseline gpt4_1106_preview [--json]": winrate,
    "assay arena [--task T] [--source S] [--method bt|elo] [--ties half|davidson] [--rounds 1000] [--seed 0] "
    "[--null-model NAME] [--canary-threshold 0.10] [--json]": arena,
    "assay run --model embedded --task leval_quality": leval_quality,
    "assay run --model hf:/path/to/model --task leval_quality_gen": lambda ws: leval_quality(ws, "leval_quality_gen"),
    "assay import predictions ../shared/data/longdoc/leval_quality/predictions/gpt4-32k.quality.pred.jsonl "
    "--task leval_quality --model gpt4-32k": import_predictions,
    "assay show RUN": show,
    "assay meta-eval": meta_eval,
    "assay meta-eval --scores my_metric.jsonl": meta_eval_scores,
    "assay docqa generate --docs examples/docs --generator embedded --types factual,multi_hop,summary,no_info "
    "--per-doc 2 --seed 7 -o set.jsonl":
        lambda ws: docqa_generate(ws, "--types", "factual,no_info", "--per-doc", "1", "--seed", "7"),
    "assay run --task docqa:set.jsonl --model embedded": docqa_run,
    "assay docqa judge RUN --judge embedded": docqa_judge,
    "assay meta-eval --human people.jsonl --run RUN:faithfulness": meta_eval_human,
    "assay docqa battle RUN --judge embedded": docqa_battle,
    "assay docqa generate --docs examples/docs --generator embedded --per-doc 6 --seed 7 -o set.jsonl":
        lambda ws: docqa_generate(ws, "--types", "factual,no_info", "--per-doc", "1", "--seed", "7"),
    "assay run --model embedded --task \"pii_leak:lengths=512/depths=0+50+100/n=4\"": pii_run,
    "assay suite dump --task pii_leak -o pii.jsonl": lambda ws: suite_dump(ws, "--task", "pii_leak", "-o", "pii.jsonl"),
    "assay run --model embedded --task \"injection:lengths=512+1k/depths=0+50+100/n=2\"": injection_run,
    "assay contamination --task gsm8k --corpus ./crawl": contamination_ngram,
    "assay contamination --task gsm8k --corpus ./crawl --method minhash --threshold 0.6": contamination_minhash,
    "assay contamination --texts members.jsonl --model embedded": contamination_texts,
    "assay contamination --task arith_mc --model embedded --order options,examples --limit 40": contamination_order,
    "assay adversarial --task gsm8k --generator embedded --model embedded --limit 50 -o gsm8k-adv-v1.jsonl":
        adversarial_gsm8k,
    "assay run --model embedded --task adversarial:gsm8k-adv-v1.jsonl": adversarial_run,
    "assay run --model embedded --task arith_mc --perturb typos,case,option_shuffle --limit 20": perturb_run,
    "assay run --model M --task gsm8k:zeroshot --perturb distractor,paraphrase --generator G --limit 50":
        perturb_generator,
    "assay suite dump --task arith_mc --perturb typos,case --limit 20 -o perturbed.jsonl":
        lambda ws: suite_dump(ws, "--task", "arith_mc", "--perturb", "typos,case", "--limit", "20", "-o", "p.jsonl"),
    "assay run --model embedded --task sycophancy:arith_mc,sycophancy:arith --limit 20": sycophancy_run,
    "assay sycophancy --model embedded --task arith_mc,arith --limit 20": sycophancy_pushback,
}

# Commands that need what a test machine has not: each with the reason. Their options are still checked.
NOT_RUN_HERE: dict[str, str] = {
    "assay run --model hf:/models/SmolLM2-135M-Instruct --model-args device=cuda --task "
    "niah_single:lengths=4k+16k/n=8": "a CUDA GPU (bench/gpu_check.py measures it on a GPU machine)",
    "assay run --model hf:/models/qwen --model-args device=cuda,dtype=bfloat16 --task arith_mc --executor ray "
    "--ray-address HEAD:6379 --workers 8": "a Ray cluster with GPUs (tests/executors run Ray locally on CPUs)",
    "assay run --model vllm:/models/Qwen2.5-7B-Instruct --model-args max_model_len=32768,gpu_memory_utilization=0.85 "
    "--task longctx_quick": "vLLM on a CUDA GPU (the vllm extra)",
    "ASSAY_API_KEY=\"$KEY\" assay run --model openai:http://127.0.0.1:8000/v1#qwen7b --task longctx_quick":
        "a running `vllm serve` (tests/models run openai: against a fake server)",
    "assay serve": "a server: the README test starts `assay serve` and reads its pages",
    **{command: "the demo plugin installed: tests/plugins/test_plugins.py installs it in a throwaway environment "
       "and runs this command there" for command in (
           "assay list tasks", "assay list models", "assay run --model demo:capitals --task demo_task --limit 3",
           "assay judge RUN --judge embedded --template demo_strict")},
}


def _readme_commands() -> set[str]:
    from cli.readme_support import readme_commands

    return set(readme_commands())


def test_every_doc_command_is_covered() -> None:
    commands = doc_commands()
    assert len(commands) >= 40, commands
    covered = set(ADAPTED) | set(NOT_RUN_HERE) | _readme_commands()
    missing = [f"{doc}: {command}" for doc, command in commands if command not in covered]
    assert not missing, f"doc commands with no adapted run or reason in {Path(__file__).name}: {missing}"
    shown = {command for _, command in commands}
    stale = sorted((set(ADAPTED) | set(NOT_RUN_HERE)) - shown)
    assert not stale, f"entries for commands no doc shows any more: {stale}"


def _options_of(words: list[str]) -> tuple[object, set[str]]:
    import typer

    from assay.cli import app

    command = typer.main.get_command(app)
    for word in words[1:]:
        if not hasattr(command, "commands") or word not in command.commands:
            break
        command = command.commands[word]
    return command, {opt for param in command.params for opt in getattr(param, "opts", ())}


@pytest.mark.parametrize("command", sorted(NOT_RUN_HERE))
def test_commands_not_run_here_use_real_options(command: str) -> None:
    words = shlex.split(command.split("assay ", 1)[1].join(["assay ", ""]))
    _, options = _options_of(words)
    used = {word.split("=", 1)[0] for word in words if word.startswith("--")}
    assert used <= options, f"{command}: unknown options {sorted(used - options)}"
    if "--model-args" in words:
        from assay.models.registry import check_options

        model = words[words.index("--model") + 1]
        given = dict(pair.split("=", 1) for pair in words[words.index("--model-args") + 1].split(","))
        check_options(model, given)  # an unknown key or a bad value raises


def test_doc_commands_run(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    db = f"sqlite:///{tmp_path / 'assay.db'}"
    monkeypatch.setenv("ASSAY_DB", db)
    workspace = Workspace(tmp_path, db, capsys, default_data_dir())
    # In the docs' order, except for commands that read what a later doc's command stores: the arena (shown in
    # arena.md, before judges.md's `assay battle`) and your own labels against a faithfulness run (shown in
    # longdoc.md before `docqa judge` makes one) come last.
    last = (arena, meta_eval_human)
    for command in sorted((c for _, c in doc_commands() if c in ADAPTED), key=lambda c: ADAPTED[c] in last):
        ADAPTED[command](workspace)
    if workspace.skipped:
        pytest.skip(f"../shared/data missing: not run: {workspace.skipped}")
