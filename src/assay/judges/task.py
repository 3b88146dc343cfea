"""Judging as a task: samples built from a stored run's samples, requests that are judge prompts, scores
read from the judge's verdicts. The normal `Runner` runs it (cache, resume, store, metrics) with the judge
as the model, wrapped by `ReaskingJudge` for the one re-ask.

- `PointwiseJudgeTask`: one answer graded on a rubric's scale (`rubric_score`, mean with CI).
- `PairwiseJudgeTask`: two runs' answers, in both presentation orders by default. Per pair `b_wins` is 1
  (B wins in every order), 0 (A wins) or 0.5 (a tie, or a verdict that changes with the order: a position
  inconsistency). A reply unreadable after the re-ask is a judge error: the sample has no score (never 0),
  and `n_judge_errors` counts it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from assay.judges.parse import Parsed, parse_pairwise, parse_score
from assay.judges.prompts import JudgePrompt
from assay.metric_specs import MetricSpec, score
from assay.tasks.base import TaskContext
from assay.types import GenerateRequest, Message, Request, Response, Sample, Scored, canonical_json, sha256_hex

ORDERS = ("ab", "ba")
_B_WINS = {"a": 0.0, "b": 1.0, "tie": 0.5}
_FIRST_WINS = {"a": 1.0, "b": 0.0, "tie": 0.5}  # presented positions: "a" is the answer shown first
DEFAULT_MAX_TOKENS = 256


@dataclass(frozen=True)
class JudgeItem:
    """One stored sample to judge: its prompt (the question), the answer(s) and the reference if used."""

    sample_id: str
    cluster: str | None
    question: str
    outputs: tuple[str, ...]
    reference: str | None = None


def _canonical(order: str, presented: str) -> str:
    """The verdict in A/B terms (A = model_a) from what the judge said about the positions it saw."""
    if order == "ab" or presented == "tie":
        return presented
    return "b" if presented == "a" else "a"


def _reply(response: Response, parsed: Parsed) -> dict[str, Any]:
    return {"raw": response.text, "reason": parsed.reason, "error": parsed.error,
            "reasked": bool(response.meta.get("reasked")), "first_output": response.meta.get("first_output"),
            "first_error": response.meta.get("first_error")}


class _JudgeTaskBase:
    family = "judge"
    mode = ""

    def __init__(self, source_task: str, source: dict[str, Any], items: Sequence[JudgeItem], prompt: JudgePrompt,
                 max_tokens: int = DEFAULT_MAX_TOKENS) -> None:
        self.name = f"{self.kind_prefix}:{source_task}"
        self.source_task = source_task
        # {"runs": [...], "models": [...], "task_spec_hash": ...}: recorded in the spec and so in the manifest.
        self.source = source
        self.items = list(items)
        self.prompt = prompt
        self.max_tokens = max_tokens

    kind_prefix = "judge"

    def spec(self) -> dict[str, Any]:
        items_hash = sha256_hex(canonical_json([[i.sample_id, i.question, list(i.outputs), i.reference]
                                                for i in self.items]))
        return {"name": self.name, "source_task": self.source_task, "source": self.source, **self.prompt.spec(),
                "max_tokens": self.max_tokens, "items_sha256": items_hash}

    def size(self, ctx: TaskContext) -> int:
        return len(self.items)

    def run_options(self) -> frozenset[str]:
        return frozenset()

    def samples(self, ctx: TaskContext) -> Iterator[Sample]:
        for item in self.items:
            yield Sample(id=item.sample_id, input=item, target=item.reference, cluster=item.cluster or item.sample_id,
                         metadata={"question": item.question, "outputs": list(item.outputs),
                                   "reference": item.reference})

    def _request(self, text: str) -> GenerateRequest:
        return GenerateRequest(messages=(Message("user", text),), max_tokens=self.max_tokens, temperature=0.0)

    def parse(self, text: str | None) -> Parsed:
        raise NotImplementedError


class PointwiseJudgeTask(_JudgeTaskBase):
    mode = "pointwise"
    kind_prefix = "judge"

    def parse(self, text: str | None) -> Parsed:
        rubric = self.prompt.rubric
        assert rubric is not None
        return parse_score(text, rubric.min, rubric.max)

    def metrics(self) -> Sequence[MetricSpec]:
        rubric = self.prompt.rubric
        assert rubric is not None
        return [score("rubric_score", primary=True, scale=f"{rubric.min}..{rubric.max}",
                      description=f"the judge's {rubric.title} score (judge errors excluded, counted)"),
                *REPLY_COUNT_SPECS]

    def requests(self, sample: Sample) -> Sequence[Request]:
        item: JudgeItem = sample.input
        return [self._request(self.prompt.render(question=item.question, answer=item.outputs[0],
                                                 reference=item.reference))]

    def score(self, sample: Sample, responses: Sequence[Response]) -> Scored:
        parsed = self.parse(responses[0].text)
        reply = {"order": None, "score": parsed.score, **_reply(responses[0], parsed)}
        if not parsed.ok:
            return Scored(extracted=None, scores={}, error=f"judge error: {parsed.error}", metadata={"judge": [reply]})
        assert parsed.score is not None
        return Scored(extracted=str(int(parsed.score)), scores={"rubric_score": parsed.score},
                      metadata={"judge": [reply]})

    def aggregate(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return reply_count_rows(rows)


class PairwiseJudgeTask(_JudgeTaskBase):
    mode = "pairwise"
    kind_prefix = "battle"

    def __init__(self, source_task: str, source: dict[str, Any], items: Sequence[JudgeItem], prompt: JudgePrompt,
                 max_tokens: int = DEFAULT_MAX_TOKENS, orders: Sequence[str] = ORDERS) -> None:
        super().__init__(source_task, source, items, prompt, max_tokens)
        self.orders = tuple(orders)

    def spec(self) -> dict[str, Any]:
        return {**super().spec(), "orders": list(self.orders)}

    def parse(self, text: str | None) -> Parsed:
        return parse_pairwise(text)

    def metrics(self) -> Sequence[MetricSpec]:
        return [MetricSpec("b_wins", None, "0..1", "mean", primary=True,
                           description="per pair: 1 when B wins in every order, 0 when A does, 0.5 for a tie or a "
                                       "verdict that changes with the order"),
                score("position_consistent", description="the same verdict in both presentation orders"),
                MetricSpec("first_position_wins", None, "0..1", "mean",
                           description="how often the answer shown first wins (ties 0.5): 0.5 without position bias"),
                *(_count_spec(name, text) for name, text in _PAIR_COUNTS),
                *REPLY_COUNT_SPECS]

    def requests(self, sample: Sample) -> Sequence[Request]:
        item: JudgeItem = sample.input
        out = []
        for order in self.orders:
            first, second = item.outputs if order == "ab" else item.outputs[::-1]
            values: dict[str, Any] = {"question": item.question, "answer_a": first, "answer_b": second}
            if self.prompt.mode == "pairwise_reference":
                values["reference"] = item.reference
            out.append(self._request(self.prompt.render(**values)))
        return out

    def score(self, sample: Sample, responses: Sequence[Response]) -> Scored:
        replies = []
        for order, response in zip(self.orders, responses, strict=True):
            parsed = self.parse(response.text)
            verdict = _canonical(order, parsed.verdict) if parsed.verdict is not None else None
            replies.append({"order": order, "verdict": verdict, "presented": parsed.verdict, **_reply(response, parsed)})
        failed = [r for r in replies if r["error"] is not None]
        if failed:
            problem = "; ".join(f"order {r['order']}: {r['error']}" for r in failed)
            return Scored(extracted=None, scores={}, error=f"judge error: {problem}", metadata={"judge": replies})
        verdicts = {r["verdict"] for r in replies}
        consistent = len(verdicts) == 1
        combined = verdicts.pop() if consistent else "tie"
        scores = {"b_wins": _B_WINS[combined],
                  "first_position_wins": sum(_FIRST_WINS[r["presented"]] for r in replies) / len(replies)}
        if len(replies) > 1:
            scores["position_consistent"] = float(consistent)
        return Scored(extracted=combined, scores=scores,
                      metadata={"judge": replies, "verdict": combined, "position_consistent": consistent})

    def aggregate(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        judged = [r for r in rows if r["error_kind"] is None]
        counts = {"wins_a": sum(1 for r in judged if r["extracted"] == "a"),
                  "wins_b": sum(1 for r in judged if r["extracted"] == "b"),
                  "ties": sum(1 for r in judged if r["extracted"] == "tie"),
                  "n_position_inconsistent": sum(1 for r in judged if r["metadata"].get("position_consistent") is False),
                  "n_pairs_with_judge_error": sum(1 for r in rows if r["error_kind"] == "unparsable")}
        return [*({"name": name, "value": value, "n": len(rows), "method": "count"} for name, value in counts.items()),
                *reply_count_rows(rows)]


_PAIR_COUNTS = (
    ("wins_a", "pairs A wins in every order"),
    ("wins_b", "pairs B wins in every order"),
    ("ties", "pairs judged a tie, or whose verdict changed with the order"),
    ("n_position_inconsistent", "pairs whose verdict changed with the presentation order (counted as ties)"),
    ("n_pairs_with_judge_error", "pairs with an unreadable judge reply in some order (no verdict)"),
)


def _count_spec(name: str, description: str) -> MetricSpec:
    return MetricSpec(name, None, "count", "count", description=description)


# The counts of a judge's replies every judge task reports (the docqa faithfulness tasks too).
REPLY_COUNT_SPECS = (
    _count_spec("n_judge_errors", "judge replies unreadable after the re-ask (no score, never 0)"),
    _count_spec("n_reasked", "judge replies that were re-asked once for the format"),
    _count_spec("n_reask_recovered", "re-asked replies readable the second time"),
)


def reply_count_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The REPLY_COUNT_SPECS metric rows of stored judge samples (their metadata's "judge" replies)."""
    replies = [reply for r in rows for reply in (r["metadata"] or {}).get("judge", [])]
    counts = {"n_judge_errors": sum(1 for reply in replies if reply["error"] is not None),
              "n_reasked": sum(1 for reply in replies if reply["reasked"]),
              "n_reask_recovered": sum(1 for reply in replies if reply["reasked"] and reply["error"] is None)}
    return [{"name": name, "value": value, "n": len(replies), "method": "count"} for name, value in counts.items()]
