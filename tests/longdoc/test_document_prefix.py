"""Document-prefix reuse: QuALITY prompts put the document first, so questions about one document share it
as a prefix, and the hf scorer runs a prefix shared by several contexts once (same log-likelihoods)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from assay.tasks import TaskContext, get_task

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from assay.models.hf_scoring import MIN_SHARED_PREFIX, Scorer, TokenItem  # noqa: E402


@pytest.mark.shared_data
@pytest.mark.parametrize("name", ["leval_quality", "leval_quality_gen"])
def test_questions_about_one_document_share_the_document_as_prefix(shared_data_dir: Path, name: str) -> None:
    task = get_task(name)
    samples = list(task.samples(TaskContext(data_dir=shared_data_dir)))
    assert len(samples) == 202 and len({s.cluster for s in samples}) == 15
    assert all(len(s.choices or ()) == 4 and 0 <= s.target < 4 for s in samples)
    first_doc = [s for s in samples if s.cluster == "doc-0"]
    prompts = [(r.context if r.kind == "loglikelihood" else r.prompt) for s in first_doc for r in task.requests(s)]
    common = os.path.commonprefix(prompts)
    document = first_doc[0].input.split("\n\nQuestion: ")[0]
    assert document.startswith("Document:\n") and len(document) > 10_000
    assert document in common and common.index(document) < 200  # only the instruction comes before it


def _tiny_model():
    torch.manual_seed(0)
    config = transformers.LlamaConfig(vocab_size=97, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                                      num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=2048)
    return transformers.LlamaForCausalLM(config).eval()


def _items() -> list[TokenItem]:
    document = [(7 * i) % 90 + 3 for i in range(600)]
    other = [(11 * i) % 90 + 3 for i in range(400)]
    items = []
    for q in range(5):
        question = [q + 1, 50, 60 + q, 2]
        items += [TokenItem(tuple(document + question), (20 + c, 30 + c, 40)) for c in range(4)]
    items += [TokenItem(tuple(other + [5, 2]), (21,)), TokenItem(tuple(other + [5, 2]), (22, 23))]  # alone
    items += [TokenItem((1, 2, 3), (4,))]  # a single item: the batched path
    return items


def test_a_shared_document_prefix_is_run_once_with_the_same_log_likelihoods() -> None:
    model = _tiny_model()
    naive, reused = Scorer(model, "cpu", 2048, 0), Scorer(model, "cpu", 2048, 0)
    naive.share_document_prefix = False
    expected, got = naive.score(_items()), reused.score(_items())
    assert [s.n_tokens for s in got] == [s.n_tokens for s in expected]
    # Forward passes on CPU are row-invariant and the shared prefix is cut at a 64-token boundary (576 of the
    # document's 600 tokens), where sharing changes no bit.
    assert [s.logprob for s in got] == [s.logprob for s in expected]
    assert [s.is_greedy for s in got] == [s.is_greedy for s in expected]
    # The document's first 576 tokens run once instead of 5 times.
    assert naive.stats["computed"] - reused.stats["computed"] >= 4 * 576 - 10
    groups = reused._prefix_groups(sorted({item.context for item in _items()[:-1]}))
    assert sorted((len(g), common) for g, common in groups) == [(1, 0), (5, 576)]
    assert MIN_SHARED_PREFIX > 4  # the 4-token questions alone never make a group
