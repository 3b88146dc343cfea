"""Agreement on the real data reproduces the published figures exactly (../shared/data/judges/NOTES.md);
κ is checked against scikit-learn and a hand count; the bootstrap is deterministic and its intervals
contain their estimates."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score
from statsmodels.stats.inter_rater import fleiss_kappa

from assay.judges.agreement import agreement, fleiss_two_raters, majority, reference_ratings, to_rating
from assay.judges.importers import get_importer
from assay.judges.types import Judgment


def _judge(report: dict, name: str) -> dict:
    return next(entry for entry in report["judges"] if entry["judge"] == name)


def _counts(entry: dict) -> dict[str, tuple[int, int]]:
    return {"ab": (entry["accuracy"]["ab"]["k"], entry["accuracy"]["ab"]["n"]),
            "ba": (entry["accuracy"]["ba"]["k"], entry["accuracy"]["ba"]["n"]),
            "both": (entry["both_orders"]["k"], entry["both_orders"]["n"]),
            "positional": (entry["positional_agreement"]["k"], entry["positional_agreement"]["n"])}


@pytest.fixture(scope="module")
def mt_bench(judges_dir: Path) -> list[Judgment]:
    return get_importer("llmbar")(judges_dir / "llmbar" / "Processed" / "MT-Bench")


def test_llmbar_mt_bench_gpt4_vanilla(mt_bench: list[Judgment]) -> None:
    entry = _judge(agreement(mt_bench, "label", judge="GPT-4/Vanilla_NoRules"), "GPT-4/Vanilla_NoRules")
    assert _counts(entry) == {"ab": (159, 200), "ba": (165, 200), "both": (149, 200), "positional": (174, 200)}
    assert round(entry["accuracy"]["average"]["value"] * 100, 1) == 81.0
    for group in ("accuracy", "cohen_kappa"):
        for estimate in entry[group].values():
            assert estimate["ci"][0] <= estimate["value"] <= estimate["ci"][1]


def test_llmbar_natural_gpt4_swap_from_a_strategy_folder(judges_dir: Path) -> None:
    rows = get_importer("llmbar")(judges_dir / "llmbar" / "LLMBar" / "Natural" / "evaluators" / "GPT-4" / "Swap")
    assert Counter(j.rater for j in rows) == {"expert": 100, "GPT-4/Swap": 200}
    entry = _judge(agreement(rows, "label"), "GPT-4/Swap")
    assert _counts(entry) == {"ab": (94, 100), "ba": (95, 100), "both": (93, 100), "positional": (97, 100)}
    assert entry["accuracy"]["average"]["value"] == pytest.approx(0.945)


def test_cohen_kappa_mt_bench_against_sklearn_and_a_hand_count(mt_bench: list[Judgment]) -> None:
    entry = _judge(agreement(mt_bench, "label", judge="GPT-4/Vanilla_NoRules"), "GPT-4/Vanilla_NoRules")
    labels = {j.item: j.verdict for j in mt_bench if j.rater_kind == "label"}
    judged = [(j.verdict, labels[j.item]) for j in mt_bench if j.rater == "GPT-4/Vanilla_NoRules" and j.order == "ab"]
    # Hand count: 2x2 table, observed and chance agreement.
    n = len(judged)
    cells = Counter(judged)
    observed = (cells[("a", "a")] + cells[("b", "b")]) / n
    judge_a = sum(v == "a" for v, _ in judged) / n
    label_a = sum(lab == "a" for _, lab in judged) / n
    chance = judge_a * label_a + (1 - judge_a) * (1 - label_a)
    by_hand = (observed - chance) / (1 - chance)
    library = cohen_kappa_score([v for v, _ in judged], [lab for _, lab in judged])
    assert entry["cohen_kappa"]["ab"]["value"] == pytest.approx(by_hand, abs=1e-12)
    assert entry["cohen_kappa"]["ab"]["value"] == pytest.approx(library, abs=1e-12)
    assert round(entry["cohen_kappa"]["ab"]["value"], 2) == 0.59


def test_prd_gpt4_vs_human_majority(judges_dir: Path) -> None:
    rows = get_importer("prd")(judges_dir / "prd" / "vicuna80")
    report = agreement(rows, "human")
    entry = _judge(report, "gpt4")
    assert entry["ratings"] == 1600
    assert entry["accuracy"]["all"]["value"] == pytest.approx(0.6425, abs=1e-12)
    assert entry["fleiss_kappa"]["value"] == pytest.approx(0.4062941127626006, abs=1e-12)
    judge = {m: v["value"] for m, v in entry["win_rate"]["judge"].items()}
    human = {m: v["value"] for m, v in entry["win_rate"]["reference"].items()}
    assert judge == pytest.approx({"gpt4": 0.85625, "claude": 0.70859375, "vicuna-13b": 0.3484375,
                                   "gpt35": 0.3421875, "bard": 0.24453125}, abs=1e-12)
    assert human == pytest.approx({"gpt4": 0.821875, "claude": 0.6890625, "vicuna-13b": 0.3890625,
                                   "gpt35": 0.3140625, "bard": 0.2859375}, abs=1e-12)


def test_fleiss_two_raters_matches_statsmodels() -> None:
    rng = np.random.default_rng(3)
    for _ in range(20):
        pairs = rng.integers(0, 3, size=(int(rng.integers(5, 60)), 2))
        subjects = np.zeros((len(pairs), 3))
        table = np.zeros((3, 3))
        for row, (x, y) in enumerate(pairs):
            subjects[row, x] += 1
            subjects[row, y] += 1
            table[x, y] += 1
        assert fleiss_two_raters(table) == pytest.approx(fleiss_kappa(subjects), abs=1e-12)


def _pair(item: str, rater: str, verdict: str, order: str | None, kind: str = "judge") -> Judgment:
    return Judgment(source="t", kind="pairwise", item=item, model_a="x", model_b="y", rater=rater,
                    rater_kind=kind, verdict=verdict, order=order)  # type: ignore[arg-type]


def test_mirrored_orientation_and_majority() -> None:
    flipped = Judgment(source="t", kind="pairwise", item="i", model_a="y", model_b="x", rater="j", rater_kind="judge",
                       verdict="a", order="ab")
    rating = to_rating(flipped)
    assert rating is not None and rating.key == ("i", "x", "y") and rating.s == 1 and rating.order == "ba"
    humans = [_pair("i", "h1", "a", None, "human"), _pair("i", "h2", "a", None, "human"),
              _pair("i", "h3", "b", None, "human"), _pair("k", "h1", "a", None, "human"),
              _pair("k", "h2", "b", None, "human")]
    assert majority(reference_ratings(humans, "human")) == {("i", "x", "y"): -1, ("k", "x", "y"): 0}


def test_bootstrap_is_deterministic_and_errors_are_counted(mt_bench: list[Judgment]) -> None:
    broken = [*mt_bench, Judgment(source="t", kind="pairwise", item="llmbar/MT-Bench/0", model_a="output_1",
                                  model_b="output_2", rater="GPT-4/Vanilla_NoRules", rater_kind="judge",
                                  error="prose")]
    first = agreement(broken, "label", judge="GPT-4/Vanilla_NoRules", n_resamples=300)
    second = agreement(broken, "label", judge="GPT-4/Vanilla_NoRules", n_resamples=300)
    assert first == second
    assert first["judges"][0]["errors"] == 1 and first["judges"][0]["ratings"] == 400


def test_twice_in_one_order_is_an_error() -> None:
    from assay.errors import AssayError

    rows = [_pair("i", "label", "a", None, "label"), _pair("i", "j", "a", "ab"), _pair("i", "j", "b", "ab")]
    with pytest.raises(AssayError, match="twice in order ab"):
        agreement(rows, "label")
