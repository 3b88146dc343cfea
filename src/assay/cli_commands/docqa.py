"""`assay docqa generate` (a question set from your documents), `assay docqa judge RUN` (faithfulness by claim
verification) and `assay docqa battle RUN` (helpfulness: pairwise against the gold answers or another run,
both orders, through the judges' engine). The set itself runs as `assay run --task docqa:SET.jsonl`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from assay.cli_commands.judging import (
    DbOption,
    JudgeArgsOption,
    JudgeOption,
    LimitOption,
    RerunOption,
)
from assay.errors import AssayError

JsonOption = Annotated[bool, typer.Option("--json", help="machine-readable JSON output")]
ALL_TYPES = "factual,multi_hop,summary,no_info"
ProgressOption = Annotated[bool, typer.Option("--no-progress")]


def _docqa_task(store: Any, run: dict[str, Any], name: str | None) -> str:
    from assay.docqa.faithfulness import docqa_tasks

    names = docqa_tasks(store, run["id"])
    if name is None:
        if len(names) > 1:
            raise AssayError(f"--task: run {run['id']} has several docqa tasks ({', '.join(names)}); name one")
        return names[0]
    if name not in names:
        raise AssayError(f"--task {name}: run {run['id']} has no such docqa task (it has {', '.join(names)})")
    return name


def _print_metrics(result: Any, title: str, json_output: bool, extra: dict[str, Any]) -> None:
    from assay.cli_support import console, json_out, metrics_table

    if json_output:
        json_out({"id": result.run_id, "metrics": result.metrics, **extra})
        return
    console.print(metrics_table(result.metrics, title))


def register(app: typer.Typer) -> None:
    docqa = typer.Typer(help="questions about your own documents: generate a set, judge faithfulness, battle",
                        no_args_is_help=True)
    app.add_typer(docqa, name="docqa")

    @docqa.command("generate")
    def generate(
        docs: Annotated[Path, typer.Option("--docs", help="folder of .txt/.md documents")],
        generator: Annotated[str, typer.Option("--generator", help="the generator's model spec "
                                                                     "(embedded, openai:URL#MODEL, ...)")],
        output: Annotated[Path, typer.Option("-o", "--output", help="the question set (.jsonl) to write")],
        types: Annotated[str, typer.Option("--types", help="question types, comma-separated")] = ALL_TYPES,
        per_doc: Annotated[int, typer.Option("--per-doc", min=1, help="questions of each type per document")] = 2,
        seed: Annotated[int, typer.Option("--seed")] = 1234,
        generator_args: Annotated[str | None, typer.Option("--generator-args", help="backend options key=value,... "
                                                           "(as --model-args)")] = None,
        max_tokens: Annotated[int, typer.Option("--max-tokens", min=8, help="tokens per generated reply")] = 96,
    ) -> None:
        """Generate questions (with gold answers and evidence spans) from your documents; greedy and seeded, so
        the same command writes the same set. Candidates not kept are counted by reason."""
        from assay.cli_support import console
        from assay.docqa.documents import load_documents
        from assay.docqa.generate import GenerateSettings, generate_set
        from assay.docqa.question_set import write_set
        from assay.models import load_model
        from assay.models.model_args import split_model_args
        from assay.models.registry import check_options

        if not output.expanduser().resolve().parent.is_dir():
            raise AssayError(f"-o {output}: folder {output.parent} does not exist")
        kinds = tuple(t.strip() for t in types.split(",") if t.strip())
        documents = load_documents(docs)
        settings = GenerateSettings(types=kinds, per_doc=per_doc, seed=seed, max_tokens=max_tokens)
        try:
            options = check_options(generator, split_model_args(generator_args or ""))
        except AssayError as exc:
            raise AssayError(str(exc).replace("--model-args", "--generator-args").replace("--model", "--generator")) from None
        model = load_model(generator, **options)
        try:
            question_set = generate_set(model, documents, settings)
        finally:
            model.close()
        write_set(output, question_set)
        counts = question_set.header.counts
        dropped = {k: v for k, v in counts.items() if k not in ("candidates", "kept", "reasked") and v}
        console.print(f"wrote {counts['kept']} questions about {len(documents)} documents to {output} "
                      f"({counts['candidates']} candidates; {counts.get('reasked', 0)} replies re-asked once)",
                      highlight=False, markup=False)
        if dropped:
            console.print("not kept: " + ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in sorted(dropped.items())),
                          highlight=False, markup=False)
        if not question_set.questions:
            raise AssayError(f"-o {output}: no question was kept (counts above; each rejected candidate and its problem "
                             "are in the file's header); try another --generator")

    @docqa.command("judge")
    def judge(
        run_id: Annotated[str, typer.Argument(metavar="RUN", help="a run of a docqa task")],
        judge: JudgeOption,
        judge_args: JudgeArgsOption = None,
        task: Annotated[str | None, typer.Option("--task", "-t", help="the docqa task of the run (when it has several)")] = None,
        limit: LimitOption = None,
        db: DbOption = None,
        no_progress: ProgressOption = False,
        rerun: RerunOption = False,
        json_output: JsonOption = False,
    ) -> None:
        """Faithfulness: the judge splits each answer into claims, then checks each claim against the document
        (supported / contradicted / not found); two judge runs, the per-claim records in the second."""
        from assay.cli_support import console
        from assay.docqa.faithfulness import ClaimsTask, VerifyTask, claim_items, verify_items
        from assay.docqa.faithfulness import run_judge_task as run_task
        from assay.judges.loading import judge_options, load_judge
        from assay.models.model_args import TRANSPORT_OPTIONS
        from assay.runner import RunOptions
        from assay.store import Store

        options = judge_options(judge, judge_args)
        store = Store(db, read_only=False, must_exist=True)
        run = store.get_run(run_id)
        name = _docqa_task(store, run, task)
        skipped: dict[str, int] = {}
        items = claim_items(store, run, name, skipped)
        if limit is not None:
            items = items[:limit]
        if not items:
            raise AssayError(f"RUN: run {run['id']} has no answers to check (skipped: {skipped})")
        source = {"runs": [run["id"]], "models": [run["model_spec"]]}
        model_args = {k: v for k, v in options.items() if k not in TRANSPORT_OPTIONS}

        def run_options(kind: str) -> RunOptions:
            return RunOptions(seed=run["seed"], show_progress=not no_progress and not json_output,
                              recorded={"judge": {"kind": kind, "source_runs": [run["id"]], "judge": judge,
                                                  "skipped": skipped}, "model_args": model_args},
                              model_args=model_args, reuse_complete=not rerun)

        model = load_judge(judge, options)
        try:
            claims_task = ClaimsTask(name, source, items, max_tokens=160)
            claims = run_task(store, model, claims_task, run_options("docqa_claims"))
            checked = verify_items(store, claims.run_id, claims_task, skipped)
            if not checked:
                raise AssayError(f"--judge {judge}: no claim list could be read (claims run {claims.run_id}); "
                                 "nothing to verify")
            verify = run_task(store, model, VerifyTask(name, {**source, "claims_run": claims.run_id}, checked, 16),
                              run_options("docqa_faithfulness"))
        finally:
            model.close()
        _print_metrics(verify, f"faithfulness run {verify.run_id} — judge {judge} on run {run['id']}", json_output,
                       {"claims_run": claims.run_id, "skipped": skipped, "claims_metrics": claims.metrics})
        if not json_output:
            from assay.cli_commands.judging import judge_errors_line

            for result in (claims, verify):
                task_name = next(m["task"] for m in result.metrics)
                console.print(f"{task_name}: {judge_errors_line(result.metrics, task_name)}", highlight=False,
                              markup=False)
            console.print(f"claims run id: {claims.run_id}; faithfulness run id: {verify.run_id} (per-claim records in "
                          f"its samples); not checked: {skipped or 'none'}", highlight=False, markup=False)

    @docqa.command("battle")
    def battle(
        run_id: Annotated[str, typer.Argument(metavar="RUN", help="a run of a docqa task: model A")],
        judge: JudgeOption,
        against: Annotated[str | None, typer.Option("--against", help="another run of the same set as B "
                                                    "(default: the set's gold answers as a pseudo-run)")] = None,
        judge_args: JudgeArgsOption = None,
        one_order: Annotated[bool, typer.Option("--one-order", help="only A shown first (default: both orders)")] = False,
        task: Annotated[str | None, typer.Option("--task", "-t", help="the docqa task of the run (when it has several)")] = None,
        limit: LimitOption = None,
        max_tokens: Annotated[int, typer.Option("--max-tokens", min=1, help="tokens per judge reply")] = 256,
        db: DbOption = None,
        no_progress: ProgressOption = False,
        rerun: RerunOption = False,
        json_output: JsonOption = False,
    ) -> None:
        """Helpfulness: the run's answers against the gold answers (or another run) pairwise, both orders, by the
        judges' engine (`assay battle`); the battles are stored as judgments and appear on the labelling page."""
        from assay.cli_commands.judging import INTERRUPTED, count, metric_value
        from assay.cli_support import console, exit_when_interrupted, notify_line
        from assay.docqa.gold import gold_run
        from assay.judges.engine import plan_battle
        from assay.judges.loading import judge_options, judge_settings, run_judge_plan
        from assay.judges.prompts import load_prompt
        from assay.store import Store
        from assay.tasks.registry import get_task

        prompt = load_prompt("pairwise")
        options = judge_options(judge, judge_args)
        store = Store(db, read_only=False, must_exist=True)
        run = store.get_run(run_id)
        name = _docqa_task(store, run, task)
        # Gold: the set is read again from the path in the task's name; plan_battle refuses it if its spec hash
        # (the set's sha256) differs from the run's.
        other = (gold_run(store, get_task(name), run["seed"]).run_id if against is None  # type: ignore[arg-type]
                 else store.get_run(against)["id"])
        settings = judge_settings(options, max_tokens=max_tokens, tasks=[name], limit=limit,
                                  orders=("ab",) if one_order else ("ab", "ba"),
                                  show_progress=not no_progress and not json_output, rerun=rerun, notify=notify_line)
        plan = plan_battle(store, run["id"], other, prompt, settings)
        with exit_when_interrupted(INTERRUPTED):
            outcome = run_judge_plan(store, judge, options, prompt, plan, settings)
        metrics = outcome.run.metrics
        get = lambda metric: count(metric_value(metrics, plan.tasks[0].name, metric))  # noqa: E731
        _print_metrics(outcome.run, f"battle run {outcome.run.run_id} — {plan.models[0]} (A) vs {plan.models[1]} (B)",
                       json_output, {"source_runs": [run["id"], other], "judgments": outcome.judgments})
        if not json_output:
            console.print(f"A = {plan.models[0]}, B = {plan.models[1]}: A wins {get('wins_a')}, B wins {get('wins_b')}, "
                          f"ties {get('ties')} ({get('n_position_inconsistent')} flipped with the order), "
                          f"{get('n_pairs_with_judge_error')} pairs without a verdict; {outcome.judgments} judgments "
                          f"stored as run:{outcome.run.run_id} (label them at /label)", highlight=False, markup=False)
