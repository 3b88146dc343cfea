"""The GPU budget (hf_budget.py) forced on CPU: large cross-sample batches give the same log-likelihoods and
the same greedy texts as scoring and decoding one request at a time, on a tiny random Llama."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from assay.models.hf import HFModel, build_model  # noqa: E402
from assay.models.hf_batch_generate import BatchedGreedyDecoder  # noqa: E402
from assay.models.hf_budget import CPU_BUDGET, CUDA_BUDGET, budget_for, default_dtype  # noqa: E402
from assay.models.hf_loading import LoadedModel  # noqa: E402
from assay.models.hf_scoring import Scorer, TokenItem  # noqa: E402
from assay.models.hf_tokenizer import HFTokenizer  # noqa: E402
from assay.types import GenerateRequest, LoglikelihoodRequest  # noqa: E402

SHAPE = Path(__file__).resolve().parents[2] / "bench" / "smollm2_135m_shape"


def tiny_llama(vocab_size: int) -> object:
    torch.manual_seed(0)
    config = transformers.LlamaConfig(vocab_size=vocab_size, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                                      num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=4096)
    return transformers.LlamaForCausalLM(config).eval()


def forward_calls(scorer: Scorer) -> list[int]:
    """Records the batch size of every forward pass the scorer makes."""
    calls: list[int] = []
    original = scorer._forward

    def counting(input_ids, computed, **kwargs):
        calls.append(int(input_ids.shape[0]))
        return original(input_ids, computed, **kwargs)

    scorer._forward = counting  # type: ignore[method-assign]
    return calls


def choice_items() -> list[TokenItem]:
    """Short multiple-choice questions of 3 to 6 tokens, four choices of one or two tokens each (arith_mc's shape)."""
    items = []
    for q in range(12):
        question = (5, 9, q % 80 + 3, (q * 7) % 80 + 3, 11, 13)[: 3 + q % 4]
        items += [TokenItem(question, (20 + c, 30 + (q + c) % 40)[: 1 + c % 2]) for c in range(4)]
    return items


def mixed_items() -> list[TokenItem]:
    items = choice_items()
    document = tuple((7 * i) % 90 + 3 for i in range(700))  # long shared context: still run once on the GPU budget
    items += [TokenItem(document + (q, 2), (40 + q, 41)) for q in range(3) for _ in range(2)]
    items += [TokenItem(tuple((3 * i) % 90 + 2 for i in range(1500)), (7, 8, 9))]  # longer than a CPU segment
    items += [TokenItem((1,), tuple(range(10, 40)))]  # long continuation
    return items


def test_gpu_budget_log_likelihoods_equal_one_at_a_time() -> None:
    model = tiny_llama(97)
    items = mixed_items()
    reference = [Scorer(model, "cpu", 4096, 0).score([item])[0] for item in items]
    on_cpu_budget = Scorer(model, "cpu", 4096, 0)
    on_gpu_budget = Scorer(model, "cpu", 4096, 0, budget=CUDA_BUDGET)
    # The CPU budget without its two-pass path for short shared contexts: each question's own shared-context pass.
    per_question = Scorer(model, "cpu", 4096, 0, budget=dataclasses.replace(CPU_BUDGET, shared_context_tokens=2))
    question_calls, gpu_calls = forward_calls(per_question), forward_calls(on_gpu_budget)
    for scorer in (on_cpu_budget, on_gpu_budget, per_question):
        got = scorer.score(items)
        assert [s.n_tokens for s in got] == [s.n_tokens for s in reference]
        assert [s.logprob for s in got] == pytest.approx([s.logprob for s in reference], abs=1e-3)
        assert [s.is_greedy for s in got] == [s.is_greedy for s in reference]
    # The 48 short choices (24 distinct inputs: a one-token choice reads the row of a two-token one) run as rows of
    # one forward on the GPU budget, not one shared-context pass per question.
    assert max(gpu_calls) >= 24
    assert len(gpu_calls) < len(question_calls) / 3


def test_short_shared_contexts_run_once_on_the_gpu_budget() -> None:
    model = tiny_llama(97)
    items = choice_items()
    reference = [Scorer(model, "cpu", 4096, 0).score([item])[0] for item in items]
    scorer = Scorer(model, "cpu", 4096, 0, budget=CUDA_BUDGET)
    calls = forward_calls(scorer)
    got = scorer.score(items)
    assert [s.logprob for s in got] == pytest.approx([s.logprob for s in reference], abs=1e-3)
    assert [s.is_greedy for s in got] == [s.is_greedy for s in reference]
    # Each question ran once (12 rows), then the 48 choices in one pass of their 24 distinct inputs (a one-token
    # choice's input, the context's last token, is the start of a two-token choice's): fewer tokens than whole rows.
    assert calls == [12, 24] and scorer.stats["computed"] < scorer.stats["naive"]


def test_budget_follows_the_device() -> None:
    assert budget_for("cpu") == CPU_BUDGET and budget_for("mps") == CPU_BUDGET
    assert budget_for("cuda") == CUDA_BUDGET == budget_for("cuda:1")
    assert (default_dtype("cpu"), default_dtype("cuda:0")) == ("float32", "bfloat16")
    # The CPU sizes the CPU speed and the lm-eval parity figures (bench/parity_lm_eval.py) were measured with.
    assert (CPU_BUDGET.batch_tokens, CPU_BUDGET.segment_tokens, CPU_BUDGET.max_batch, CPU_BUDGET.generate_batch,
            CPU_BUDGET.shared_context_tokens) == (4096, 1024, 128, 16, 64)
    assert CPU_BUDGET.batch_invariant and not CUDA_BUDGET.batch_invariant


@pytest.fixture(scope="module")
def tokenizer() -> object:
    return transformers.AutoTokenizer.from_pretrained(SHAPE)


def test_batched_encoding_keeps_lm_eval_boundaries(tokenizer) -> None:
    hf = HFTokenizer("shape", tokenizer)
    pairs = [("Question: What is 2 + 3?\nAnswer:", " 5"), ("Question: What is 2 + 3?\nAnswer:", " 23"),
             ("The capital of France is ", "Paris"), ("", "hello world"), ("   ", "x"), ("line\n\n", "next"),
             ("naïve café", " ☕ ok")]

    def one(context: str, continuation: str) -> tuple[list[int], list[int]]:
        if context == "":
            return [hf.prefix_token_id], hf.encode(continuation)
        stripped = context.rstrip()
        whole = hf.encode(context + continuation)
        context_tokens = hf.encode(stripped)
        return context_tokens or [hf.prefix_token_id], whole[len(context_tokens):]

    assert hf.encode_pairs(pairs) == [one(*pair) for pair in pairs]
    assert hf.encode_pair(*pairs[2]) == one(*pairs[2])


def test_gpu_budget_generation_equals_one_at_a_time(tokenizer, monkeypatch: pytest.MonkeyPatch) -> None:
    loaded = LoadedModel(tiny_llama(len(tokenizer)), tokenizer, "test", "transformers", False, 0.0)
    words = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa", "lambda", "mu", "nu",
             "xi", "omicron", "pi", "rho", "sigma", "tau"]
    haystack = " ".join(words[(i * 7) % len(words)] for i in range(1300))  # ~1300 tokens: over a CPU segment
    requests = [GenerateRequest(prompt=f"{haystack[:cut]} The number is {n}. {haystack[cut:]} Number?", max_tokens=6)
                for cut in (2000, 5000) for n in (17, 42, 99)]
    requests += [GenerateRequest(prompt=f"Short prompt {i}: " + " ".join(words[i:i + 3 + i]), max_tokens=5, until=("eta",))
                 for i in range(6)]
    one_at_a_time = HFModel("test", "tiny", loaded, batch_size=1).generate(requests)
    batched = HFModel("test", "tiny", loaded, batch_size=64)
    batched.scorer.budget = CUDA_BUDGET
    decoded: list[int] = []  # prompt lengths of the jobs decoded in batches
    original = BatchedGreedyDecoder._decode
    monkeypatch.setattr(BatchedGreedyDecoder, "_decode",
                        lambda self, jobs: decoded.extend(len(j.prompt_tokens) for j in jobs) or original(self, jobs))
    got = batched.generate(requests)
    assert [(r.text, r.n_tokens, r.meta["finish_reason"]) for r in got] == [
        (r.text, r.n_tokens, r.meta["finish_reason"]) for r in one_at_a_time]
    # The six prompts longer than a CPU prefill segment were decoded in batches too.
    assert sum(n > CPU_BUDGET.segment_tokens for n in decoded) == 6 and len(decoded) >= 10
    assert batched.loglikelihood([LoglikelihoodRequest("The number is", " 17")])[0].n_tokens > 0


def test_cpu_defaults_stay_float32(tmp_path: Path) -> None:
    model = tiny_llama(len(transformers.AutoTokenizer.from_pretrained(SHAPE)))
    model.save_pretrained(tmp_path)
    transformers.AutoTokenizer.from_pretrained(SHAPE).save_pretrained(tmp_path)
    hf_model = build_model(tmp_path, f"hf:{tmp_path}", "tiny", {})
    assert hf_model.fingerprint()["dtype"] == "float32"
    assert hf_model.scorer.budget == CPU_BUDGET and hf_model.generator.batch_size == CPU_BUDGET.generate_batch


def test_cuda_defaults_are_bfloat16_and_the_gpu_budget(tmp_path: Path) -> None:
    if not torch.cuda.is_available():
        pytest.skip("GPU only: needs a CUDA device")
    model = tiny_llama(len(transformers.AutoTokenizer.from_pretrained(SHAPE)))
    model.save_pretrained(tmp_path)
    transformers.AutoTokenizer.from_pretrained(SHAPE).save_pretrained(tmp_path)
    hf_model = build_model(tmp_path, f"hf:{tmp_path}", "tiny", {"device": "cuda"})
    assert hf_model.fingerprint()["dtype"] == "bfloat16"
    assert hf_model.scorer.budget == CUDA_BUDGET and hf_model.generator.batch_size == CUDA_BUDGET.generate_batch


def test_on_cuda_batched_log_likelihoods_equal_one_at_a_time() -> None:
    if not torch.cuda.is_available():
        pytest.skip("GPU only: needs a CUDA device")
    model = tiny_llama(97).to("cuda")
    items = mixed_items()
    reference = [Scorer(model, "cuda", 4096, 0).score([item])[0] for item in items]
    scorer = Scorer(model, "cuda", 4096, 0)
    assert scorer.budget == CUDA_BUDGET
    got = scorer.score(items)
    assert [s.logprob for s in got] == pytest.approx([s.logprob for s in reference], abs=1e-3)
    assert [s.is_greedy for s in got] == [s.is_greedy for s in reference]
