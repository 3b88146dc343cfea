"""Another system's outputs stored as a run, scored by the task's own scorer (`assay import predictions`).

A prediction file is read in one of three formats (detected from its shape):
- `leval`: L-Eval's `*.pred.jsonl`, one row per question with `query`, `gt` and one `<model>_pred` field;
  matched by order, each row checked against the sample's L-Eval instruction (`source_query`);
- `bbh`: BIG-Bench Hard's published `{"outputs": [{"input", "target", "prediction"}, ...]}`; matched by
  order, each row's target and final question checked against the sample;
- `jsonl`: rows `{"id": SAMPLE_ID, "prediction": TEXT}` matched by id, or `{"prediction": TEXT}` by order.

The run's model is `imported:LABEL` and each sample's response is the imported text. A row that cannot be
read or matched is counted (and named in the manifest), never stored as a sample; a sample the file has
no prediction for is stored as a failed request, so it is counted and excluded from the scores.
"""

from __future__ import annotations

import dataclasses
import json
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assay.aggregate import compute_run_metrics
from assay.errors import AssayError
from assay.manifest import build_manifest, config_key, task_specs_with_data
from assay.store import Store
from assay.tasks.base import Task, TaskContext, prompt_of
from assay.tasks.benchmarks.common import decode_text, read_bytes
from assay.tasks.benchmarks.multiple_choice import MultipleChoiceTask
from assay.types import Response, Sample, Scored, sha256_hex

FORMATS = ("leval", "bbh", "jsonl")
NOTED = 20  # unmatched/unreadable rows named in the manifest (all are counted)


@dataclass(frozen=True)
class Prediction:
    position: int  # 0-based position in the file: what order-matching uses
    where: str  # "line 7" / "outputs[6]"
    text: str
    sample_id: str | None = None
    # Checks the sample is the one this row answers; None when the format carries nothing to check.
    check: Callable[[Sample], bool] | None = None


@dataclass
class PredictionFile:
    format: str
    predictions: list[Prediction]
    unreadable: list[str] = field(default_factory=list)  # "line 7: ..." for rows that could not be read


@dataclass
class ImportResult:
    run_id: str
    reused: bool
    metrics: list[dict[str, Any]]
    counts: dict[str, int]
    notes: list[str]


# ---- reading ---------------------------------------------------------------------------------------
def _jsonl_rows(text: str, path: Path) -> list[tuple[int, str, Any]]:
    """(position, where, parsed or the JSON error) of each non-blank line."""
    rows: list[tuple[int, str, Any]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            rows.append((len(rows), f"line {number}", json.loads(line)))
        except json.JSONDecodeError as exc:
            rows.append((len(rows), f"line {number}", ValueError(f"invalid JSON ({exc.msg})")))
    if not rows:
        raise AssayError(f"{path}: no predictions (an empty file)")
    return rows


def _question_tail(prompt: str) -> str:
    """The last question of a few-shot prompt (the published BBH prompts differ from ours in exemplar typos)."""
    return prompt.rsplit("\n\nQ: ", 1)[-1].strip()


def _read_leval(rows: list[tuple[int, str, Any]], path: Path) -> PredictionFile:
    out = PredictionFile("leval", [])
    for position, where, row in rows:
        keys = [k for k in row if k.endswith("_pred")] if isinstance(row, dict) else []
        if isinstance(row, Exception) or len(keys) != 1 or not isinstance(row.get(keys[0]), str) \
                or not isinstance(row.get("query"), str):
            out.unreadable.append(f"{where}: {row if isinstance(row, Exception) else 'expected query and one *_pred text'}")
            continue
        query = row["query"]
        out.predictions.append(Prediction(position, where, row[keys[0]],
                                          check=lambda s, q=query: s.metadata.get("source_query") == q))
    return out


def _read_bbh(data: dict[str, Any], path: Path) -> PredictionFile:
    outputs = data.get("outputs")
    if not isinstance(outputs, list):
        raise AssayError(f"{path}: expected {{\"outputs\": [{{\"input\", \"target\", \"prediction\"}}, ...]}}")
    out = PredictionFile("bbh", [])
    for position, row in enumerate(outputs):
        where = f"outputs[{position}]"
        if not isinstance(row, dict) or not all(isinstance(row.get(k), str) for k in ("input", "target", "prediction")):
            out.unreadable.append(f"{where}: expected input, target and prediction texts")
            continue
        target, tail = row["target"], _question_tail(row["input"])
        out.predictions.append(Prediction(position, where, row["prediction"], check=lambda s, t=target, q=tail:
                                          s.target == t and _question_tail(str(s.input)) == q))
    return out


def _read_plain(rows: list[tuple[int, str, Any]], path: Path) -> PredictionFile:
    out = PredictionFile("jsonl", [])
    by_id = any(isinstance(row, dict) and "id" in row for _, _, row in rows)
    for position, where, row in rows:
        if isinstance(row, Exception) or not isinstance(row, dict) or not isinstance(row.get("prediction"), str) \
                or (by_id and not isinstance(row.get("id"), (str, int))):
            expected = "an id and a prediction text" if by_id else "a prediction text"
            out.unreadable.append(f"{where}: {row if isinstance(row, Exception) else 'expected ' + expected}")
            continue
        out.predictions.append(Prediction(position, where, row["prediction"],
                                          sample_id=str(row["id"]) if by_id else None))
    return out


def read_predictions(path: Path) -> tuple[PredictionFile, str]:
    """The file's predictions and its sha256; one-line AssayError for a file that is not a prediction file."""
    if not path.is_file():
        raise AssayError(f"{path}: no such file")
    raw = read_bytes(path, "import predictions")
    text = decode_text(raw, path, "import predictions")
    digest = sha256_hex(text)
    try:  # one JSON document (BBH's outputs), or else JSON lines
        data = json.loads(text)
    except json.JSONDecodeError:
        data = None
    if isinstance(data, dict) and "outputs" in data:
        return _read_bbh(data, path), digest
    rows = _jsonl_rows(text, path)
    first = next((row for _, _, row in rows if isinstance(row, dict)), None)
    if first is None:
        raise AssayError(f"{path}: no JSON object in the file; expected one prediction per line")
    if "query" in first and any(k.endswith("_pred") for k in first):
        return _read_leval(rows, path), digest
    if "prediction" in first:
        return _read_plain(rows, path), digest
    raise AssayError(f"{path}: unknown prediction format (first row has {', '.join(sorted(first)) or 'no fields'}); "
                     "expected L-Eval rows (query, *_pred), BBH {\"outputs\": [...]} or rows with "
                     "\"prediction\" (and \"id\")")


# ---- matching and scoring ---------------------------------------------------------------------------
def match(samples: Sequence[Sample], found: PredictionFile) -> tuple[dict[int, Prediction], list[str]]:
    """{sample index: prediction} and a reason for every row left unmatched."""
    matched: dict[int, Prediction] = {}
    unmatched: list[str] = []
    index_of = {s.id: i for i, s in enumerate(samples)}
    for prediction in found.predictions:
        if prediction.sample_id is not None:
            index = index_of.get(prediction.sample_id)
            if index is None:
                unmatched.append(f"{prediction.where}: no sample with id {prediction.sample_id!r}")
                continue
        else:
            index = prediction.position
            if index >= len(samples):
                unmatched.append(f"{prediction.where}: the task has only {len(samples)} samples")
                continue
            if prediction.check is not None and not prediction.check(samples[index]):
                unmatched.append(f"{prediction.where}: does not answer sample {samples[index].id} (question or gold differs)")
                continue
        if index in matched:
            unmatched.append(f"{prediction.where}: a second prediction for sample {samples[index].id}")
            continue
        matched[index] = prediction
    return matched, unmatched


def text_scorer(task: Task, sample: Sample) -> Callable[[Sample, str], Scored]:
    """Scores an imported text with the task's own scorer. A multiple-choice task read by log-likelihood
    reads the text as its generated-letter format does (same scorer, the answer read from text)."""
    if isinstance(task, MultipleChoiceTask) and task.native_format.answer != "generate":
        if task.native_format.choice_style is None:
            raise AssayError(f"--task {task.name}: its prompts do not list the options, so a text cannot name one")
        reading = dataclasses.replace(task, native_format=dataclasses.replace(task.native_format, answer="generate"))
        return lambda s, text: reading.score(s, [Response(text=text)])
    requests = task.requests(sample)
    if len(requests) != 1 or requests[0].kind != "generate":
        raise AssayError(f"--task {task.name}: it is scored from {requests[0].kind} requests, not from a text; "
                         "import predictions for a task that generates")
    return lambda s, text: task.score(s, [Response(text=text)])


def _row(task: Task, index: int, sample: Sample, response: Response, scored: Scored | None,
         meta: dict[str, Any]) -> dict[str, Any]:
    failed = scored is None
    return {"task": task.name, "sample_id": sample.id, "idx": index, "cluster": sample.cluster,
            "prompt": prompt_of(task.requests(sample)), "target": sample.target, "request_hashes": [],
            "responses": [response.to_dict()], "extracted": None if failed else scored.extracted,
            "scores": {} if failed else scored.scores,
            "error": response.error if failed else scored.error,
            "error_kind": "request_failed" if failed else ("unparsable" if scored.error else None),
            "metadata": {**sample.metadata, **({} if failed else scored.metadata), **meta,
                         **({"choices": list(sample.choices)} if sample.choices else {})}}


def import_predictions(store: Store, path: Path, task: Task, label: str, ctx: TaskContext) -> ImportResult:
    """Store the predictions in PATH as a run of `task` by model `imported:LABEL`."""
    label = label.strip()
    if not label:
        raise AssayError("--model: expected a label for the imported system, e.g. --model gpt4-32k")
    found, digest = read_predictions(path)
    task_specs = task_specs_with_data([task], ctx)
    samples = list(task.samples(ctx))
    if not samples:
        raise AssayError(f"--task {task.name}: the task has no samples")
    score_text = text_scorer(task, samples[0])
    matched, unmatched = match(samples, found)
    if not matched:
        reason = (unmatched or found.unreadable or ["no rows"])[0]
        raise AssayError(f"{path}: none of its rows matches a sample of task {task.name} ({reason})")
    model_spec = f"imported:{label}"
    fingerprint = {"backend": "imported", "label": label, "file_sha256": digest, "format": found.format}
    key = config_key(fingerprint, list(task_specs.values()), ctx.seed, None)
    counts = {"rows": len(found.predictions) + len(found.unreadable), "matched": len(matched),
              "unmatched_rows": len(unmatched), "unreadable_rows": len(found.unreadable),
              "samples_without_prediction": len(samples) - len(matched)}
    notes = (found.unreadable + unmatched)[:NOTED]
    rows = []
    for index, sample in enumerate(samples):
        prediction = matched.get(index)
        if prediction is None:
            missing = Response(error=f"no prediction for this sample in {path.name}")
            rows.append(_row(task, index, sample, missing, None, {"imported_from": label}))
            continue
        response = Response(text=prediction.text, meta={"imported_from": label, "file_row": prediction.where})
        rows.append(_row(task, index, sample, response, score_text(sample, prediction.text),
                         {"imported_from": label, "file_row": prediction.where}))
    counts["unparsable"] = sum(1 for r in rows if r["error_kind"] == "unparsable")
    if (done := store.find_complete_run(key)) is not None:  # the same file imported before: show that run
        return ImportResult(done, True, store.get_metrics(done), counts, notes)
    options = {"data_dir": str(ctx.data_dir) if ctx.data_dir else None,
               "import": {"file": str(path), "sha256": digest, "format": found.format, **counts, "notes": notes}}
    manifest = build_manifest(model_spec, fingerprint, task_specs, ctx.seed, None, options)
    run_id = uuid.uuid4().hex[:12]
    store.create_run(run_id, key, model_spec, [task.name], ctx.seed, manifest)
    try:
        store.write_chunk(run_id, rows, {})
        metrics = compute_run_metrics(store, run_id, [task])
    except BaseException:
        store.delete_run(run_id)
        raise
    store.set_run_status(run_id, "complete")
    return ImportResult(run_id, False, metrics, counts, notes)
