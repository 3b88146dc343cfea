"""`assay meta-eval`: correlations of metrics with human scores, partial correlations controlling for the
system, bootstrap CIs over documents; on FRANK and on scores from files or stored runs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from assay.meta_eval import HumanScores, correlate, correlations, load_frank, meta_eval


def assay_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "assay.cli", *args], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})


def _data(n: int = 120, seed: int = 3) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    systems = rng.integers(0, 4, size=n)
    human = systems * 0.5 + rng.normal(size=n)
    metric = human + systems + rng.normal(size=n)
    return human, metric, systems


def test_correlations_agree_with_scipy_and_with_an_ols_partial_correlation() -> None:
    import statsmodels.formula.api as smf

    human, metric, systems = _data()
    pearson, spearman, kendall, partial_pearson, partial_spearman = correlations(human, metric, systems)
    assert pearson == pytest.approx(stats.pearsonr(human, metric).statistic, abs=1e-12)
    assert spearman == pytest.approx(stats.spearmanr(human, metric).statistic, abs=1e-12)
    assert kendall == pytest.approx(stats.kendalltau(human, metric).statistic, abs=1e-12)
    import pandas as pd

    frame = pd.DataFrame({"h": human, "m": metric, "s": systems.astype(str)})
    residual_h = smf.ols("h ~ C(s)", frame).fit().resid
    residual_m = smf.ols("m ~ C(s)", frame).fit().resid
    assert partial_pearson == pytest.approx(stats.pearsonr(residual_h, residual_m).statistic, abs=1e-9)
    ranks = pd.DataFrame({"h": stats.rankdata(human), "m": stats.rankdata(metric), "s": frame["s"]})
    rank_h, rank_m = smf.ols("h ~ C(s)", ranks).fit().resid, smf.ols("m ~ C(s)", ranks).fit().resid
    assert partial_spearman == pytest.approx(stats.pearsonr(rank_h, rank_m).statistic, abs=1e-9)
    # The system explains part of the raw agreement: within systems it is lower.
    assert partial_pearson < pearson


def test_bootstrap_intervals_resample_documents_and_repeat_for_a_seed() -> None:
    human, metric, systems = _data(60)
    labels = [str(s) for s in systems]
    alone = correlate(human, metric, labels, [str(i) for i in range(60)], n_resamples=300, seed=1)
    assert alone == correlate(human, metric, labels, [str(i) for i in range(60)], n_resamples=300, seed=1)
    low, high = alone["pearson"]["ci"]
    assert low < alone["pearson"]["value"] < high
    # Each document summarised 4 times with identical scores: 240 items but 60 documents, so the interval
    # over documents stays as wide as for 60 items, not as narrow as for 240 independent ones.
    repeated = correlate(np.repeat(human, 4), np.repeat(metric, 4), list(np.repeat(labels, 4)),
                         [str(i) for i in np.repeat(np.arange(60), 4)], n_resamples=300, seed=1)
    independent = correlate(np.repeat(human, 4), np.repeat(metric, 4), list(np.repeat(labels, 4)),
                            [str(i) for i in range(240)], n_resamples=300, seed=1)
    width = lambda r: r["pearson"]["ci"][1] - r["pearson"]["ci"][0]  # noqa: E731
    assert width(repeated) > 1.5 * width(independent)
    assert width(repeated) == pytest.approx(width(alone), rel=0.35)


def test_missing_and_unmatched_ids_are_counted() -> None:
    human = HumanScores({"a": 1.0, "b": 0.0, "c": 0.5, "d": 0.2}, {k: "s" for k in "abcd"}, {k: k for k in "abcd"})
    rows = meta_eval(human, {"m": {"a": 0.9, "b": 0.1, "c": 0.4, "zz": 3.0}}, n_resamples=20)
    assert rows[0]["n"] == 3 and rows[0]["human_without_metric"] == 1 and rows[0]["metric_ids_unmatched"] == 1
    rows = meta_eval(human, {"m": {"a": 0.9, "b": 0.1}}, n_resamples=20)
    assert "fewer than 3" in rows[0]["error"]


@pytest.mark.shared_data
def test_frank_baselines_through_the_cli(shared_data_dir: Path) -> None:
    out = assay_cli("meta-eval", "--data-dir", str(shared_data_dir), "--resamples", "30", "--json")
    assert out.returncode == 0, out.stderr
    rows = {(r["metric"], r["subset"]): r for r in json.loads(out.stdout)["rows"]}
    assert {m for m, _ in rows} >= {"FactCC", "QAGS", "FEQA", "Dep Entail", "BertScore F1", "Rouge L"}
    assert {s for _, s in rows} == {"all", "bbc", "cnndm"}
    human = json.loads((shared_data_dir / "faithfulness/frank/human_annotations.json").read_text())
    baselines = json.loads((shared_data_dir / "faithfulness/frank/baseline_factuality_metrics_outputs.json").read_text())
    by_key = {(r["hash"], r["model_name"]): r for r in baselines}
    pairs = [(h["Factuality"], by_key[(h["hash"], h["model_name"])]["FactCC"]) for h in human]
    assert rows[("FactCC", "all")]["n"] == len(pairs) == 2246
    expected = stats.pearsonr(*zip(*pairs, strict=True)).statistic
    assert rows[("FactCC", "all")]["pearson"]["value"] == pytest.approx(expected, abs=1e-9)
    # Summaries a baseline could not score are left out and counted.
    assert rows[("Dep Entail", "all")]["n"] == 2163 and rows[("Dep Entail", "all")]["human_without_metric"] == 83
    for row in rows.values():
        for name in ("pearson", "spearman", "kendall", "partial_pearson", "partial_spearman"):
            low, high = row[name]["ci"]
            assert low <= row[name]["value"] <= high


@pytest.mark.shared_data
def test_a_metric_from_a_file_equals_the_same_metric_built_in(shared_data_dir: Path, tmp_path: Path) -> None:
    human, metrics = load_frank(shared_data_dir, split="test")
    path = tmp_path / "my_qags.jsonl"
    path.write_text("".join(json.dumps({"id": k, "score": v}) + "\n" for k, v in metrics["QAGS"].items()))
    out = assay_cli("meta-eval", "--data-dir", str(shared_data_dir), "--split", "test", "--no-baselines",
                    "--scores", str(path), "--resamples", "20", "--json")
    assert out.returncode == 0, out.stderr
    mine = [r for r in json.loads(out.stdout)["rows"] if r["subset"] == "all"]
    assert [r["metric"] for r in mine] == ["my_qags"]
    built_in = meta_eval(human, {"QAGS": metrics["QAGS"]}, n_resamples=20)[0]
    assert mine[0]["pearson"] == built_in["pearson"] and mine[0]["n"] == 1575


@pytest.mark.shared_data
def test_a_score_of_a_stored_run_against_human_scores_from_a_file(shared_data_dir: Path, tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'a.db'}"
    predictions = shared_data_dir / "longdoc/leval_quality/predictions"
    run_ids = {}
    for model in ("gpt4-32k", "Claude-100k"):
        out = assay_cli("import", "predictions", str(predictions / f"{model}.quality.pred.jsonl"), "--task",
                        "leval_quality", "--model", model, "--db", db, "--json")
        assert out.returncode == 0, out.stderr
        run_ids[model] = json.loads(out.stdout)["id"]
    exported = tmp_path / "gpt4.jsonl"
    assert assay_cli("export", run_ids["gpt4-32k"], "-o", str(exported), "--db", db).returncode == 0
    samples = [json.loads(line) for line in exported.read_text().splitlines()]
    samples = [s for s in samples if "sample_id" in s]
    human = tmp_path / "human.jsonl"
    human.write_text("".join(json.dumps({"id": s["sample_id"], "score": s["scores"]["acc"], "cluster": s["cluster"]})
                             + "\n" for s in samples))
    out = assay_cli("meta-eval", "--human", str(human), "--run", f"{run_ids['Claude-100k']}:acc", "--db", db,
                    "--resamples", "20", "--json")
    assert out.returncode == 0, out.stderr
    row = json.loads(out.stdout)["rows"][0]
    assert row["n"] == 202 and row["n_clusters"] == 15
    assert bad_line(assay_cli("meta-eval", "--human", str(human), "--run", "nocolon", "--db", db)).startswith(
        "error: --run nocolon: expected RUN:SCORE")


def bad_line(out: subprocess.CompletedProcess[str]) -> str:
    lines = [line for line in out.stderr.splitlines() if line.strip()]
    assert out.returncode == 2 and len(lines) == 1 and "Traceback" not in out.stderr, out.stderr
    return lines[0]


def test_bad_score_files_are_one_line_errors(tmp_path: Path) -> None:
    human = tmp_path / "human.jsonl"
    human.write_text('{"id": "a", "score": 1}\n{"id": "b", "score": "high"}\n')
    assert "human.jsonl line 2: expected" in bad_line(assay_cli("meta-eval", "--human", str(human), "--scores",
                                                                str(human)))
    human.write_text('{"id": "a", "score": 1}\n')
    assert "no such file" in bad_line(assay_cli("meta-eval", "--human", str(tmp_path / "none.jsonl"), "--scores",
                                                str(human)))
    assert "no metric to evaluate" in bad_line(assay_cli("meta-eval", "--human", str(human)))
