"""Needle-in-a-haystack tasks (RULER's NIAH family): single, multi-key with decoys, multi-value,
multi-query, k-of-n multi-needle, and `longctx_quick`, the default main job.

All samples of one (task, length) read the haystack from the same start, so their prompts share
long token prefixes (the backend reuses the KV cache); keys, values and extra-needle positions come
from each sample's own random stream."""

from __future__ import annotations

from dataclasses import replace

from assay.tasks.longctx.haystack import Haystack, needles_haystack
from assay.tasks.longctx.length import Insertion, PromptTemplate, fit_prompt, fit_without
from assay.tasks.longctx.needles import VALUE_NOUNS, draw_key, draw_value, magic_needle, sample_rng
from assay.tasks.longctx.params import GridParams
from assay.tasks.longctx.task import BuildState, CellBuilder, depth_label, make_sample, register_longctx
from assay.types import Sample

DECLINE_ANSWER = "The answer is not in the document."


def haystack_for(state: BuildState, length: int) -> tuple[Haystack, set[str], list[str]]:
    """The haystack of this length, the keys/values already used in it and the value of each unit (for
    decoy-needle haystacks; their values are candidates a scorer must recognise as decoys)."""
    if state.params.haystack != "needles":
        assert state.haystack is not None
        return state.haystack, set(), []
    memo_key = ("needles", length)
    if memo_key not in state.memo:
        rng = sample_rng(state.task, length, "haystack", state.seed)
        taken: set[str] = set()
        kind = state.params.value_kind
        # About 20 tokens per needle sentence; the haystack cycles if a length needs more.
        pairs = [(draw_key(rng, "", taken), draw_value(rng, kind, "", taken)) for _ in range(length // 16 + 16)]
        decoys = [magic_needle(key, value, kind) for key, value in pairs]
        state.memo[memo_key] = (needles_haystack(decoys, f"decoy-needles:{kind}"), taken, [v for _, v in pairs])
    return state.memo[memo_key]


def candidate_decoys(decoys: list[tuple[str, str]], needles: list[tuple[str, str]], queried: list[str],
                     unit_values: list[str], n_units: int) -> list[str]:
    """Every value in the document that is not an answer: decoy needles, the needles of keys not
    asked about, and the values of the decoy-needle haystack units used (docs/longctx-scoring.md)."""
    unasked = [v for k, v in needles if k not in queried]
    return [v for _, v in decoys] + unasked + unit_values[:min(n_units, len(unit_values))]


def niah_template(noun: str, keys: list[str], *, many_values: bool = False, decline: bool = False) -> PromptTemplate:
    # The instruction is the same for every NIAH variant, so prompts share their prefix up to the document.
    instruction = (f"Some special magic {noun}s are hidden in the document below. Read it carefully and remember "
                   "them: a question about them follows the document.")
    key_text = keys[0] if len(keys) == 1 else ", ".join(keys[:-1]) + " and " + keys[-1]
    plural = many_values or len(keys) > 1
    what = f"all the special magic {noun}s" if plural else f"the special magic {noun}"
    question = f"What {'are' if plural else 'is'} {what} for {key_text} mentioned in the document?"
    if decline:
        question += f" If the document does not mention it, answer exactly: {DECLINE_ANSWER}"
        return PromptTemplate(instruction, question, "Answer:")
    verb = "are" if plural else "is"
    prefix = f"The special magic {noun}{'s' if plural else ''} for {key_text} mentioned in the document {verb}"
    return PromptTemplate(instruction, question, prefix)


def _random_depth(rng) -> float:  # noqa: ANN001 - random.Random
    return round(rng.uniform(0.0, 100.0), 1)


def _sample_id(length: int, depth: float | None, index: int, variant: str) -> str:
    return f"L{length}-D{depth_label(depth)}-{index}-{variant}"


def build_keyed(state: BuildState, length: int, depth: float | None, index: int, *, variant: str, n_keys: int = 1,
                n_values: int = 1, n_decoys: int = 0, n_queried: int | None = None, twins: bool = False,
                spread: bool = False) -> list[Sample]:
    """The NIAH workhorse: `n_keys` keys with `n_values` values each (first needle at `depth`, the rest
    at random depths, or all spread evenly), `n_decoys` same-template needles with other keys, and a
    question about `n_queried` of the keys."""
    haystack, taken, unit_values = haystack_for(state, length)
    taken = set(taken)
    rng = sample_rng(state.task, variant, length, depth, index, state.seed)
    kind, forbidden = state.params.value_kind, haystack.lowered_text
    keys = [draw_key(rng, forbidden, taken) for _ in range(n_keys)]
    needles = [(key, draw_value(rng, kind, forbidden, taken)) for key in keys for _ in range(n_values)]
    total = len(needles)
    if spread:
        depths = [round(100.0 * i / max(total - 1, 1), 1) for i in range(total)]
    else:
        depths = [depth if i == 0 else _random_depth(rng) for i in range(total)]
    insertions = [Insertion(magic_needle(k, v, kind), d, f"needle:{k}") for (k, v), d in zip(needles, depths, strict=True)]
    decoys = [(draw_key(rng, forbidden, taken), draw_value(rng, kind, forbidden, taken)) for _ in range(n_decoys)]
    insertions += [Insertion(magic_needle(k, v, kind), _random_depth(rng), f"decoy:{k}") for k, v in decoys]
    queried = keys if n_queried is None else sorted(rng.sample(keys, n_queried), key=keys.index)
    references = [v for k, v in needles if k in queried]
    reference_depths = [d for (k, _), d in zip(needles, depths, strict=True) if k in queried]
    template = niah_template(VALUE_NOUNS[kind], queried, many_values=n_values > 1, decline=twins)
    what = f"--task {state.task}"
    fitted = fit_prompt(state.tokenizer, haystack, template, insertions, length, state.params.max_tokens, what,
                        guesses=state.memo)
    cluster = f"L{length}-D{depth_label(depth)}-{index}"
    common = {"length": length, "depth": depth, "cluster": cluster, "haystack": haystack,
              "decoy_values": candidate_decoys(decoys, needles, queried, unit_values, fitted.n_units),
              "keys": queried, "value_kind": kind}
    first = make_sample(state, sample_id=_sample_id(length, depth, index, variant), fitted=fitted, variant=variant,
                        scorer="twin_answerable" if twins else "match_all", references=references,
                        reference_depths=reference_depths, in_heatmap=True, **common)
    if not twins:
        return [first]
    # The unanswerable twin: the same units and decoys, the queried needles removed.
    kept = [ins for ins in insertions if not ins.label.startswith("needle:")]
    twin_fit = fit_without(state.tokenizer, haystack, template, kept, fitted.n_units)
    twin = make_sample(state, sample_id=_sample_id(length, depth, index, f"{variant}_unanswerable"), fitted=twin_fit,
                       variant=f"{variant}_unanswerable", scorer="twin_unanswerable", references=references,
                       reference_depths=[], in_heatmap=False, removed_needles=[ins.text for ins in insertions
                                                                                if ins.label.startswith("needle:")],
                       **common)
    return [first, twin]


def _factory(name: str, description: str, defaults: GridParams, extra_keys: dict[str, int], factor: int,
             build: CellBuilder) -> None:
    register_longctx(name, description, defaults, extra_keys, build, factor)


_GRID = "grid keys: lengths, depths, n, max_tokens, haystack, value, threshold"

_factory("niah_single", f"one needle (number|uuid|word) in a haystack; {_GRID}", GridParams(), {}, 1,
         lambda s, length, d, i, x: build_keyed(s, length, d, i, variant="single"))
_factory("niah_multikey", f"target needle among same-template decoys with other keys; decoys=K; {_GRID}",
         GridParams(), {"decoys": 3}, 1,
         lambda s, length, d, i, x: build_keyed(s, length, d, i, variant="multikey", n_decoys=x["decoys"]))
_factory("niah_multivalue", f"one key with several values, all must be recalled; values=V; {_GRID}",
         GridParams(), {"values": 4}, 1,
         lambda s, length, d, i, x: build_keyed(s, length, d, i, variant="multivalue", n_values=x["values"]))
_factory("niah_multiquery", f"several keys asked at once, all values must be recalled; queries=Q; {_GRID}",
         GridParams(), {"queries": 4}, 1,
         lambda s, length, d, i, x: build_keyed(s, length, d, i, variant="multiquery", n_keys=x["queries"]))
_factory("niah_multineedle", "k-of-n recall: n needles spread evenly over the document, k of them asked; "
         "needles=N, k=K; grid keys: lengths, n, max_tokens, haystack, value, threshold",
         replace(GridParams(), depths=(None,)), {"needles": 8, "k": 4}, 1,
         lambda s, length, d, i, x: build_keyed(s, length, d, i, variant="multineedle", n_keys=x["needles"],
                                                n_queried=min(x["k"], x["needles"]), spread=True))


def build_quick(state: BuildState, length: int, depth: float | None, index: int, extra: dict[str, int]) -> list[Sample]:
    return (build_keyed(state, length, depth, index, variant="single", twins=True)
            + build_keyed(state, length, depth, index, variant="multikey", n_decoys=extra["decoys"]))


_factory("longctx_quick", "the default main job: single needle + its unanswerable twin + multi-key with decoys, "
         "lengths 512..4096 × depths 0..100, 1 sample per cell, 24 new tokens; " + _GRID,
         replace(GridParams(), samples_per_cell=1, max_tokens=24), {"decoys": 3}, 3, build_quick)
