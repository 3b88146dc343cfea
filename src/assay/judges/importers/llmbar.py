"""LLMBar (princeton-nlp/LLMBar) judgments: `assay import judgments PATH --format llmbar`.

PATH is a set folder (`.../LLMBar/Natural`, `.../Processed/MT-Bench`: `dataset.json` plus
`evaluators/<judge>/<strategy>/result.json`) or one strategy folder (holding `result.json`). Each
instance `{input, output_1, output_2, label}` is an item `llmbar/<set>/<index>` comparing the pseudo-models
"output_1" (A) and "output_2" (B):

- the expert label (1 or 2, ties removed by the authors) becomes a `rater_kind="label"` judgment by the
  rater "expert" (no presentation order);
- each strategy's result becomes two judge judgments by the rater "<judge>/<strategy>" (e.g.
  "GPT-4/Vanilla_NoRules"): `swap = False` is order "ab" (output_1 shown first), `swap = True` order "ba".
  The file's winner is already in canonical terms ("1" = output_1). A strategy that runs several rounds
  (Swap re-judges an inconsistent pair) lists them in order; the last round is the verdict, the number
  of rounds is kept in `metadata["rounds"]`. A winner other than "1"/"2" is stored as a judge error.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from assay.errors import AssayError
from assay.judges.importers import importer
from assay.judges.importers._io import field, read_json
from assay.judges.types import Judgment

MODEL_A, MODEL_B = "output_1", "output_2"
EXPERT = "expert"
_WINNERS = {"1": "a", "2": "b"}
_ORDERS = {"swap = False": "ab", "swap = True": "ba"}


@importer("llmbar")
def import_llmbar(path: Path) -> list[Judgment]:
    path = Path(path)
    if (path / "result.json").is_file():
        set_dir = path.parent.parent.parent
        results = [path / "result.json"]
        instances = _instances(results[0])
    elif (path / "dataset.json").is_file():
        set_dir = path
        results = sorted((path / "evaluators").glob("*/*/result.json"))
        instances = _instances(path / "dataset.json")
    else:
        raise AssayError(f"{path}: not an LLMBar folder (expected dataset.json, a set folder, or result.json, "
                         "a strategy folder)")
    task = f"llmbar/{set_dir.name}"
    source = "import:llmbar"
    rows = [_label(source, task, index, instance) for index, instance in enumerate(instances)]
    labels = {index: instance["label"] for index, instance in enumerate(instances)}
    for result in results:
        rows.extend(_judge_rows(source, task, result, instances, labels))
    return rows


def _instances(path: Path) -> list[dict[str, Any]]:
    data = read_json(path)
    if not isinstance(data, list) or not data:
        raise AssayError(f"{path}: expected a non-empty JSON list of instances")
    for index, instance in enumerate(data):
        where = f"instance {index}"
        for name in ("input", "output_1", "output_2"):
            field(path, where, instance, name, str)
        label = field(path, where, instance, "label", int)
        if label not in (1, 2):
            raise AssayError(f"{path}: {where}: field 'label' must be 1 or 2, got {label!r}")
    return data


def _item(task: str, index: int) -> str:
    return f"{task}/{index}"


def _label(source: str, task: str, index: int, instance: dict[str, Any]) -> Judgment:
    return Judgment(source=source, kind="pairwise", task=task, item=_item(task, index), model_a=MODEL_A,
                    model_b=MODEL_B, rater=EXPERT, rater_kind="label", prompt=instance["input"],
                    output_a=instance["output_1"], output_b=instance["output_2"],
                    verdict=_WINNERS[str(instance["label"])])


def _judge_rows(source: str, task: str, result: Path, instances: list[dict[str, Any]],
                labels: dict[int, int]) -> list[Judgment]:
    rater = f"{result.parent.parent.name}/{result.parent.name}"
    data = read_json(result)
    if not isinstance(data, list) or len(data) != len(instances):
        raise AssayError(f"{result}: expected a list of {len(instances)} instances (as in the set), "
                         f"got {len(data) if isinstance(data, list) else type(data).__name__}")
    rows = []
    for index, entry in enumerate(data):
        where = f"instance {index}"
        if field(result, where, entry, "input", str) != instances[index]["input"]:
            raise AssayError(f"{result}: {where}: its input differs from the set's instance {index}")
        if entry.get("label", labels[index]) != labels[index]:
            raise AssayError(f"{result}: {where}: label {entry.get('label')!r} differs from the set's "
                             f"{labels[index]!r}")
        rounds = [r for r in field(result, where, entry, "results", list) if isinstance(r, dict)]
        if not rounds:
            raise AssayError(f"{result}: {where}: 'results' holds no round with 'swap = False'/'swap = True'")
        final = rounds[-1]
        for key, order in _ORDERS.items():
            outcome = field(result, where, final, key, dict)
            winner = str(outcome.get("winner"))
            completion = outcome.get("completion")
            reasoning = completion[0] if isinstance(completion, list) and completion else None
            verdict = _WINNERS.get(winner)
            rows.append(Judgment(
                source=source, kind="pairwise", task=task, item=_item(task, index), model_a=MODEL_A, model_b=MODEL_B,
                rater=rater, rater_kind="judge", prompt=instances[index]["input"],
                output_a=instances[index]["output_1"], output_b=instances[index]["output_2"], order=order,  # type: ignore[arg-type]
                verdict=verdict,  # type: ignore[arg-type]
                error=None if verdict else f"winner {winner!r} is neither '1' nor '2'",
                reasoning=reasoning if isinstance(reasoning, str) else None,
                metadata={"rounds": len(rounds)}))
    return rows
