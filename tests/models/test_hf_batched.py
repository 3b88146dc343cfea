"""Batched greedy decoding (hf_batch_generate.py): which prompts it takes, and on the real SmolLM2-135M
model the same texts, token counts and finish reasons as decoding one prompt at a time."""

from __future__ import annotations

from dataclasses import replace

import pytest

from assay.errors import AssayError
from assay.types import GenerateRequest, Message

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("gguf")

from assay.models.hf_batch_generate import batch_groups  # noqa: E402
from assay.models.hf_budget import CPU_BUDGET  # noqa: E402
from assay.models.hf_generate import GenerationJob  # noqa: E402
from assay.models.registry import load_model  # noqa: E402


def job(tokens: list[int], temperature: float = 0.0) -> GenerationJob:
    return GenerationJob(tuple(tokens), (), 8, temperature, None)


def test_batch_groups_keep_shared_prefixes_together() -> None:
    # Unrelated prompts: longest first, in batches of batch_size.
    # Unrelated prompts: one group, longest first (batch_size only caps the rows decoding at once).
    unrelated = [job([1, 2, 3, 4]), job([5, 6, 7]), job([9, 9, 9, 9, 9])]
    assert batch_groups(unrelated) == [[2, 0, 1]]
    # Jobs 0 and 3 share 3 of 4 tokens: batched together (their prefix prefilled once), apart from the rest.
    shared = [job([1, 2, 3, 4]), job([5, 6, 7]), job([9, 9, 9]), job([1, 2, 3, 8, 8, 8])]
    assert batch_groups(shared) == [[0, 3], [1, 2]]
    # On the row-invariant CPU budget a job left alone is a group of one, so it takes the same forward passes as in
    # company; elsewhere it stays on the one-at-a-time path, which can reuse the KV cache of the previous prompt.
    alone = [job([1, 2, 3, 4]), job([1, 2, 3, 5]), job([7, 8])]
    assert batch_groups(alone) == [[0, 1], [2]]
    assert batch_groups(alone, replace(CPU_BUDGET, batch_invariant=False)) == [[0, 1]]
    # Sampling stays on the one-at-a-time path.
    assert batch_groups([job([1, 2]), job([5, 6], temperature=0.7)]) == [[0]]
    # Prompts longer than one prefill segment are left to the segmented prefill.
    assert batch_groups([job([1] + [7] * 2000), job([2, 3])]) == [[1]]


def test_batch_size_option_is_checked() -> None:
    with pytest.raises(AssayError, match="batch_size"):
        load_model("embedded", batch_size="0")


@pytest.fixture(scope="module")
def model():
    loaded = load_model("embedded")
    yield loaded
    loaded.close()


def one_at_a_time(model, requests: list[GenerateRequest]):
    model.generator.batch_size = 1
    try:
        return model.generate(requests)
    finally:
        model.generator.batch_size = 8


@pytest.mark.slow
def test_batched_greedy_equals_one_at_a_time(model, monkeypatch: pytest.MonkeyPatch) -> None:
    requests = [
        GenerateRequest(prompt="1, 2, 3, 4, 5,", until=(", 9",), max_tokens=30),
        GenerateRequest(prompt="Q: What is the capital of France?\nA:", until=("\n",), max_tokens=24),
        GenerateRequest(messages=(Message("user", "Write one sentence about the sea."),), max_tokens=40),
        GenerateRequest(prompt="Once upon a time, in a small village by the mountains, there lived an old "
                               "clockmaker who", until=(".", "!"), max_tokens=48),
        GenerateRequest(prompt="def fibonacci(n):\n", until=("\n\n", "def "), max_tokens=60),
        GenerateRequest(prompt="Translate to French: good morning ->", max_tokens=3),
        GenerateRequest(prompt="Hi", max_tokens=1),
        GenerateRequest(prompt="Counting in words: one, two, three,", until=("twelve", "Twelve"), max_tokens=80),
        GenerateRequest(prompt="The three primary colours are", until=("blue",), max_tokens=20),
        GenerateRequest(prompt="A: ", max_tokens=0),
    ]
    expected = one_at_a_time(model, requests)

    admitted: list[int] = []
    rows: list[int] = []
    kept: list[int] = []  # inputs per row whose logits a pass kept: more than 1 when it checked draft tokens
    from assay.models.hf_batch_generate import BatchedGreedyDecoder

    admit, forward = BatchedGreedyDecoder._admit, BatchedGreedyDecoder._forward

    def counting_admit(self, jobs, shared, prefix):
        admitted.append(len(jobs))
        return admit(self, jobs, shared, prefix)

    def counting_forward(self, ids, mask, positions, cache, keep=1):
        rows.append(ids.shape[0])
        kept.append(keep)
        return forward(self, ids, mask, positions, cache, keep)

    monkeypatch.setattr(BatchedGreedyDecoder, "_admit", counting_admit)
    monkeypatch.setattr(BatchedGreedyDecoder, "_forward", counting_forward)
    model.generator.batch_size = 4
    try:
        batched = model.generate(requests)
    finally:
        model.generator.batch_size = 8
    # 9 runnable prompts (max_tokens 0 needs no forward pass): 4 start, and each later one takes the place of a
    # finished row while the others decode on (continuous batching), never more than 4 rows at once.
    assert admitted[0] == 4 and sum(admitted) == 9 and len(admitted) > 2, admitted
    assert max(rows) == 4 and rows.count(4) > len(admitted), rows
    # Drafts looked up in the text so far ("1, 2, 3, ...", counting in words) were checked, and outputs still equal.
    assert max(kept) > 1, kept
    for request, want, got in zip(requests, expected, batched, strict=True):
        assert got.error is None, got.error
        assert (got.text, got.n_tokens, got.meta) == (want.text, want.n_tokens, want.meta), request
    assert {r.meta["finish_reason"] for r in batched} >= {"stop", "length"}
    assert batched[0].meta["finish_reason"] == "stop" and ", 9" not in batched[0].text
    assert batched[2].meta["chat_template_sha256"] is not None and batched[0].meta["chat_template_sha256"] is None


@pytest.mark.slow
def test_context_limit_caps_batched_generation(model) -> None:
    limit = model.generator.scorer.max_length
    tok = model.tokenizer()
    # A prompt much longer than its neighbour (left padding) that is within 3 tokens of the (lowered) context.
    prompt = tok.decode_output(tok.encode("alpha beta gamma delta " * 200)[:600])
    short = "The weather today is"
    requests = [GenerateRequest(prompt=prompt, max_tokens=5), GenerateRequest(prompt=short, max_tokens=5)]
    n_prompt = len(tok.encode(prompt))
    model.generator.scorer.max_length = n_prompt + 3  # leaves room for 3 new tokens after the long prompt
    try:
        batched = model.generate(requests)
        expected = one_at_a_time(model, requests)
    finally:
        model.generator.scorer.max_length = limit
    assert [(r.text, r.n_tokens, r.meta) for r in batched] == [(r.text, r.n_tokens, r.meta) for r in expected]
    assert batched[0].n_tokens <= 3


@pytest.mark.slow
def test_shared_prefix_batch_equals_one_at_a_time(model) -> None:
    """Few-shot prompts: one long shared prefix, prefilled once for the batch, then different questions."""
    shots = "".join(f"Q: What is {a} plus {b}?\nA: Let's think. {a} plus {b} is {a + b}. The answer is {a + b}.\n\n"
                    for a, b in ((3, 4), (10, 7), (21, 5), (8, 8)))
    questions = ["What is 2 plus 9?", "What is 14 plus 30, and is the sum even?", "What is 6 plus 1?",
                 "What is 100 plus 250 plus 5?", "Is 7 plus 7 more than 13?"]
    requests = [GenerateRequest(prompt=f"{shots}Q: {q}\nA: Let's think.", until=("\n\nQ:", "\n\n"), max_tokens=40 + 10 * k)
                for k, q in enumerate(questions)]
    expected = one_at_a_time(model, requests)
    model.generator.stats = {"computed": 0, "naive": 0}
    batched = model.generate(requests)
    stats = model.prefill_stats
    assert [(r.text, r.n_tokens, r.meta) for r in batched] == [(r.text, r.n_tokens, r.meta) for r in expected]
    assert stats["computed"] < 0.4 * stats["naive"], stats  # the shared few-shot prefix ran once, not five times


@pytest.mark.slow
def test_continuous_batching_merge_and_compact_equal_one_at_a_time(model, monkeypatch: pytest.MonkeyPatch) -> None:
    """Rows finish at different steps and new, longer rows are admitted into the running batch: the running cache is
    widened (`_merge` pads its columns) and compacted (`compact`), on caches the model's forward passes filled. The
    main job once crashed here (a KV buffer made in inference mode, padded outside it). Every output must equal
    decoding each prompt on its own, token for token."""
    from assay.models import hf_batch_generate, hf_kv

    # One group sharing the few-shot prefix, in token order: prompt lengths 172, 194, 220, 168, 168, 235 tokens.
    shots = "".join(f"Q: What is {a} plus {b}?\nA: {a + b}.\n\n"
                    for a, b in ((3, 4), (10, 7), (21, 5), (8, 8), (2, 2), (5, 9), (11, 12), (30, 1)))
    filler = " and then some more words about the weather in the hills" * 2
    questions = ["What is 2 plus 9?", f"Q{filler}, what is 14 plus 30?", "What is 6 plus 1?",
                 f"What{filler}{filler}, is 100 plus 250 plus 5?", "Is 7 plus 7 more than 13?",
                 f"Why{filler}{filler}{filler} is 5 plus 5 ten?"]
    # Decoded in the order 172, 194, 220, 168, 168, 235 tokens, two rows at a time: the 172-token row runs on while
    # the others stop after 2-3 tokens or at "\n\nQ:", so longer prompts join a narrower running batch.
    max_tokens = [12, 2, 20, 3, 60, 30]
    requests = [GenerateRequest(prompt=f"{shots}Q: {q}\nA:", until=() if k == 4 else ("\n\nQ:",), max_tokens=max_tokens[k])
                for k, q in enumerate(questions)]
    expected = one_at_a_time(model, requests)

    widened: list[tuple[int, int]] = []  # (columns before, after) of each running cache padded wider
    compacted: list[tuple[int, int]] = []  # (columns before, after)
    pad_columns, compact = hf_kv.GrowingLayer.pad_columns, hf_kv.compact

    def counting_pad(self, columns):
        if columns > self.get_seq_length():
            widened.append((self.get_seq_length(), columns))
        return pad_columns(self, columns)

    def counting_compact(cache, mask):
        new_mask = compact(cache, mask)
        compacted.append((mask.shape[1], new_mask.shape[1]))
        return new_mask

    monkeypatch.setattr(hf_kv.GrowingLayer, "pad_columns", counting_pad)
    monkeypatch.setattr(hf_kv, "compact", counting_compact)
    # Compact whenever a column is masked in every row beyond the longest row (the default waits for 1.5x + 64).
    monkeypatch.setattr(hf_batch_generate, "COMPACT_FACTOR", 1.0)
    monkeypatch.setattr(hf_batch_generate, "COMPACT_SLACK", 0)
    # One prompt prefilled per admission (as 4k-token prompts are under the CPU budget): a row joins a batch that has
    # just decoded a step, not only one that has just dropped a finished row.
    monkeypatch.setattr(model.generator.scorer, "budget", replace(model.generator.scorer.budget, prefill_batch_tokens=1))
    model.generator.batch_size = 2
    try:
        batched = model.generate(requests)
    finally:
        model.generator.batch_size = 8
    assert widened, "no running cache was widened for a longer admitted row"
    assert any(after < before for before, after in compacted), compacted
    for request, want, got in zip(requests, expected, batched, strict=True):
        assert got.error is None, got.error
        assert (got.text, got.n_tokens, got.meta) == (want.text, want.n_tokens, want.meta), request.prompt[-80:]


@pytest.mark.slow
def test_decoding_batch_keeps_to_the_kv_budget(model, monkeypatch: pytest.MonkeyPatch) -> None:
    """Rows join a running batch only while rows x cache columns fit the budget's decode_kv_tokens (on CPU the
    KV cache, not speed, limits rows of long prompts); the outputs do not change."""
    from assay.models.hf_batch_generate import BatchedGreedyDecoder

    prompts = [f"Item {k}: " + "the quick brown fox jumps over the lazy dog " * (20 + 3 * k) for k in range(5)]
    requests = [GenerateRequest(prompt=p, max_tokens=6 + k) for k, p in enumerate(prompts)]
    expected = one_at_a_time(model, requests)
    tokens = [len(model.tokenizer().encode(p)) for p in prompts]
    budget = 2 * max(tokens) + 40  # two rows at most, whichever two
    held: list[int] = []
    forward = BatchedGreedyDecoder._forward

    def counting_forward(self, ids, mask, positions, cache, keep=1):
        held.append(ids.shape[0])
        return forward(self, ids, mask, positions, cache, keep)

    monkeypatch.setattr(BatchedGreedyDecoder, "_forward", counting_forward)
    monkeypatch.setattr(model.generator.scorer, "budget", replace(model.generator.scorer.budget, decode_kv_tokens=budget,
                                                                  prefill_batch_tokens=1))
    batched = model.generate(requests)
    assert max(held) == 2, held
    assert [(r.text, r.n_tokens, r.meta) for r in batched] == [(r.text, r.n_tokens, r.meta) for r in expected]
