"""Bias diagnostics: position and length win rates against hand counts on the real PRD data, the
logistic fit against statsmodels' own fit, self-preference by model family."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import statsmodels.api as sm

from assay.judges.agreement import majority, reference_ratings, to_rating
from assay.judges.bias import diagnose, family
from assay.judges.importers import get_importer
from assay.judges.types import Judgment


@pytest.fixture(scope="module")
def prd(judges_dir: Path) -> list[Judgment]:
    return get_importer("prd")(judges_dir / "prd" / "vicuna80")


def test_family() -> None:
    assert family("gpt4") == family("GPT-4/Vanilla_NoRules") == family("ChatGPT/Swap") == "gpt"
    assert family("openai:http://127.0.0.1:8080/v1#claude-3-haiku") == "claude"
    assert family("hf:/models/SmolLM2-135M-Instruct") == "smollm"
    assert family("vicuna-13b") == "vicuna"


def test_position_and_length_against_hand_counts(prd: list[Judgment]) -> None:
    gpt4 = [j for j in prd if j.rater == "gpt4"]
    report = diagnose(gpt4)["gpt4"]
    # Hand count: a decisive GPT-4 score 1 means the answer shown first won.
    scores = [j.metadata["score"] for j in gpt4]
    position = report["position"]["first_position_win_rate"]
    assert (position["k"], position["n"]) == (scores.count(1), scores.count(1) + scores.count(2))
    assert report["position"]["ties"] == scores.count(3)
    winners = [(j.output_a, j.output_b) if j.verdict == "a" else (j.output_b, j.output_a)
               for j in gpt4 if j.verdict != "tie" and len(j.output_a or "") != len(j.output_b or "")]
    longer = report["length"]["longer_output_win_rate"]
    assert (longer["k"], longer["n"]) == (sum(len(w) > len(lo) for w, lo in winners), len(winners))
    assert longer["ci"][0] <= longer["value"] <= longer["ci"][1]


def test_logistic_matches_statsmodels(prd: list[Judgment]) -> None:
    gpt4 = [j for j in prd if j.rater == "gpt4" and j.verdict != "tie"]
    x = np.log2([len(j.output_b or "") / len(j.output_a or "") for j in gpt4])  # model_a < model_b already
    y = np.array([j.verdict == "b" for j in gpt4], dtype=float)
    plain = sm.Logit(y, sm.add_constant(x)).fit(disp=0)
    logistic = diagnose(gpt4)["gpt4"]["length"]["logistic"]
    assert logistic["slope_per_doubling"] == pytest.approx(plain.params[1], rel=1e-6)
    assert logistic["n"] == len(gpt4) and logistic["clusters"] == 80
    assert logistic["ci"][0] < logistic["slope_per_doubling"] < logistic["ci"][1]


def test_self_preference_against_hand_count(prd: list[Judgment]) -> None:
    ref = majority(reference_ratings(prd, "human"))
    own = diagnose([j for j in prd if j.rater == "gpt4"], ref)["gpt4"]["self_preference"]
    assert own["family"] == "gpt" and own["models"] == ["gpt35", "gpt4"]
    judged = [to_rating(j) for j in prd if j.rater == "gpt4"]
    mixed = [r for r in judged if r is not None and (r.key[1] in ("gpt35", "gpt4")) != (r.key[2] in ("gpt35", "gpt4"))]
    wins = sum((1 - r.s) / 2 if r.key[1] in ("gpt35", "gpt4") else (1 + r.s) / 2 for r in mixed)
    assert own["judge_win_rate"]["n"] == len(mixed) == 960
    assert own["judge_win_rate"]["value"] == pytest.approx(wins / len(mixed))
    assert own["difference"]["value"] == pytest.approx(own["judge_win_rate"]["value"] - own["reference_win_rate"]["value"])
