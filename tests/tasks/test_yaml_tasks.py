"""Declarative tasks that load: few-shot, extraction, data formats and locations, the three output
types end to end through the CLI and the runner."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from assay.errors import AssayError
from assay.models.scripted import ScriptedModel
from assay.runner import Runner, RunOptions
from assay.tasks import TaskContext, get_task
from assay.tasks.yaml_task import load_yaml_task
from assay.types import Response

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "tasks"
CAPITALS = [json.loads(line) for line in (FIXTURES / "capitals.jsonl").read_text(encoding="utf-8").splitlines()]


def _write_task(folder: Path, body: str, name: str = "task.yaml") -> Path:
    path = folder / name
    path.write_text(body, encoding="utf-8")
    return path


def test_generate_task_few_shot_is_seeded_and_never_shows_the_sample_itself() -> None:
    task = get_task(str(FIXTURES / "capitals.yaml"))
    samples = list(task.samples(TaskContext()))
    assert [s.id for s in samples] == [r["id"] for r in CAPITALS]
    for sample, record in zip(samples, CAPITALS, strict=True):
        assert sample.input.startswith("Answer with the city name.\n\n")
        assert sample.input.endswith(f"Q: What is the capital of {record['country']}?\nA:")
        assert sample.input.count("Q: ") == 3  # two exemplars
        assert f"A: {record['capital']}\n" not in sample.input
    again = load_yaml_task(FIXTURES / "capitals.yaml")
    assert [s.input for s in again.samples(TaskContext())] == [s.input for s in samples]


def test_generate_task_extraction_and_metrics() -> None:
    task = load_yaml_task(FIXTURES / "capitals.yaml")
    sample = next(iter(task.samples(TaskContext())))
    assert task.score(sample, [Response(text=" paris.")]).scores == {"exact_match": 1.0, "f1": 1.0}
    assert task.score(sample, [Response(text="Hmm. The answer is Paris")]).extracted == "Paris"
    assert task.score(sample, [Response(text="<think>Lyon?</think>\nParis")]).extracted == "Paris"
    assert task.score(sample, [Response(text="Lyon")]).scores["exact_match"] == 0.0
    assert task.score(sample, [Response(text="   ")]).error.startswith("unparsable")
    assert task.spec()["config"]["few_shot"]["seed"] == 7 and len(task.spec()["yaml_sha256"]) == 64


def test_multiple_choice_targets_as_index_letter_or_text() -> None:
    task = load_yaml_task(FIXTURES / "mc.yaml")
    samples = list(task.samples(TaskContext()))
    assert [s.target for s in samples] == [1, 1, 1, 2, 0, 3]
    assert all(len(s.metadata["fewshot"]) == 1 for s in samples)
    first = task.requests(samples[0])
    assert first[0].context.count("Question: ") == 2 and first[0].context.endswith("D. Earth\nAnswer:")


def test_end_to_end_cli_with_an_oracle_model(tmp_path: Path) -> None:
    from assay.cli import app

    table = {f"capital of {r['country']}?": r["capital"] for r in CAPITALS}
    (tmp_path / "oracle.json").write_text(json.dumps(table), encoding="utf-8")
    (tmp_path / "capitals.jsonl").write_text((FIXTURES / "capitals.jsonl").read_text(encoding="utf-8"), encoding="utf-8")
    path = _write_task(tmp_path, (
        "name: oracle_capitals\noutput_type: generate_until\ndataset: {path: capitals.jsonl}\n"
        "prompt: {template: \"Q: What is the capital of {{ country }}?\\nA:\"}\ntarget: capital\n"
        "generation: {until: [\"\\n\"], max_tokens: 8}\nmetrics: [exact_match]\n"))
    result = CliRunner().invoke(app, ["run", "--model", f"scripted:oracle={tmp_path / 'oracle.json'}", "--task", str(path),
                                      "--db", f"sqlite:///{tmp_path / 'a.db'}", "--json"])
    assert result.exit_code == 0, result.output
    metrics = {m["name"]: m for m in json.loads(result.stdout)["metrics"]}
    assert metrics["exact_match"]["value"] == 1.0 and metrics["exact_match"]["n"] == 6


def test_rolling_task_corpus_metrics(store) -> None:
    task = load_yaml_task(FIXTURES / "rolling.yaml")
    result = Runner(ScriptedModel("echo", None), store).run([task], RunOptions(show_progress=False))
    metrics = {m["name"]: m["value"] for m in result.metrics}
    rows = list(store.iter_samples(result.run_id, task.name))
    total = sum(r["metadata"]["logprob"] for r in rows)
    words = sum(len(r["prompt"].split()) for r in rows)
    n_bytes = sum(len(r["prompt"].encode()) for r in rows)
    assert metrics["corpus_word_perplexity"] == pytest.approx(math.exp(-total / words))
    assert metrics["corpus_bits_per_byte"] == pytest.approx(-total / (n_bytes * math.log(2)))
    assert "corpus_byte_perplexity" not in metrics  # not listed in the file's metrics


def test_csv_and_parquet_records(tmp_path: Path) -> None:
    with (tmp_path / "items.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=["country", "capital"])
        writer.writeheader()
        writer.writerows({"country": r["country"], "capital": r["capital"]} for r in CAPITALS)
    pq.write_table(pa.Table.from_pylist(CAPITALS), tmp_path / "items.parquet")
    for suffix in ("csv", "parquet"):
        path = _write_task(tmp_path, (
            f"name: from_{suffix}\noutput_type: generate_until\ndataset: {{path: items.{suffix}}}\n"
            "prompt: {template: \"{{ country }}:\"}\ntarget: capital\nmetrics: [exact_match]\n"), f"{suffix}.yaml")
        samples = list(load_yaml_task(path).samples(TaskContext()))
        assert [s.target for s in samples] == [r["capital"] for r in CAPITALS]


def test_relative_data_found_later_under_the_run_data_dir(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    (data_dir / "sub").mkdir(parents=True)
    (data_dir / "sub" / "items.jsonl").write_text((FIXTURES / "capitals.jsonl").read_text(encoding="utf-8"), encoding="utf-8")
    path = _write_task(tmp_path, ("name: later_data\noutput_type: generate_until\ndataset: {path: sub/items.jsonl}\n"
                                  "prompt: {template: \"{{ country }}\"}\ntarget: capital\nmetrics: [exact_match]\n"))
    task = load_yaml_task(path)  # not found yet: the YAML folder and the default data dir lack it
    assert len(list(task.samples(TaskContext(data_dir=data_dir)))) == 6
    with pytest.raises(AssayError, match="dataset.path: data file 'sub/items.jsonl' not found"):
        list(load_yaml_task(path).samples(TaskContext(data_dir=tmp_path / "elsewhere")))


def test_fixed_prompt_file_and_sandbox(tmp_path: Path) -> None:
    (tmp_path / "shots.txt").write_text("Q: Italy\nA: Rome\n", encoding="utf-8")
    (tmp_path / "c.jsonl").write_text((FIXTURES / "capitals.jsonl").read_text(encoding="utf-8"), encoding="utf-8")
    body = ("name: fixed_shots\noutput_type: generate_until\ndataset: {path: c.jsonl}\n"
            "prompt: {template: \"Q: {{ country }}\\nA:\"}\ntarget: capital\n"
            "few_shot: {prompt_file: shots.txt}\nmetrics: [exact_match]\n")
    sample = next(iter(load_yaml_task(_write_task(tmp_path, body)).samples(TaskContext())))
    assert sample.input == "Q: Italy\nA: Rome\n\nQ: France\nA:"
    unsafe = body.replace("Q: {{ country }}", "{{ country.__class__.__mro__ }}").replace("fixed_shots", "unsafe")
    with pytest.raises(AssayError, match="prompt.template: .*SecurityError"):
        load_yaml_task(_write_task(tmp_path, unsafe, "unsafe.yaml"))


def test_hf_dataset_that_cannot_be_loaded_is_one_line(tmp_path: Path, monkeypatch) -> None:
    """Without the `datasets` package, or offline with it, the error names dataset.hf."""
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    path = _write_task(tmp_path, ("name: from_hub\noutput_type: generate_until\n"
                                  "dataset: {hf: assay-no-such-org/no-such-dataset}\n"
                                  "prompt: {template: \"{{ question }}\"}\ntarget: answer\nmetrics: [exact_match]\n"))
    with pytest.raises(AssayError, match=r"task.yaml: dataset.hf: (the `datasets` package is not installed|cannot load)") as info:
        load_yaml_task(path)
    assert "\n" not in str(info.value)


def test_record_field_named_target_does_not_clash_with_the_answer_template(tmp_path: Path) -> None:
    (tmp_path / "r.jsonl").write_text('{"q": "1+1", "target": "2"}\n{"q": "2+2", "target": "4"}\n', encoding="utf-8")
    path = _write_task(tmp_path, ("name: field_target\noutput_type: generate_until\ndataset: {path: r.jsonl}\n"
                                  "prompt: {template: \"{{ q }} =\"}\ntarget: \"target | int * 10\"\n"
                                  "few_shot: {count: 1}\nmetrics: [exact_match]\n"))
    samples = list(load_yaml_task(path).samples(TaskContext()))
    assert samples[0].input == "2+2 = 40\n\n1+1 =" and samples[0].target == "20"


EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "tasks"


def test_local_example_runs_with_prompt_formats(store) -> None:
    task = load_yaml_task(EXAMPLES / "science_mc.yaml")
    result = Runner(ScriptedModel("echo", None), store).run(
        [task], RunOptions(context=TaskContext(options={"prompt_formats": 3}), show_progress=False))
    assert {m["name"] for m in result.metrics} >= {"acc", "acc_norm", "ece", "brier", "format_sensitivity"}


@pytest.mark.shared_data
@pytest.mark.parametrize("name", ["gsm8k_zeroshot.yaml", "bbh_boolean_fewshot.yaml"])
def test_examples_on_shared_data(name: str, shared_data_dir: Path) -> None:
    task = load_yaml_task(EXAMPLES / name)
    samples = list(task.samples(TaskContext(data_dir=shared_data_dir)))
    assert len(samples) in (250, 1319)
    first = samples[0]
    reply = f"So... The answer is {first.target}." if name.startswith("gsm8k") else f" {first.target}"
    assert task.score(first, [Response(text=reply)]).scores["exact_match"] == 1.0


def test_target_index_forms() -> None:
    from assay.tasks.yaml_task import choice_index

    def error(problem: str) -> AssayError:
        return AssayError(problem)

    choices = ["42", "36", "7"]
    assert choice_index("42", choices, error) == 0  # a choice text, not index 42
    assert choice_index(2, choices, error) == 2 and choice_index("1", ["a", "b"], error) == 1
    assert choice_index("B", choices, error) == 1
    for bad in (True, "Z", 5, "nothing"):
        with pytest.raises(AssayError):
            choice_index(bad, choices, error)
