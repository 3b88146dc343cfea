"""Tasks written in Python (`@assay.task`, `assay.generate`, `assay.choice`, `@assay.scorer`) on scripted models:
the shared task types underneath, declared metrics, the scorer contract, unparsable answers, spec and determinism."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import assay
from assay.errors import AssayError
from assay.tasks.base import Task, TaskContext
from assay.types import Response, Sample

RECORDS = [{"country": "France", "capital": "Paris"}, {"country": "Japan", "capital": "Tokyo"},
           {"country": "Peru", "capital": "Lima"}]


@assay.scorer(metrics=[assay.score("exact", primary=True), assay.score("length", higher_is_better=False,
                                                                        scale="chars")])
def exact_and_length(sample: Sample, response: str):
    answer = response.strip()
    if not answer:
        return assay.unparsable("empty answer", scores={"exact": 0.0, "length": 0.0})
    return {"exact": float(answer == sample.target), "length": float(len(answer))}


@assay.task
def capitals():
    """Capitals by exact match."""
    return assay.generate(dataset=RECORDS, prompt="Capital of {{ country }}?", target="capital",
                          scorer=exact_and_length, until=["\n"], max_tokens=5)


def _scored(task: Task, text: str, index: int = 0):
    sample = list(task.samples(TaskContext()))[index]
    return task.score(sample, [Response(text=text)])


def test_decorated_function_builds_a_task_named_after_it() -> None:
    task = capitals()
    assert isinstance(task, Task)
    assert (task.name, task.family, task.description) == ("capitals", "python", "Capitals by exact match.")
    samples = list(task.samples(TaskContext()))
    assert [s.input for s in samples] == ["Capital of France?", "Capital of Japan?", "Capital of Peru?"]
    request = task.requests(samples[0])[0]
    assert (request.prompt, request.until, request.max_tokens) == ("Capital of France?", ("\n",), 5)
    assert [m.name for m in task.metrics()] == ["exact", "length"]
    assert [m.name for m in task.metrics() if m.primary] == ["exact"]


def test_decorator_with_arguments_and_a_prompt_function() -> None:
    @assay.task(name="capitals_fn", description="by function")
    def build():
        return assay.generate(dataset=iter(RECORDS), prompt=lambda r: f"Q: {r['country']}", target=lambda r: r["capital"])

    task = build()
    assert (task.name, task.description) == ("capitals_fn", "by function")
    assert [s.input for s in task.samples(TaskContext())][0] == "Q: France"
    # The built-in exact_match when no scorer is given.
    assert _scored(task, " Paris\n").scores == {"exact_match": 1.0}
    assert task.spec()["prompt"]["function"].endswith("<lambda>")


def test_scorer_scores_and_unparsable_is_counted() -> None:
    task = capitals()
    assert _scored(task, " Paris").scores == {"exact": 1.0, "length": 5.0}
    empty = _scored(task, "  ")
    assert empty.error == "unparsable: empty answer" and empty.scores == {"exact": 0.0, "length": 0.0}


def test_undeclared_or_missing_score_names_the_scorer_and_metric() -> None:
    @assay.scorer(metrics=[assay.score("exact", primary=True)])
    def sloppy(sample, response):
        return {"exact": 1.0, "bonus": 1.0} if response == "extra" else {}

    task = assay.generate(dataset=RECORDS, prompt="{{ country }}", target="capital", scorer=sloppy)
    with pytest.raises(AssayError, match=r"scorer sloppy: returned metric 'bonus'.*does not declare"):
        _scored(task, "extra")
    with pytest.raises(AssayError, match=r"scorer sloppy: declared metric 'exact' is missing"):
        _scored(task, "other")


def test_a_scorer_that_raises_is_one_line_with_its_line() -> None:
    @assay.scorer(metrics=[assay.score("exact", primary=True)])
    def broken(sample, response):
        return {"exact": sample.metadata["record"]["missing_field"]}

    task = assay.generate(dataset=RECORDS, prompt="{{ country }}", target="capital", scorer=broken)
    with pytest.raises(AssayError, match=r"scorer broken raised KeyError: 'missing_field' on sample '0' "
                                         r"\(test_python_task.py line \d+\)"):
        _scored(task, "x")


def test_scorer_declarations_are_checked_when_decorated() -> None:
    with pytest.raises(AssayError, match="scorer two: expected exactly one primary metric"):
        assay.scorer(metrics=[assay.score("a", primary=True), assay.score("b", primary=True)], name="two")(lambda s, r: {})
    with pytest.raises(AssayError, match="scorer none: expected exactly one primary metric, got none"):
        assay.scorer(metrics=[assay.score("a")], name="none")(lambda s, r: {})
    with pytest.raises(AssayError, match="'n_unparsable' is a count every task gets"):
        assay.scorer(metrics=[assay.score("n_unparsable", primary=True)])(lambda s, r: {})


def test_unparsable_without_scores_refuses_a_lower_is_better_metric() -> None:
    @assay.scorer(metrics=[assay.score("exact", primary=True), assay.score("loss", higher_is_better=False)])
    def lazy(sample, response):
        return assay.unparsable("nothing")

    task = assay.generate(dataset=RECORDS, prompt="{{ country }}", target="capital", scorer=lazy)
    with pytest.raises(AssayError, match="scorer lazy: unparsable\\(\\) without scores, but loss"):
        _scored(task, "x")


def test_choice_scores_by_loglikelihood_with_the_builtin_metrics(tmp_path: Path) -> None:
    data = tmp_path / "mc.jsonl"
    data.write_text("\n".join(json.dumps({"q": f"Q{i}", "options": ["yes", "no"], "answer": "B"}) for i in range(3)))
    task = assay.choice(dataset=str(data), prompt="{{ q }}", choices="options", target="answer")
    samples = list(task.samples(TaskContext()))
    assert [s.target for s in samples] == [1, 1, 1] and samples[0].choices == ["yes", "no"]
    assert len(task.requests(samples[0])) == 2  # one log-likelihood request per choice
    scored = task.score(samples[0], [Response(logprob=-3.0), Response(logprob=-1.0)])
    assert scored.scores == {"acc": 1.0, "acc_norm": 1.0}
    assert {m.name for m in task.metrics()} >= {"acc", "acc_norm", "ece", "brier"}
    assert task.spec()["dataset"]["source"] == f"file:{data}"


def test_choice_with_a_scorer_scores_the_most_likely_choice_text() -> None:
    @assay.scorer(metrics=[assay.score("picked_yes", primary=True)])
    def picked_yes(sample, response):
        return {"picked_yes": float(response == "yes")}

    task = assay.choice(dataset=[{"q": "?", "options": ["yes", "no"], "answer": 0}], prompt="{{ q }}",
                        choices="options", target="answer", scorer=picked_yes)
    sample = next(iter(task.samples(TaskContext())))
    assert task.score(sample, [Response(logprob=-1.0), Response(logprob=-2.0)]).scores == {"picked_yes": 1.0}
    assert [m.name for m in task.metrics()][:1] == ["picked_yes"]


def test_spec_changes_with_data_prompt_scorer_and_settings() -> None:
    def spec(**changes):
        settings = {"dataset": RECORDS, "prompt": "Capital of {{ country }}?", "target": "capital",
                    "scorer": exact_and_length, "max_tokens": 5, **changes}
        return json.dumps(assay.generate(**settings).spec(), sort_keys=True)

    base = spec()
    assert base == spec(dataset=[dict(r) for r in RECORDS])  # same records, another list: same spec
    assert spec(dataset=RECORDS[:2]) != base
    assert spec(prompt="Capital: {{ country }}") != base
    assert spec(max_tokens=6) != base
    assert spec(scorer="exact_match") != base
    scorer_spec = json.loads(base)["scorer"]
    assert scorer_spec["name"] == "exact_and_length" and len(scorer_spec["source_sha256"]) == 64


def test_same_seed_same_samples_and_spec() -> None:
    first, second = capitals(), capitals()
    ctx = TaskContext(seed=7)
    assert [(s.id, s.input, s.target) for s in first.samples(ctx)] == \
        [(s.id, s.input, s.target) for s in second.samples(TaskContext(seed=7))]
    assert first.spec() == second.spec()


def test_bad_builder_input_is_one_line() -> None:
    with pytest.raises(AssayError, match="prompt: record 1: UndefinedError: 'city' is undefined"):
        assay.generate(dataset=RECORDS, prompt="{{ city }}", target="capital")
    with pytest.raises(AssayError, match="target: record 1 has no field 'answer'"):
        assay.generate(dataset=RECORDS, prompt="{{ country }}", target="answer")
    with pytest.raises(AssayError, match="dataset: record 2 is int; expected a dict"):
        assay.generate(dataset=[RECORDS[0], 3], prompt="x", target="capital")
    with pytest.raises(AssayError, match="dataset: nope.jsonl: file not found"):
        assay.generate(dataset="nope.jsonl", prompt="x", target="capital")
    with pytest.raises(AssayError, match="target: record 1: answer 'Z'"):
        assay.choice(dataset=[{"q": "?", "c": ["a", "b"], "t": "Z"}], prompt="{{ q }}", choices="c", target="t")
    with pytest.raises(AssayError, match="judge: bad pointwise judge template"):
        assay.generate(dataset=RECORDS, prompt="x", target="capital", judge="{{ answr }}")


def test_a_function_returning_no_task_is_refused() -> None:
    @assay.task
    def not_a_task():
        return 42

    with pytest.raises(AssayError, match=r"not_a_task\(\) returned int; expected a task"):
        not_a_task()
