"""The metrics every long-context task declares: per-sample scores from `grading.py` and the
task-level figures from `summary.py`. One list for the family: a score a task never produces is
simply absent from its run."""

from __future__ import annotations

from assay.metric_specs import MetricSpec, aggregate, score

LONGCTX_METRICS: tuple[MetricSpec, ...] = (
    score("score", primary=True, description="the task's own score: every needle value found (all of them for "
                                             "multi-value tasks), a correct decline on an unanswerable twin"),
    score("all_found", description="every reference value is in the answer"),
    score("exact_match", description="SQuAD exact match of the answer line"),
    score("f1", description="SQuAD token F1 of the answer line"),
    score("empty_output", False, "the model returned nothing"),
    score("decoy_confusion", False, "the answer names a decoy's value (alone or beside the target)"),
    score("declined_and_answered", False, "the answer both declines and gives a value"),
    score("copied_prompt", False, "the output reproduces the prompt instead of answering"),
    score("false_refusal", False, "declined although the needle is in the document (answerable twins)"),
    score("hallucination", False, "answered although the needle was removed (unanswerable twins)"),
    score("doc_answer", description="counterfactual: answered with the document's (counterfactual) value"),
    score("prior_answer_in_doc", False, "counterfactual: answered with world knowledge despite the document"),
    MetricSpec("closed_book_prior", None, description="closed-book probe: the model's prior answer (descriptive)"),
    MetricSpec("closed_book_doc_answer", None, description="closed-book probe: the counterfactual value without "
                                                           "the document (descriptive)"),
    aggregate("heatmap", None, "mean score per (length, depth) cell"),
    aggregate("length_curve", None, "mean score per length with CIs"),
    aggregate("effective_length", True, "RULER's effective context length", scale="tokens"),
    aggregate("avg", True, "mean of the per-length means"),
    aggregate("wavg_inc", True, "RULER's weighted average, long contexts weigh more"),
    aggregate("wavg_dec", True, "RULER's weighted average, short contexts weigh more"),
    MetricSpec("variant/*", True, aggregation="task", description="score of one sample variant (mean ± CI)"),
    aggregate("labels", None, "counts of answer labels (correct, decline, hallucination, false refusal, ...)",
              scale="count"),
    aggregate("counterfactual", None, "document vs prior-knowledge answer rates"),
    aggregate("needle_recall_by_depth", None, "share of needles found per depth"),
)
