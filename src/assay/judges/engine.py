"""`assay judge` and `assay battle` as library calls: read the stored run(s), build judge tasks, run them with
the normal `Runner` (same cache, resume and store as `assay run`; the judge run's manifest names the source
runs, the judge spec and the template hash through the tasks' specs), then store the verdicts as
`Judgment`s under the source "run:<judge run id>"."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from assay.errors import AssayError
from assay.judges.parse import Parsed
from assay.judges.prompts import JudgePrompt, declared_prompt
from assay.judges.reask import ReaskingJudge
from assay.judges.store import replace_judgments
from assay.judges.task import DEFAULT_MAX_TOKENS, ORDERS, JudgeItem, PairwiseJudgeTask, PointwiseJudgeTask
from assay.judges.types import Judgment
from assay.models.base import Model
from assay.runner import Runner, RunOptions, RunResult
from assay.store import Store

_SOURCE_COLUMNS = ("sample_id", "cluster", "prompt", "target", "responses", "error_kind")


@dataclass
class JudgeSettings:
    max_tokens: int = DEFAULT_MAX_TOKENS
    reference: bool = False
    orders: tuple[str, ...] = ORDERS
    tasks: Sequence[str] | None = None
    limit: int | None = None
    seed: int = 1234
    show_progress: bool = True
    rerun: bool = False
    # Samples per store transaction: an interrupted judge run keeps what was stored and resumes from there.
    chunk_size: int | None = None  # None: the Runner's default (runner.chunk_size_for)
    model_args: dict[str, Any] = field(default_factory=dict)
    notify: Callable[[str], None] | None = None


@dataclass
class JudgePlan:
    """What a judge run will do, checked before the judge model loads: its tasks, the names the judgments
    carry (model_a, model_b), what goes in the manifest, and the source samples that cannot be judged."""

    tasks: list[Any]
    models: list[str]
    recorded: dict[str, Any]
    # Source samples that could not be judged (no output: their request failed; only in one run), per reason.
    skipped: dict[str, int]


@dataclass
class JudgeOutcome:
    run: RunResult
    judgments: int
    skipped: dict[str, int]


class NothingToJudge(AssayError):
    """A task of a source run with no generated output (a log-likelihood task)."""


def _spec_hash(run: dict[str, Any], task: str) -> str | None:
    return (((run.get("manifest") or {}).get("tasks") or {}).get(task) or {}).get("spec_hash")


def _reference_text(target: Any) -> str | None:
    if target is None:
        return None
    if isinstance(target, list):
        return " | ".join(str(t) for t in target)
    return str(target)


def _source_rows(store: Store, run: dict[str, Any], task: str, reference: bool) -> tuple[dict[str, dict[str, Any]], int]:
    """{sample_id: row with an output} and how many had none (request failed)."""
    rows: dict[str, dict[str, Any]] = {}
    failed = 0
    texts = 0
    for row in store.iter_samples(run["id"], task, columns=_SOURCE_COLUMNS):
        responses = row["responses"] or []
        text = responses[0].get("text") if responses else None
        if text is not None:
            texts += 1
        if row["error_kind"] == "request_failed" or text is None:
            failed += 1
            continue
        if reference and row["target"] is None:
            raise AssayError(f"--reference: sample {row['sample_id']} of task {task} in run {run['id']} has no "
                             "reference answer (target)")
        rows[row["sample_id"]] = {**row, "output": text}
    if texts == 0:
        raise NothingToJudge(f"run {run['id']}: task {task} has no generated outputs (scored by log-likelihood, or every "
                         "request failed): nothing to judge")
    return rows, failed


def _judgeable(store: Store, runs: Sequence[dict[str, Any]], names: list[str], explicit: bool, reference: bool,
               skipped: dict[str, int]) -> list[tuple[str, list[tuple[dict[str, dict[str, Any]], int]]]]:
    """(task, [(rows, failed) per run]) for each task with generated outputs. Without --task, tasks that have none
    (log-likelihood tasks) are left out and counted; with --task, or when none is left, that is an error."""
    out = []
    last: NothingToJudge | None = None
    for name in names:
        try:
            out.append((name, [_source_rows(store, run, name, reference) for run in runs]))
        except NothingToJudge as exc:
            if explicit:
                raise
            last = exc
            skipped["tasks_without_outputs"] = skipped.get("tasks_without_outputs", 0) + 1
    if not out and last is not None:
        raise last
    return out


def _pick_tasks(runs: Sequence[dict[str, Any]], store: Store, wanted: Sequence[str] | None) -> list[str]:
    available = [set(store.sample_tasks(run["id"])) for run in runs]
    shared = set.intersection(*available)
    if wanted:
        for name in wanted:
            for run, tasks in zip(runs, available, strict=True):
                if name not in tasks:
                    raise AssayError(f"--task {name}: run {run['id']} has no samples of it "
                                     f"(it has {', '.join(sorted(tasks)) or 'none'})")
        return list(wanted)
    if not shared:
        raise AssayError("the runs share no task: battle compares two runs of the same task")
    return sorted(shared)


def execute(store: Store, judge: Model, prompt: JudgePrompt, plan: JudgePlan, settings: JudgeSettings) -> JudgeOutcome:
    """Run the plan's tasks with `judge` (re-asking once) through the normal Runner, then store the judgments."""
    wrapped = ReaskingJudge(judge, _readable_by_any(plan.tasks), prompt.render_reask,
                            {"reask_sha256": prompt.spec()["reask_sha256"], "mode": prompt.mode})
    options = RunOptions(seed=settings.seed, limit=settings.limit, show_progress=settings.show_progress,
                         chunk_size=settings.chunk_size,
                         recorded={"judge": {**plan.recorded, "judge": judge.spec}, "model_args": settings.model_args},
                         model_args=settings.model_args, reuse_complete=not settings.rerun, notify=settings.notify)
    result = Runner(wrapped, store).run(plan.tasks, options)
    stored = store_judgments(store, result.run_id, judge.spec, plan.tasks, plan.models)
    return JudgeOutcome(result, stored, plan.skipped)


def _readable_by_any(tasks: Sequence[Any]) -> Callable[[str | None], Parsed]:
    """The re-ask's test of a reply: readable under some task's scale (tasks may declare their own rubric). A reply
    that is out of its own task's range is still that task's judge error, counted when it is scored."""
    parsers = [task.parse for task in tasks]

    def parse(text: str | None) -> Parsed:
        results = [parser(text) for parser in parsers]
        return next((result for result in results if result.ok), results[0])
    return parse


def _task_prompt(run: dict[str, Any], task: str, prompt: JudgePrompt, notify: Callable[[str], None]) -> JudgePrompt:
    """The judge prompt the source task declares (stored in its spec) unless a template was chosen."""
    spec = (((run.get("manifest") or {}).get("tasks") or {}).get(task) or {}).get("spec")
    declared = declared_prompt(prompt, spec)
    if declared is None:
        return prompt
    assert declared.rubric is not None
    notify(f"task {task}: judged with the template the task declares (sha256 {declared.template_sha256[:12]}), "
           f"rubric {declared.rubric.title} {declared.rubric.min}..{declared.rubric.max}; --template overrides it")
    return declared


def plan_judge(store: Store, source_run: str, prompt: JudgePrompt, settings: JudgeSettings) -> JudgePlan:
    """Grade every generated output of a stored run on the prompt's rubric (or on the judge a task declares)."""
    run = store.get_run(source_run)
    notify = settings.notify or (lambda _line: None)
    tasks = []
    skipped = {"source_request_failed": 0}
    names = _pick_tasks([run], store, settings.tasks)
    for name, ((rows, failed),) in _judgeable(store, [run], names, bool(settings.tasks), settings.reference, skipped):
        skipped["source_request_failed"] += failed
        items = [JudgeItem(sid, row["cluster"], row["prompt"] or "", (row["output"],),
                           _reference_text(row["target"]) if settings.reference else None) for sid, row in rows.items()]
        source = {"runs": [run["id"]], "models": [run["model_spec"]], "task_spec_hash": _spec_hash(run, name)}
        tasks.append(PointwiseJudgeTask(name, source, items, _task_prompt(run, name, prompt, notify),
                                        settings.max_tokens))
    recorded = {"kind": "judge", "source_runs": [run["id"]], **prompt.spec(), "reference": settings.reference,
                "skipped": skipped}
    declared = {t.source_task: t.prompt.spec() for t in tasks if t.prompt is not prompt}
    if declared:
        recorded["task_declared"] = declared
    return JudgePlan(tasks, [run["model_spec"]], recorded, skipped)


def battle_models(run_a: dict[str, Any], run_b: dict[str, Any]) -> tuple[str, str]:
    """The names battles are stored under: the runs' model specs, with the run id when both are the same model."""
    if run_a["model_spec"] != run_b["model_spec"]:
        return run_a["model_spec"], run_b["model_spec"]
    return f"{run_a['model_spec']}@{run_a['id']}", f"{run_b['model_spec']}@{run_b['id']}"


def plan_battle(store: Store, run_a_id: str, run_b_id: str, prompt: JudgePrompt, settings: JudgeSettings) -> JudgePlan:
    """Judge two runs of the same task pairwise, aligned by sample id, in `settings.orders`."""
    run_a, run_b = store.get_run(run_a_id), store.get_run(run_b_id)
    if run_a["id"] == run_b["id"]:
        raise AssayError(f"RUN_B: the same run as RUN_A ({run_a['id']}); battle needs two runs")
    tasks = []
    skipped = {"source_request_failed": 0, "only_in_one_run": 0}
    names = _pick_tasks([run_a, run_b], store, settings.tasks)
    for name in names:
        hash_a, hash_b = _spec_hash(run_a, name), _spec_hash(run_b, name)
        if hash_a != hash_b:
            raise AssayError(f"RUN_B: task {name} has spec hash {str(hash_b)[:12]} in run {run_b['id']} but "
                             f"{str(hash_a)[:12]} in run {run_a['id']}: battle judges two runs of the same task")
    for name, ((rows_a, failed_a), (rows_b, failed_b)) in _judgeable(store, [run_a, run_b], names, bool(settings.tasks),
                                                                     settings.reference, skipped):
        skipped["source_request_failed"] += failed_a + failed_b
        shared = [sid for sid in rows_a if sid in rows_b]
        skipped["only_in_one_run"] += len(rows_a) + len(rows_b) - 2 * len(shared)
        items = []
        for sid in shared:
            row_a, row_b = rows_a[sid], rows_b[sid]
            if row_a["prompt"] != row_b["prompt"]:
                raise AssayError(f"RUN_B: sample {sid} of task {name} has a different prompt in run {run_b['id']} "
                                 "than in RUN_A (another seed?): battle needs the same questions")
            items.append(JudgeItem(sid, row_a["cluster"], row_a["prompt"] or "", (row_a["output"], row_b["output"]),
                                   _reference_text(row_a["target"]) if settings.reference else None))
        if not items:
            raise AssayError(f"task {name}: runs {run_a['id']} and {run_b['id']} share no sample with an output")
        source = {"runs": [run_a["id"], run_b["id"]], "models": [run_a["model_spec"], run_b["model_spec"]],
                  "task_spec_hash": hash_a}
        tasks.append(PairwiseJudgeTask(name, source, items, prompt, settings.max_tokens, settings.orders))
    recorded = {"kind": "battle", "source_runs": [run_a["id"], run_b["id"]], **prompt.spec(),
                "orders": list(settings.orders), "skipped": skipped}
    return JudgePlan(tasks, list(battle_models(run_a, run_b)), recorded, skipped)


def store_judgments(store: Store, judge_run_id: str, rater: str, tasks: Sequence[Any], models: list[str]) -> int:
    """The judge run's verdicts, read back from its stored samples, as the judgments of "run:<id>"."""
    source = f"run:{judge_run_id}"
    several = len(tasks) > 1
    rows = []
    for task in tasks:
        columns = ("sample_id", "metadata", "error", "error_kind")
        for row in store.iter_samples(judge_run_id, task.name, columns=columns):
            rows.extend(_judgments_of(row, task, source, rater, models, several))
    return replace_judgments(store, source, rows)


def _judgments_of(row: dict[str, Any], task: Any, source: str, rater: str, models: list[str],
                  several_tasks: bool) -> list[Judgment]:
    meta = row["metadata"] or {}
    outputs = meta.get("outputs") or []
    pairwise = isinstance(task, PairwiseJudgeTask)
    common: dict[str, Any] = {
        "source": source, "kind": "pairwise" if pairwise else "pointwise", "rater": rater, "rater_kind": "judge",
        "task": task.source_task, "item": f"{task.source_task}/{row['sample_id']}" if several_tasks else row["sample_id"],
        "prompt": meta.get("question"), "model_a": models[0], "output_a": outputs[0] if outputs else None,
        "reference": meta.get("reference"),
    }
    if pairwise:
        common.update(model_b=models[1], output_b=outputs[1] if len(outputs) > 1 else None)
    replies = meta.get("judge")
    if replies is None:  # the judge request itself failed after retries
        orders = task.orders if pairwise else (None,)
        return [Judgment(**common, order=order, error=f"request failed: {row['error']}",
                         metadata={"request_failed": True}) for order in orders]
    out = []
    for reply in replies:
        extra = {"reasked": reply["reasked"], "first_error": reply["first_error"], "raw": reply["raw"]}
        if pairwise:
            # Over both orders: the pair's verdict (a flip is a tie) and whether the orders agreed; None with an error.
            extra.update(pair_verdict=meta.get("verdict"), position_consistent=meta.get("position_consistent"))
        out.append(Judgment(**common, order=reply["order"], verdict=reply.get("verdict"), score=reply.get("score"),
                            error=reply["error"], reasoning=reply["reason"], metadata=extra))
    return out
