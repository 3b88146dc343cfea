"""`assay compare` and `assay power` on real runs: a tiny task run through Runner + Store into a
SQLite file with scripted models, then the CLI reads the store."""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Iterator, Sequence

import pytest
from scipy import stats as scipy_stats
from statsmodels.stats.power import NormalIndPower
from typer.testing import CliRunner

from assay.cli import app
from assay.metric_specs import MetricSpec, score
from assay.models import load_model
from assay.runner import Runner, RunOptions
from assay.store import Store
from assay.tasks.base import TaskBase, TaskContext
from assay.types import GenerateRequest, Request, Response, Sample, Scored

N_SAMPLES = 60
# Model B (oracle) knows the answers to the first 45 questions; model A always says "yes".
ORACLE_KNOWS = 45


class TinyQA(TaskBase):
    """Sixty yes/no questions; even ones are "yes". `id_prefix` is deliberately not part of the spec."""

    name = "tiny_qa"
    family = "test"

    def __init__(self, version: str = "v1", id_prefix: str = "q") -> None:
        self.version = version
        self.id_prefix = id_prefix

    def spec(self) -> dict:
        return {"name": self.name, "version": self.version, "n": N_SAMPLES}

    def samples(self, ctx: TaskContext) -> Iterator[Sample]:
        for i in range(N_SAMPLES):
            yield Sample(id=f"{self.id_prefix}{i}", input=f"<q{i}>", target="yes" if i % 2 == 0 else "no")

    def requests(self, sample: Sample) -> Sequence[Request]:
        return [GenerateRequest(prompt=sample.input, max_tokens=4)]

    def metrics(self) -> list[MetricSpec]:
        return [score("em", primary=True), score("length", None, scale="characters")]

    def score(self, sample: Sample, responses: Sequence[Response]) -> Scored:
        text = responses[0].text or ""
        return Scored(extracted=text, scores={"em": float(text == sample.target), "length": float(len(text))})


def _run(store: Store, model_spec: str, task: TinyQA) -> str:
    model = load_model(model_spec)
    try:
        return Runner(model, store).run([task], RunOptions(seed=3, show_progress=False, context=TaskContext())).run_id
    finally:
        model.close()


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    folder = tmp_path_factory.mktemp("compare")
    oracle = folder / "oracle.json"
    oracle.write_text(json.dumps({f"<q{i}>": "yes" if i % 2 == 0 else "no" for i in range(ORACLE_KNOWS)}))
    db = folder / "assay.db"
    store = Store(f"sqlite:///{db}")
    ids = {
        "db": str(db),
        "a": _run(store, "scripted:constant=yes", TinyQA()),
        "b": _run(store, f"scripted:oracle={oracle}", TinyQA()),
        "changed_task": _run(store, f"scripted:oracle={oracle}", TinyQA(version="v2")),
        "other_ids": _run(store, "scripted:constant=no", TinyQA(id_prefix="z")),
        "failing": _run(store, "scripted:fail=4", TinyQA()),
    }
    store.close()
    return ids


def _cli_json(*args: str) -> dict:
    result = CliRunner().invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.fixture()
def assay(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch):
    """Run the real entry point (`assay.cli.main`, which turns AssayError into one line and exit 2)
    in-process: returns (exit code, stdout, stderr)."""
    from assay.cli import main

    def invoke(*args: str) -> tuple[int, str, str]:
        monkeypatch.setattr(sys, "argv", ["assay", *args])
        capsys.readouterr()
        try:
            main()
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 0 if exc.code is None else 1
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return invoke


def test_compare_reports_paired_mcnemar_with_holm_and_mde(runs: dict[str, str]) -> None:
    result = _cli_json("compare", runs["a"], runs["b"], "--db", runs["db"])
    by_metric = {c["metric"]: c for c in result["comparisons"]}
    em = by_metric["em"]
    # A right on the 30 even questions; B right on questions 0..44. Discordant: A only on even 46..58 (7),
    # B only on odd 1..43 (22). McNemar with continuity correction: (|7 - 22| - 1)^2 / 29.
    assert em["n"] == N_SAMPLES and em["test"] == "mcnemar"
    assert em["mean_a"] == pytest.approx(30 / 60) and em["mean_b"] == pytest.approx(45 / 60)
    assert em["diff"] == pytest.approx(0.25)
    assert em["p_value"] == pytest.approx(scipy_stats.chi2.sf(14**2 / 29, df=1), rel=1e-9)
    assert em["ci_low"] < 0.25 < em["ci_high"] and em["ci_low"] > 0
    assert em["mde_80"] > 0
    a_scores = [1.0 if i % 2 == 0 else 0.0 for i in range(N_SAMPLES)]
    b_scores = [1.0 if i < ORACLE_KNOWS else 0.0 for i in range(N_SAMPLES)]
    assert em["score_corr"] == pytest.approx(scipy_stats.pearsonr(a_scores, b_scores).statistic)
    length = by_metric["length"]
    assert length["test"] == "wilcoxon"
    # Holm over the two comparisons printed
    low, high = sorted([em["p_value"], length["p_value"]])
    expected = {low: min(1.0, 2 * low), high: max(min(1.0, 2 * low), min(1.0, high))}
    assert em["p_holm"] == pytest.approx(expected[em["p_value"]])
    assert result["tasks"] == [{"task": "tiny_qa", "samples_a": 60, "samples_b": 60, "shared": 60,
                                "excluded_request_failed": 0}]
    assert result["warnings"] == []


def test_compare_prints_a_table(runs: dict[str, str]) -> None:
    result = CliRunner().invoke(app, ["compare", runs["a"], runs["b"], "--db", runs["db"]])
    assert result.exit_code == 0, result.output
    assert "mcnemar" in result.stdout and "MDE 80%" in result.stdout and "p Holm" in result.stdout


def test_failed_requests_are_excluded_and_counted(runs: dict[str, str]) -> None:
    store = Store(f"sqlite:///{runs['db']}")
    failed = sum(r["error_kind"] == "request_failed" for r in store.iter_samples(runs["failing"], columns=("error_kind",)))
    store.close()
    assert 0 < failed < N_SAMPLES
    result = _cli_json("compare", runs["a"], runs["failing"], "--db", runs["db"])
    assert result["tasks"][0]["excluded_request_failed"] == failed
    assert all(c["n"] == N_SAMPLES - failed for c in result["comparisons"])


def test_different_task_spec_is_refused_with_one_line_and_exit_2(runs: dict[str, str], assay) -> None:
    code, _, err = assay("compare", runs["a"], runs["changed_task"], "--db", runs["db"])
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "not comparable" in lines[0] and "spec hash" in lines[0]
    code, out, err = assay("compare", runs["a"], runs["changed_task"], "--db", runs["db"], "--allow-mismatch", "--json")
    assert code == 0, err
    assert "warning" in err and "spec hash" in err
    assert json.loads(out)["comparisons"][0]["n"] == N_SAMPLES


def test_no_overlapping_samples_is_refused(runs: dict[str, str], assay) -> None:
    code, _, err = assay("compare", runs["a"], runs["other_ids"], "--db", runs["db"])
    assert code == 2 and "share no sample id" in err
    code, out, _ = assay("compare", runs["a"], runs["other_ids"], "--db", runs["db"], "--allow-mismatch", "--json")
    assert code == 0 and json.loads(out)["comparisons"] == []


def test_unknown_run_is_an_error(runs: dict[str, str], assay) -> None:
    code, _, err = assay("compare", "nope", "nada", "--db", runs["db"])
    assert code == 2 and "nope" in err


def test_power_command_matches_statsmodels() -> None:
    result = _cli_json("power", "--baseline", "0.6", "--delta", "0.02", "--paired-corr", "0.5", "--n", "2000")
    var1, var2 = 0.6 * 0.4, 0.62 * 0.38
    sd_diff = math.sqrt(var1 + var2 - 2 * 0.5 * math.sqrt(var1 * var2))
    expected = NormalIndPower().solve_power(effect_size=0.02 / sd_diff, alpha=0.05, power=0.8, ratio=0.0)
    assert result["samples_needed"] == math.ceil(expected)
    assert 0.02 < result["minimum_detectable_effect"] < 0.05
    text = CliRunner().invoke(app, ["power", "--baseline", "0.6", "--delta", "0.02"])
    assert text.exit_code == 0 and "samples per model" in text.stdout


def test_power_bad_argument_is_one_line_exit_2(assay) -> None:
    code, _, err = assay("power", "--baseline", "1.5", "--delta", "0.02")
    assert code == 2 and err.strip().count("\n") == 0 and "--baseline" in err
    code, _, err = assay("power", "--baseline", "0.5")
    assert code == 2 and "--delta" in err
