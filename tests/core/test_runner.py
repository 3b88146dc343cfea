"""Runner behaviour with the scripted model: dedupe, cache, resume, errors, determinism."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from assay.metric_specs import MetricSpec, score
from assay.models.scripted import ScriptedModel
from assay.runner import Runner, RunOptions
from assay.store import Store
from assay.tasks.base import TaskBase, TaskContext
from assay.tasks.builtin.arithmetic import ArithmeticChoiceTask, ArithmeticTask
from assay.tasks.repeated import RepeatedTask
from assay.types import GenerateRequest, Request, Response, Sample, Scored


class DuplicatePromptTask(TaskBase):
    """Ten samples whose requests collapse to two distinct prompts."""

    name = "dup"
    family = "test"

    def spec(self) -> dict:
        return {"name": self.name}

    def samples(self, ctx: TaskContext) -> Iterator[Sample]:
        for i in range(10):
            yield Sample(id=f"s{i}", input=f"prompt {i % 2}", target=f"prompt {i % 2}")

    def requests(self, sample: Sample) -> Sequence[Request]:
        return [GenerateRequest(prompt=sample.input, max_tokens=4)]

    def metrics(self) -> list[MetricSpec]:
        return [score("em", primary=True)]

    def score(self, sample: Sample, responses: Sequence[Response]) -> Scored:
        return Scored(extracted=responses[0].text, scores={"em": float(responses[0].text == sample.target)})


def _options(limit: int | None = None) -> RunOptions:
    return RunOptions(seed=7, limit=limit, show_progress=False, context=TaskContext())


def _scores(store: Store, run_id: str) -> list[tuple[str, str, str]]:
    return [(r["task"], r["sample_id"], json.dumps(r["scores"], sort_keys=True))
            for r in store.iter_samples(run_id, columns=("task", "sample_id", "scores"))]


def test_dedupes_identical_requests_and_caches(store: Store) -> None:
    model = ScriptedModel("echo", None)
    result = Runner(model, store).run([DuplicatePromptTask()], _options())
    assert result.stats["requests"] == 10
    assert result.stats["unique_requests"] == 2
    assert model.calls == 2
    again = ScriptedModel("echo", None)
    second = Runner(again, store).run([DuplicatePromptTask()], _options())
    assert again.calls == 0 and second.stats["cache_hits"] == 2
    assert second.run_id != result.run_id
    metrics = {m["name"]: m for m in second.metrics}
    assert metrics["em"]["value"] == 1.0 and metrics["em"]["n"] == 10


def test_same_seed_same_scores(tmp_path: Path) -> None:
    runs = []
    for name in ("a", "b"):
        store = Store(f"sqlite:///{tmp_path / name}.db")
        result = Runner(ScriptedModel("echo", None), store).run([ArithmeticTask(), ArithmeticChoiceTask()], _options(30))
        runs.append(_scores(store, result.run_id))
    assert runs[0] == runs[1] and len(runs[0]) == 60


def test_failed_requests_are_errors_not_wrong_answers(store: Store) -> None:
    result = Runner(ScriptedModel("fail", "3"), store).run([ArithmeticTask()], _options(60))
    rows = list(store.iter_samples(result.run_id))
    failed = [r for r in rows if r["error_kind"] == "request_failed"]
    assert 0 < len(failed) < 60
    assert all(r["scores"] == {} and r["error"] for r in failed)
    metrics = {m["name"]: m for m in result.metrics}
    assert metrics["n_request_errors"]["value"] == len(failed)
    assert metrics["exact_match"]["n"] == 60 - len(failed)
    # Failures are not cached: a rerun asks the model again for exactly those.
    retry_model = ScriptedModel("echo", None)
    retry_model.fingerprint = ScriptedModel("fail", "3").fingerprint  # type: ignore[method-assign]
    Runner(retry_model, store).run([ArithmeticTask()], _options(60))
    assert retry_model.calls == len(failed)


def test_unparsable_outputs_are_counted(store: Store) -> None:
    result = Runner(ScriptedModel("constant", "no digits here"), store).run([ArithmeticTask()], _options(5))
    metrics = {m["name"]: m for m in result.metrics}
    assert metrics["n_unparsable"]["value"] == 5
    assert metrics["exact_match"]["value"] == 0.0


def test_resume_skips_stored_samples(store: Store) -> None:
    runner = Runner(ScriptedModel("echo", None), store)
    task = ArithmeticTask()
    options = _options(40)
    options.chunk_size = 10

    class Boom(Exception):
        pass

    original = runner._run_chunk
    calls = {"n": 0}

    def crash_on_third(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise Boom()
        return original(*args, **kwargs)

    runner._run_chunk = crash_on_third  # type: ignore[method-assign]
    with pytest.raises(Boom):
        runner.run([task], options)
    (unfinished,) = [r for r in store.list_runs() if r["status"] == "running"]
    assert store.count_samples(unfinished["id"]) == 20
    resumed = Runner(ScriptedModel("echo", None), store).run([task], options)
    assert resumed.resumed and resumed.run_id == unfinished["id"]
    assert resumed.stats["skipped_existing"] == 20
    assert store.count_samples(resumed.run_id) == 40


def test_repeats_share_a_cluster(store: Store) -> None:
    result = Runner(ScriptedModel("echo", None), store).run([RepeatedTask(ArithmeticTask(), 3)], _options(3))
    rows = list(store.iter_samples(result.run_id))
    assert {r["cluster"] for r in rows} == {"arith-0", "arith-1", "arith-2"}
    seeds = {json.dumps(r["request_hashes"]) for r in rows}
    assert len(seeds) == 9  # each repeat is its own sampled request
    exact = next(m for m in result.metrics if m["name"] == "exact_match")
    assert exact["method"].startswith("clustered")


def test_mc_task_records_choice_logprobs(store: Store) -> None:
    result = Runner(ScriptedModel("echo", None), store).run([ArithmeticChoiceTask()], _options(5))
    row = next(store.iter_samples(result.run_id))
    assert len(row["metadata"]["choice_logprobs"]) == 4
    assert row["metadata"]["target_index"] == row["target"]


def test_bad_input_before_any_sample_leaves_no_run(store: Store) -> None:
    from assay.errors import AssayError
    from assay.tasks import get_task

    options = _options(3)
    options.context.data_dir = Path("/no/such/data")
    with pytest.raises(AssayError, match="gsm8k"):
        Runner(ScriptedModel("echo", None), store).run([get_task("gsm8k")], options)
    assert store.list_runs() == []


def test_chunks_are_several_waves_of_a_concurrent_backend_unless_the_user_sets_a_size() -> None:
    from assay.models.openai_compat import OpenAICompatModel
    from assay.runner import chunk_size_for

    scripted = ScriptedModel("echo", None)
    api = OpenAICompatModel("http://127.0.0.1:9/v1", "m", concurrency=256)
    try:
        assert chunk_size_for(scripted, None) == 256
        assert chunk_size_for(api, None) == 2048
        assert chunk_size_for(api, 10) == 10
    finally:
        api.close()


def test_a_concurrent_backend_overlaps_store_writes_and_stores_the_same_samples(tmp_path: Path) -> None:
    """Chunk N is written on a thread while chunk N+1 runs; a request repeated across those two chunks is
    answered from the chunk still being written, and the stored samples equal a sequential run's."""
    runs = []
    for name, concurrency in (("sequential", 1), ("overlapped", 4)):
        store = Store(f"sqlite:///{tmp_path / name}.db")
        write_chunk = store.write_chunk

        def slow_write(*args: object, write_chunk=write_chunk) -> None:
            time.sleep(0.02)  # the next chunk's cache lookup runs before this write commits
            write_chunk(*args)  # type: ignore[arg-type]

        store.write_chunk = slow_write  # type: ignore[method-assign]
        model = ScriptedModel("echo", None)
        model.concurrency = concurrency  # type: ignore[attr-defined]
        options = _options()
        options.chunk_size = 2  # "prompt 0" and "prompt 1" in every chunk: the next chunk repeats both
        options.limit = 30
        result = Runner(model, store).run([DuplicatePromptTask(), ArithmeticTask()], options)
        assert model.calls == 2 + 30 and result.stats["cache_hits"] == 8
        runs.append((_scores(store, result.run_id), store.count_samples(result.run_id)))
        store.close()
    assert runs[0] == runs[1] and runs[0][1] == 40
