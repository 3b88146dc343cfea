"""Membership scores: Min-K% and Min-K%++ from per-token values, AUROC with a bootstrap CI, the scripted
backend's per-token meta, the CLI on labelled texts, and (slow) Min-K% on the embedded model separating
its own greedy generations from shuffled-word versions of them."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from assay.cli import main
from assay.contamination.items import Item
from assay.contamination.membership import auroc_with_ci, min_k_plus_plus, min_k_prob
from assay.contamination.membership_run import LabelledItem, membership_scores
from assay.errors import AssayError
from assay.models.scripted import ScriptedModel
from assay.types import GenerateRequest, LoglikelihoodRollingRequest


def test_min_k_takes_the_least_likely_tokens() -> None:
    values = [-0.1, -5.0, -0.2, -3.0, -0.3, -0.1, -0.2, -0.1, -0.4, -0.1]
    assert min_k_prob(values, 20.0) == pytest.approx(-4.0)  # the 2 lowest of 10
    assert min_k_prob(values, 100.0) == pytest.approx(np.mean(values))
    assert min_k_prob([-1.0, -2.0, -3.0], 10.0) == -3.0  # at least one token
    z = min_k_plus_plus([-1.0, -3.0], [-2.0, -2.0], [1.0, 0.5], 50.0)
    assert z == pytest.approx(-2.0)  # z-scores +1 and -2: the lowest half is -2


def test_auroc_matches_sklearn_and_its_ci_brackets_it() -> None:
    rng = np.random.default_rng(0)
    members, others = rng.normal(1.0, 1.0, 40), rng.normal(0.0, 1.0, 40)
    scores = np.concatenate([members, others]).tolist()
    labels = [1] * 40 + [0] * 40
    result = auroc_with_ci(scores, labels)
    assert result.value == pytest.approx(roc_auc_score(labels, scores))
    assert result.ci_low < result.value < result.ci_high and 0.6 < result.value < 0.9
    assert auroc_with_ci(scores, labels).to_dict() == result.to_dict()  # seeded
    with pytest.raises(AssayError, match="at least 2 members"):
        auroc_with_ci([0.1, 0.2, 0.3], [1, 0, 0])


def test_scripted_rolling_meta_sums_to_the_log_likelihood() -> None:
    response, = ScriptedModel("echo", None).loglikelihood_rolling([LoglikelihoodRollingRequest("a b c d e")])
    assert len(response.meta["token_logprobs"]) == response.n_tokens == 5
    assert sum(response.meta["token_logprobs"]) == pytest.approx(response.logprob, abs=1e-4)


def test_cli_scores_labelled_texts(tmp_path: Path, capsys) -> None:
    texts = tmp_path / "texts.jsonl"
    texts.write_text("".join(json.dumps({"id": f"t{i}", "text": f"text number {i} " * (i + 1), "label": i % 2}) + "\n"
                             for i in range(8)), encoding="utf-8")
    main(["contamination", "--texts", str(texts), "--model", "scripted:echo", "--json"])
    report = json.loads(capsys.readouterr().out)["membership"]
    assert report["n_scored"] == 8 and report["n_failed"] == 0
    assert set(report["auroc"]) == {"min_k", "min_k_plus_plus"}
    auc = report["auroc"]["min_k"]
    assert auc["n_members"] == auc["n_nonmembers"] == 4 and auc["ci_low"] <= auc["auroc"] <= auc["ci_high"]
    texts.write_text('{"text": "x", "label": 2}\n', encoding="utf-8")
    with pytest.raises(SystemExit) as stopped:
        main(["contamination", "--texts", str(texts), "--model", "scripted:echo"])
    assert stopped.value.code == 2 and "label must be 1" in capsys.readouterr().err


PROMPTS = ["Once upon a time, in a small village,", "The history of the Roman Empire", "To bake a simple loaf of bread,",
           "The best way to learn a new language is", "In the morning, the scientist", "My favourite season is autumn because",
           "The train left the station and", "Water boils at 100 degrees Celsius, which", "The old lighthouse keeper",
           "A good night's sleep helps", "The capital of France is Paris, a city", "When the storm finally passed,"]


@pytest.mark.slow
def test_min_k_separates_the_models_own_greedy_text_from_shuffled_words() -> None:
    from assay.models import load_model

    model = load_model("embedded")
    try:
        generated = model.generate([GenerateRequest(prompt=p, max_tokens=24, temperature=0.0) for p in PROMPTS])
        members = [r.text.strip() for r in generated if r.text and len(r.text.split()) >= 6]
        assert len(members) >= 10
        rng = random.Random(0)
        shuffled = []
        for text in members:
            words = text.split()
            rng.shuffle(words)
            shuffled.append(" ".join(words))
        items = [LabelledItem(Item(f"m{i}", t), 1) for i, t in enumerate(members)]
        items += [LabelledItem(Item(f"s{i}", t), 0) for i, t in enumerate(shuffled)]
        check, = model.loglikelihood_rolling([LoglikelihoodRollingRequest(members[0])])
        assert len(check.meta["token_logprobs"]) == check.n_tokens == len(check.meta["token_sigma"])
        assert sum(check.meta["token_logprobs"]) == pytest.approx(check.logprob, abs=1e-3)
        report = membership_scores(model, items, k_percent=20.0)
    finally:
        model.close()
    for name in ("min_k", "min_k_plus_plus"):
        auc = report["auroc"][name]
        print(name, auc)
        assert auc["auroc"] >= 0.8 and auc["ci_low"] > 0.5, (name, auc)
