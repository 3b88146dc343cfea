"""What a long-context answer scores (docs/longctx-scoring.md), on samples made by the real builders:
short correct answers score 1, naming several candidate values is a decoy confusion, declining and
answering is its own category, and an output that copies the prompt is neither a find nor a decline."""

from __future__ import annotations

from longctx_checks import generate

from assay.models.scripted import WhitespaceTokenizer
from assay.scoring.copying import words
from assay.scoring.ruler import string_match_all
from assay.tasks.longctx.grading import grade
from assay.tasks.longctx.niah import DECLINE_ANSWER
from assay.types import Sample, Scored


def _samples(task: str) -> list[Sample]:
    return generate(task, WhitespaceTokenizer(), seed=5)


def _grade(sample: Sample, text: str) -> Scored:
    return grade(sample.metadata, text, sample.input["messages"])


def _prompt(sample: Sample) -> str:
    return sample.input["messages"][-1]["content"]


def _by_scorer(samples: list[Sample], scorer: str) -> Sample:
    return next(s for s in samples if s.metadata["scorer"] == scorer)


def test_short_correct_answers_score_one() -> None:
    sample = _samples("niah_single:lengths=1024/n=1/depths=50")[0]
    value, key = sample.metadata["references"][0], sample.metadata["keys"][0]
    for answer in (f"The special magic number is {value}.", value,
                   f"The special magic number for {key} mentioned in the document is {value}.",
                   f"One of the special magic numbers for {key} is: {value}."):  # quotes the needle
        scored = _grade(sample, answer)
        assert scored.scores["score"] == 1.0 and scored.scores["copied_prompt"] == 0.0, answer


def test_multikey_target_with_decoys_is_a_decoy_confusion() -> None:
    sample = _samples("niah_multikey:lengths=1024/n=1/depths=50")[0]
    target, decoys = sample.metadata["references"][0], sample.metadata["decoy_values"]
    assert len(decoys) == 3
    listed = _grade(sample, f"The numbers are {target}, {', '.join(decoys)}.")
    assert listed.scores["decoy_confusion"] == 1.0 and listed.scores["score"] == 0.0
    assert listed.scores["all_found"] == 0.0 and listed.metadata["found"] == [False]
    one_decoy = _grade(sample, f"The special magic number is {decoys[1]}.")
    assert one_decoy.scores["decoy_confusion"] == 1.0 and one_decoy.scores["score"] == 0.0
    alone = _grade(sample, f"The special magic number is {target}.")
    assert alone.scores["decoy_confusion"] == 0.0 and alone.scores["score"] == 1.0


def test_multineedle_listing_every_value_is_not_a_find() -> None:
    sample = _samples("niah_multineedle:lengths=2048/n=1")[0]
    asked, others = sample.metadata["references"], sample.metadata["decoy_values"]
    assert len(asked) == 4 and len(others) == 4  # the unasked keys' values are candidates too
    assert _grade(sample, ", ".join(asked)).scores["score"] == 1.0
    everything = _grade(sample, ", ".join(asked + others))
    assert everything.scores["score"] == 0.0 and everything.scores["decoy_confusion"] == 1.0
    # One wrong value in place of a right one is an error, not over-answering: RULER's partial credit.
    assert _grade(sample, ", ".join(asked[:3] + others[:1])).scores["score"] == 0.75


def test_common_words_extra_words_are_decoys() -> None:
    sample = _samples("common_words:lengths=1024/n=1")[0]
    common, uncommon = sample.metadata["references"], sample.metadata["decoy_values"]
    assert uncommon and not set(common) & set(uncommon)
    assert _grade(sample, ", ".join(common)).scores["score"] == 1.0
    assert _grade(sample, ", ".join(common + uncommon[:1])).scores["score"] == 0.0
    nine = _grade(sample, ", ".join(common[:9] + uncommon[:1]))
    assert nine.scores["score"] == 0.9 and nine.scores["decoy_confusion"] == 1.0


def _twin_pair() -> tuple[Sample, Sample]:
    samples = _samples("longctx_quick:lengths=1024/n=1/depths=50")
    return _by_scorer(samples, "twin_answerable"), _by_scorer(samples, "twin_unanswerable")


def test_declined_and_answered_is_its_own_category() -> None:
    answerable, unanswerable = _twin_pair()
    value = answerable.metadata["references"][0]
    both = _grade(answerable, f"{DECLINE_ANSWER} But the number for it is {value}.")
    assert both.metadata["label"] == "declined_and_answered"
    assert both.scores["score"] == 0.0 and both.scores["false_refusal"] == 0.0
    assert both.scores["declined_and_answered"] == 1.0
    invented = _grade(unanswerable, f"{DECLINE_ANSWER} It might be 4815162.")
    assert invented.metadata["label"] == "declined_and_answered"
    assert invented.scores["score"] == 0.0 and invented.scores["hallucination"] == 1.0
    clean = _grade(unanswerable, DECLINE_ANSWER)
    assert clean.metadata["label"] == "correct_decline" and clean.scores["declined_and_answered"] == 0.0
    assert _grade(answerable, DECLINE_ANSWER).metadata["label"] == "false_refusal"
    assert _grade(answerable, value).metadata["label"] == "correct"


def test_copied_prompt_is_neither_a_find_nor_a_decline() -> None:
    answerable, unanswerable = _twin_pair()
    for sample in (answerable, unanswerable):
        scored = _grade(sample, _prompt(sample))
        assert scored.metadata["label"] == "copied_prompt"
        assert scored.scores["score"] == 0.0 and scored.scores["copied_prompt"] == 1.0
        assert "false_refusal" not in scored.scores and "hallucination" not in scored.scores


def test_ruler_substring_rule_credits_an_echo_and_assay_does_not() -> None:
    for task in ("niah_single:lengths=1024/n=1/depths=50", "niah_multikey:lengths=1024/n=1/depths=50"):
        sample = _samples(task)[0]
        echo = _prompt(sample)
        assert string_match_all(echo, sample.metadata["references"]) == 1.0  # RULER: every needle "found"
        assert _grade(sample, echo).scores["score"] == 0.0


def test_copying_a_stretch_of_the_document_counts_as_copying() -> None:
    sample = _samples("niah_single:lengths=1024/n=1/depths=50")[0]
    prompt, needle = _prompt(sample), sample.metadata["needles"][0]["text"]
    start = prompt.index(needle)
    # The needle and the document text around it: longer than anything an answer may quote.
    stretch = prompt[max(0, start - 300): start + len(needle) + 300]
    assert len(words(stretch)) > 60
    scored = _grade(sample, stretch)
    assert scored.scores["copied_prompt"] == 1.0 and scored.scores["score"] == 0.0
    # Restating the question and its answer prefix, then answering, is not copying.
    tail = "\n\n".join(prompt.split("\n\n")[-2:])
    restated = _grade(sample, f"{tail} {sample.metadata['references'][0]}")
    assert restated.scores["copied_prompt"] == 0.0 and restated.scores["score"] == 1.0


def test_counterfactual_naming_both_answers_is_no_answer() -> None:
    doc = _by_scorer(_samples("counterfactual:lengths=1024/n=1/depths=50"), "counterfactual_doc")
    fake, truth = doc.metadata["references"][0], doc.metadata["prior_answers"][0]
    assert _grade(doc, fake).scores["score"] == 1.0
    hedged = _grade(doc, f"{fake} according to the document, but really {truth}")
    assert hedged.scores["score"] == 0.0 and hedged.metadata["label"] == "both"
    assert hedged.scores["doc_answer"] == 0.0 and hedged.scores["prior_answer_in_doc"] == 0.0
    assert _grade(doc, truth).scores["prior_answer_in_doc"] == 1.0


def test_qa_distractor_answer_is_a_decoy_confusion() -> None:
    sample = _samples("qa_needle:lengths=1024/n=1/depths=50")[0]
    answer, distractors = sample.metadata["references"][0], sample.metadata["decoy_values"]
    right = _grade(sample, answer)
    assert right.scores["score"] == 1.0 and right.scores["exact_match"] == 1.0
    wrong = _grade(sample, distractors[0])
    assert wrong.scores["decoy_confusion"] == 1.0 and wrong.scores["score"] == 0.0
    both = _grade(sample, f"{answer} or {distractors[0]}")
    assert both.scores["decoy_confusion"] == 1.0 and both.scores["score"] == 0.0
