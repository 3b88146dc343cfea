"""PRD ("Peer Rank and Discussion", bcdnlp/PRD) Vicuna-80 ratings: `assay import judgments PATH --format prd`.

PATH is the `vicuna80` folder: `ratings-human/` and `ratings-gpt4/` hold one file per ordered pair,
`answer_<X>-vs-answer_<Y>-<rater>-reviewer[-_]threeclass.jsonl`, one line per rating with `question_id` and
`score`: 1 = the first answer (X, "Assistant 1") is better, 2 = the second (Y), 3 = tie, -1 = no decision.
The paper maps them to {1: -1 (first wins), 2: +1 (second wins), 3: 0, -1: 0}; here a rating is a judgment
on item `vicuna80/<question_id>` with the pair in canonical order (model_a = the alphabetically first
name, so both files of a pair share it), `order` "ab" when X = model_a was shown first, "ba" otherwise,
and the verdict in canonical terms; -1 is a tie with `metadata["no_decision"] = True`, as in the paper.

- `ratings-gpt4`: rater "gpt4", `rater_kind="judge"`, its review text as the reasoning.
- `ratings-human`: up to three crowd votes per question and file; the k-th vote on a question is rater
  "human-<k>" (`rater_kind="human"`), so a human majority is the majority of human raters on an item.
  Human files also cover guanaco models whose answers are not in `generations/`: imported, without
  outputs.
Prompts come from `prompts/vicuna_questions.jsonl` and answers from `generations/answer_<model>.jsonl`
when present.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from assay.errors import AssayError
from assay.judges.importers import importer
from assay.judges.importers._io import field, read_jsonl
from assay.judges.types import Judgment

TASK = "prd/vicuna80"
_FILE = re.compile(r"^answer_(?P<x>.+?)-vs-answer_(?P<y>.+?)-(?P<rater>gpt4|human)-reviewer[-_]threeclass\.jsonl$")
# score -> (winner position: 1 = first shown, 2 = second shown, 0 = tie, None = no decision)
_SCORES: dict[int, int | None] = {1: 1, 2: 2, 3: 0, -1: None}


@importer("prd")
def import_prd(path: Path) -> list[Judgment]:
    path = Path(path)
    folders = [path / "ratings-gpt4", path / "ratings-human"]
    if not any(folder.is_dir() for folder in folders):
        raise AssayError(f"{path}: not a PRD vicuna80 folder (expected ratings-gpt4/ and/or ratings-human/)")
    questions = _texts(path / "prompts" / "vicuna_questions.jsonl")
    answers = {file.name[len("answer_"):-len(".jsonl")]: _texts(file)
               for file in sorted((path / "generations").glob("answer_*.jsonl"))}
    rows: list[Judgment] = []
    for folder in folders:
        if not folder.is_dir():
            continue
        files = sorted(folder.glob("*.jsonl"))
        if not files:
            raise AssayError(f"{folder}: no rating files (*.jsonl)")
        for file in files:
            rows.extend(_ratings(file, questions, answers))
    return rows


def _texts(path: Path) -> dict[int, str]:
    if not path.is_file():
        return {}
    return {field(path, f"line {n}", row, "question_id", int): field(path, f"line {n}", row, "text", str)
            for n, row in read_jsonl(path)}


def _ratings(file: Path, questions: dict[int, str], answers: dict[str, dict[int, str]]) -> list[Judgment]:
    match = _FILE.match(file.name)
    if match is None:
        raise AssayError(f"{file}: name does not read as answer_<A>-vs-answer_<B>-<gpt4|human>-reviewer_threeclass.jsonl")
    first, second, rater_name = match["x"], match["y"], match["rater"]
    if first == second:
        raise AssayError(f"{file}: a model against itself")
    model_a, model_b = sorted((first, second))
    order = "ab" if first == model_a else "ba"
    votes: dict[int, int] = {}
    rows = []
    for number, row in read_jsonl(file):
        where = f"line {number}"
        question = field(file, where, row, "question_id", int)
        score = field(file, where, row, "score", int)
        if score not in _SCORES:
            raise AssayError(f"{file}: {where}: score must be 1, 2, 3 or -1, got {score}")
        shown = _SCORES[score]
        winner = {1: first, 2: second}.get(shown or 0)
        verdict = "tie" if winner is None else ("a" if winner == model_a else "b")
        votes[question] = votes.get(question, 0) + 1
        human = rater_name == "human"
        metadata: dict[str, Any] = {"score": score}
        if shown is None:
            metadata["no_decision"] = True
        for key in ("review_id", "reviewer_id"):
            if key in row:
                metadata[key] = row[key]
        rows.append(Judgment(
            source="import:prd", kind="pairwise", task=TASK, item=f"vicuna80/{question}", model_a=model_a,
            model_b=model_b, rater=f"human-{votes[question]}" if human else "gpt4",
            rater_kind="human" if human else "judge", prompt=questions.get(question),
            output_a=answers.get(model_a, {}).get(question), output_b=answers.get(model_b, {}).get(question),
            order=order, verdict=verdict,  # type: ignore[arg-type]
            reasoning=None if human else row.get("text") if isinstance(row.get("text"), str) else None,
            metadata=metadata))
    return rows
