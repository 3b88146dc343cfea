"""RULER's multi-hop tracing and aggregation tasks: variable tracking, common-words extraction and
frequent-words extraction. They place their material themselves, so they have no depth axis."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from dataclasses import replace

from assay.tasks.longctx.length import FittedPrompt, Insertion, PromptTemplate, count_tokens, fit_prompt, largest_fitting
from assay.tasks.longctx.needles import nonce_word, sample_rng
from assay.tasks.longctx.params import GridParams
from assay.tasks.longctx.task import BuildState, make_sample, register_longctx
from assay.types import Sample

_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _variable_name(rng: random.Random, forbidden: str, taken: set[str]) -> str:
    for _ in range(1000):
        name = "".join(rng.choice(_LETTERS) for _ in range(5))
        if name not in taken and name.casefold() not in forbidden:
            taken.add(name)
            return name
    raise RuntimeError("could not draw a variable name absent from the haystack")


def build_variable_tracking(state: BuildState, length: int, depth: float | None, index: int,
                            extra: dict[str, int]) -> list[Sample]:
    assert state.haystack is not None
    rng = sample_rng(state.task, length, depth, index, state.seed)
    forbidden, taken = state.forbidden_text, set()
    chains: list[tuple[str, list[str]]] = []
    for _ in range(extra["chains"]):
        value = str(rng.randint(10_000, 99_999))
        while value in forbidden or any(value == v for v, _ in chains):
            value = str(rng.randint(10_000, 99_999))
        chains.append((value, [_variable_name(rng, forbidden, taken) for _ in range(extra["hops"] + 1)]))
    statements: list[str] = []
    for value, names in chains:
        statements.append(f"VAR {names[0]} = {value} .")
        statements.extend(f"VAR {names[i]} = VAR {names[i - 1]} ." for i in range(1, len(names)))
    # Chains interleave at random, each keeping its own order, over sorted random depths.
    per_chain = extra["hops"] + 1
    interleaving = [c for c in range(len(chains)) for _ in range(per_chain)]
    rng.shuffle(interleaving)
    depths = sorted(round(rng.uniform(0.0, 100.0), 1) for _ in interleaving)
    next_hop = [0] * len(chains)
    insertions = []
    for chain, depth_percent in zip(interleaving, depths, strict=True):
        hop = next_hop[chain]
        next_hop[chain] += 1
        insertions.append(Insertion(statements[chain * per_chain + hop], depth_percent, f"var:{chain}:{hop}"))
    value, names = chains[0]
    template = PromptTemplate(
        "The text below hides chains of variable assignments such as 'VAR ABCDE = 12345'. Keep track of them.",
        f"Which variables are assigned the value {value}, directly or through other variables?",
        f"The variables that hold the value {value} are:")
    fitted = fit_prompt(state.tokenizer, state.haystack, template, insertions, length, state.params.max_tokens,
                        f"--task {state.task}", guesses=state.memo)
    chain_depths = {ins.label: ins.depth_percent for ins in insertions}
    return [make_sample(state, sample_id=f"L{length}-{index}", fitted=fitted, length=length, depth=None,
                        variant="variable_tracking", scorer="match_all", references=names,
                        reference_depths=[chain_depths[f"var:0:{i}"] for i in range(per_chain)],
                        decoy_values=[n for _, other in chains[1:] for n in other], cluster=f"L{length}-{index}",
                        in_heatmap=True)]


def _fit_document(state: BuildState, template_for: Callable[[str], PromptTemplate], document_for: Callable[[int], str],
                  limit: int, length: int) -> FittedPrompt:
    budget = length - state.params.max_tokens

    def size(n: int) -> int:
        return count_tokens(state.tokenizer, template_for(document_for(n)), document_for(n))

    n = largest_fitting(size, budget, limit, length, state.params.max_tokens, f"--task {state.task}")
    document = document_for(n)
    messages = template_for(document).messages(document)
    rendered = state.tokenizer.render_chat(messages)
    return FittedPrompt(messages, rendered, document, n, len(state.tokenizer.encode(rendered)))


def _distinct_words(rng: random.Random, count: int, syllables: int) -> list[str]:
    words: list[str] = []
    seen: set[str] = set()
    while len(words) < count:
        word = nonce_word(rng, syllables)
        if word not in seen:
            seen.add(word)
            words.append(word)
    return words


def build_common_words(state: BuildState, length: int, depth: float | None, index: int,
                       extra: dict[str, int]) -> list[Sample]:
    rng = sample_rng(state.task, length, index, state.seed)
    n_common = extra["common"]
    pool = _distinct_words(rng, n_common + length // 2 + 16, 2)
    common, uncommon = pool[:n_common], pool[n_common:]
    entry_tokens = max(1, len(state.tokenizer.encode(f"100. {common[0]}")))
    # RULER repeats common words 30x and uncommon ones 3x at 4K+; short lengths scale both down.
    budget = length - state.params.max_tokens
    common_freq = max(4, min(30, int(0.3 * budget / (n_common * entry_tokens))))
    uncommon_freq = max(1, common_freq // 10)
    shuffle_seed = sample_rng(state.task, length, index, state.seed, "shuffle").random()

    def document_for(m: int) -> str:
        words = common * common_freq + uncommon[:m] * uncommon_freq
        random.Random(shuffle_seed).shuffle(words)
        return "\n".join(f"{i}. {w}" for i, w in enumerate(words, 1))

    def template_for(_: str) -> PromptTemplate:
        return PromptTemplate("Below is a numbered list of words. Some words appear many more times than others.",
                              f"What are the {n_common} most common words in the list above?",
                              f"The {n_common} most common words in the list are:")

    fitted = _fit_document(state, template_for, document_for, len(uncommon), length)
    return [make_sample(state, sample_id=f"L{length}-{index}", fitted=fitted, length=length, depth=None,
                        variant="common_words", scorer="match_all", references=common,
                        decoy_values=uncommon[:fitted.n_units], cluster=f"L{length}-{index}",
                        in_heatmap=True, common_freq=common_freq, uncommon_freq=uncommon_freq,
                        haystack_kind="word-list", haystack_source=None, haystack_sha256=None, needles=[])]


def build_frequent_words(state: BuildState, length: int, depth: float | None, index: int,
                         extra: dict[str, int]) -> list[Sample]:
    rng = sample_rng(state.task, length, index, state.seed)
    vocabulary = _distinct_words(rng, extra["vocabulary"], 2)
    alpha = extra["alpha_x10"] / 10.0
    weights = [1.0 / (rank ** alpha) for rank in range(1, len(vocabulary) + 1)]
    stream = rng.choices(vocabulary, weights=weights, k=length)

    def document_for(m: int) -> str:
        return " ".join(stream[:m])

    def template_for(_: str) -> PromptTemplate:
        return PromptTemplate("Below is a text in a secret code: every word is a coded word. Count how often each "
                              "coded word appears.", "Which three coded words appear most often in the text?",
                              "The three most frequent coded words are:")

    fitted = _fit_document(state, template_for, document_for, len(stream), length)
    counts = Counter(stream[:fitted.n_units])
    rank = {w: i for i, w in enumerate(vocabulary)}
    ranked = sorted(counts, key=lambda w: (-counts[w], rank[w]))
    top = ranked[:3]
    return [make_sample(state, sample_id=f"L{length}-{index}", fitted=fitted, length=length, depth=None,
                        variant="frequent_words", scorer="match_all", references=top, decoy_values=ranked[3:],
                        cluster=f"L{length}-{index}",
                        in_heatmap=True, word_counts={w: counts[w] for w in top}, haystack_kind="coded-text",
                        haystack_source=None, haystack_sha256=None, needles=[])]


_NO_DEPTH = "grid keys: lengths, n, max_tokens, threshold"


register_longctx("variable_tracking", f"multi-hop tracing of VAR assignments; chains=C, hops=H; haystack; {_NO_DEPTH}",
          replace(GridParams(), depths=(None,), haystack="noise"), {"chains": 1, "hops": 4}, build_variable_tracking)
register_longctx("common_words", f"aggregation: the K most common words of a numbered list; common=K; {_NO_DEPTH}",
          replace(GridParams(), depths=(None,), max_tokens=96, haystack=None), {"common": 10}, build_common_words)
register_longctx("frequent_words", f"aggregation: the 3 most frequent coded words (Zipf); vocabulary=V, alpha_x10; {_NO_DEPTH}",
          replace(GridParams(), depths=(None,), max_tokens=48, haystack=None), {"vocabulary": 200, "alpha_x10": 20},
          build_frequent_words)
