"""Question-answering needles: a synthetic fact about an invented entity among distractor facts,
counterfactual needles paired with closed-book probes, unanswerable twins, and the evidence
position sweep over the user's own documents."""

from __future__ import annotations

import random
import re
from dataclasses import replace

from assay.tasks.longctx.length import Insertion, PromptTemplate, fit_prompt, fit_without
from assay.tasks.longctx.needles import draw_name, sample_rng
from assay.tasks.longctx.niah import DECLINE_ANSWER
from assay.tasks.longctx.params import GridParams
from assay.tasks.longctx.task import BuildState, CellBuilder, depth_label, make_sample, register_longctx
from assay.types import Sample

# (fact sentence, question): {entity} is an invented organisation, {value} an invented name.
FACT_TEMPLATES = (
    ("{entity} was founded in the town of {value}.", "In which town was {entity} founded?"),
    ("The chief archivist of {entity} is a person named {value}.", "What is the name of the chief archivist of {entity}?"),
    ("{entity} keeps its oldest map in the city of {value}.", "In which city does {entity} keep its oldest map?"),
    ("The official motto of {entity} is the single word {value}.", "What is the one-word official motto of {entity}?"),
)
_ORGANISATIONS = ("Society", "Guild", "Observatory", "Company", "Choir", "Library", "Academy", "Brotherhood")

# (question, what the world knows, what the document says): the document contradicts world knowledge.
COUNTERFACTUALS = (
    ("What is the capital of France?", "Paris", "Lyon", "The capital of France is Lyon."),
    ("What is the capital of Japan?", "Tokyo", "Osaka", "The capital of Japan is Osaka."),
    ("What is the capital of Italy?", "Rome", "Milan", "The capital of Italy is Milan."),
    ("What is the capital of Germany?", "Berlin", "Munich", "The capital of Germany is Munich."),
    ("What is the capital of Spain?", "Madrid", "Seville", "The capital of Spain is Seville."),
    ("What is the capital of Egypt?", "Cairo", "Alexandria", "The capital of Egypt is Alexandria."),
    ("What is the capital of Russia?", "Moscow", "Kazan", "The capital of Russia is Kazan."),
    ("What is the capital of China?", "Beijing", "Shanghai", "The capital of China is Shanghai."),
    ("What is the largest planet in the Solar System?", "Jupiter", "Neptune",
     "The largest planet in the Solar System is Neptune."),
    ("Who wrote the play Romeo and Juliet?", "Shakespeare", "Marlowe",
     "The play Romeo and Juliet was written by Christopher Marlowe."),
)


def _capitalised(text: str) -> str:
    return text[:1].upper() + text[1:]


def _fact(rng: random.Random, template_index: int, forbidden: str, taken: set[str]) -> tuple[str, str, str]:
    """(fact sentence, question, answer) about a freshly invented entity."""
    entity = f"the {draw_name(rng, forbidden, taken)} {rng.choice(_ORGANISATIONS)}"
    value = draw_name(rng, forbidden, taken)
    sentence, question = FACT_TEMPLATES[template_index]
    return _capitalised(sentence.format(entity=entity, value=value)), question.format(entity=entity), value


def _qa_template(question: str, decline: bool) -> PromptTemplate:
    suffix = f" If the document does not say, answer exactly: {DECLINE_ANSWER}" if decline else " Answer with the name only."
    return PromptTemplate("Answer the question using the document below.", question + suffix, "Answer:")


def build_fact(state: BuildState, length: int, depth: float | None, index: int, *, variant: str, n_distractors: int,
               twins: bool) -> list[Sample]:
    assert state.haystack is not None and depth is not None
    rng = sample_rng(state.task, variant, length, depth, index, state.seed)
    forbidden, taken = state.forbidden_text, set()
    template_index = rng.randrange(len(FACT_TEMPLATES))
    sentence, question, answer = _fact(rng, template_index, forbidden, taken)
    distractors = [_fact(rng, template_index, forbidden, taken) for _ in range(n_distractors)]
    insertions = [Insertion(sentence, depth, "needle:fact")]
    insertions += [Insertion(s, round(rng.uniform(0.0, 100.0), 1), "decoy:fact") for s, _, _ in distractors]
    template = _qa_template(question, decline=twins)
    fitted = fit_prompt(state.tokenizer, state.haystack, template, insertions, length, state.params.max_tokens,
                        f"--task {state.task}", guesses=state.memo)
    cluster = f"L{length}-D{depth_label(depth)}-{index}"
    common = {"length": length, "depth": depth, "cluster": cluster, "decoy_values": [v for _, _, v in distractors],
              "question": question}
    first = make_sample(state, sample_id=f"{cluster}-{variant}", fitted=fitted, variant=variant,
                        scorer="twin_answerable" if twins else "qa", references=[answer], reference_depths=[depth],
                        in_heatmap=True, **common)
    if not twins:
        return [first]
    twin_fit = fit_without(state.tokenizer, state.haystack, template, insertions[1:], fitted.n_units)
    twin = make_sample(state, sample_id=f"{cluster}-{variant}_unanswerable", fitted=twin_fit,
                       variant=f"{variant}_unanswerable", scorer="twin_unanswerable", references=[answer],
                       reference_depths=[], in_heatmap=False, removed_needles=[sentence], **common)
    return [first, twin]


def _mentions(text: str, word: str) -> bool:
    return re.search(rf"\b{re.escape(word.casefold())}\b", text) is not None


def build_counterfactual(state: BuildState, length: int, depth: float | None, index: int) -> list[Sample]:
    assert state.haystack is not None and depth is not None
    rng = sample_rng(state.task, length, depth, index, state.seed)
    # Facts whose answers already occur in the haystack would let the haystack answer for the needle.
    if "counterfactual_usable" not in state.memo:
        state.memo["counterfactual_usable"] = [
            i for i, (_, truth, fake, _) in enumerate(COUNTERFACTUALS)
            if not _mentions(state.forbidden_text, truth) and not _mentions(state.forbidden_text, fake)]
    usable = state.memo["counterfactual_usable"]
    fact_index = rng.choice(usable or list(range(len(COUNTERFACTUALS))))
    question, truth, fake, sentence = COUNTERFACTUALS[fact_index]
    template = PromptTemplate("Answer the question using the document below, even where it disagrees with what you "
                              "believe.", question + " Answer with the name only.", "Answer:")
    fitted = fit_prompt(state.tokenizer, state.haystack, template, [Insertion(sentence, depth, "needle:counterfactual")],
                        length, state.params.max_tokens, f"--task {state.task}", guesses=state.memo)
    cell = f"L{length}-D{depth_label(depth)}-{index}"
    cluster = f"counterfactual-{fact_index}"
    doc = make_sample(state, sample_id=f"{cell}-doc", fitted=fitted, length=length, depth=depth, variant="doc",
                      scorer="counterfactual_doc", references=[fake], prior_answers=[truth], reference_depths=[depth],
                      cluster=cluster, in_heatmap=True, question=question)
    closed_messages = PromptTemplate("", question + " Answer with the name only.", "Answer:").messages(None)
    closed = make_sample(state, sample_id=f"{cell}-closed_book", fitted=None, messages=closed_messages, length=None,
                         depth=None, variant="closed_book", scorer="counterfactual_closed", references=[fake],
                         prior_answers=[truth], cluster=cluster, in_heatmap=False, question=question, paired_with=doc.id)
    return [doc, closed]


def _register(name: str, description: str, defaults: GridParams, extra_keys: dict[str, int], factor: int,
              build: CellBuilder) -> None:
    register_longctx(name, description, defaults, extra_keys, build, factor)


_GRID = "grid keys: lengths, depths, n, max_tokens, haystack, threshold"
_register("qa_needle", f"a fact about an invented entity among distractor facts; distractors=D; {_GRID}",
          GridParams(), {"distractors": 3}, 1,
          lambda s, length, d, i, x: build_fact(s, length, d, i, variant="qa", n_distractors=x["distractors"], twins=False))
_register("unanswerable", "answerable/unanswerable twins (needle removed); labels correct_decline, hallucination, "
          f"false_refusal; distractors=D; {_GRID}", GridParams(), {"distractors": 2}, 2,
          lambda s, length, d, i, x: build_fact(s, length, d, i, variant="qa", n_distractors=x["distractors"], twins=True))
_register("counterfactual", f"needles contradicting world knowledge, each paired with a closed-book probe; {_GRID}",
          GridParams(), {}, 2, lambda s, length, d, i, x: build_counterfactual(s, length, d, i))
_register("position_sweep", "one fact at start/25%/50%/75%/end of YOUR documents (--haystack DIR); lengths=0 "
          f"(default) uses all of them up to the model's context; {_GRID}",
          replace(GridParams(), haystack="docs", lengths=(0,), samples_per_cell=3), {"distractors": 0}, 1,
          lambda s, length, d, i, x: build_fact(s, length, d, i, variant="position", n_distractors=x["distractors"],
                                                twins=False))
