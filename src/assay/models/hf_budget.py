"""How much work one forward pass of the hf backend may take, per device.

On CPU (two cores measured) larger batches do not run faster, they only use memory, so the budget
is small; on a GPU a forward pass costs about the same up to tens of thousands of tokens, so the
budget is large and work is batched across samples. Every size that decides how requests are cut
into forward passes lives here, so a test can force the GPU budget on CPU and check the results do
not change.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DeviceBudget:
    batch_tokens: int  # tokens per forward batch (rows × padded width)
    logit_rows: int  # rows of logits kept per forward (each row is vocab-size floats)
    segment_tokens: int  # longest single-sequence forward; longer inputs run in KV-cache segments
    max_batch: int  # rows per log-likelihood forward
    kv_tokens: int  # context tokens whose KV cache may be held at once when copied for a context's choices
    # Rows x cache columns a continuous decoding batch may hold (its KV cache's size): on CPU this, not speed, is
    # what limits rows of long prompts (each 4k-token row of SmolLM2-135M holds ~190 MB of keys and values).
    decode_kv_tokens: int
    # Prompt tokens (rows x padded width) prefilled at once when rows join a decoding batch: on CPU the attention
    # of a prefill holds rows x heads x width^2 scores (and their softmax), ~320 MB at 4 x 1k tokens.
    prefill_batch_tokens: int
    shared_context_tokens: int  # a context shared by several items runs once (KV copied) from this length up
    generate_batch: int  # default rows per batched greedy decode (the batch_size option)
    # A length-sorted batch is cut when the next input is shorter than this fraction of the batch's widest
    # (0: cut only on size), so a few long inputs do not pad a big batch of short ones.
    min_fill: float
    # Batches padded on the right with no attention mask, so the causal (flash) kernel runs; on the left with a
    # mask otherwise (the CPU's way, which the lm-eval parity figures were measured with).
    right_padding: bool
    # Forward passes whose per-row numbers do not depend on the rest of the batch (hf_row_invariant.py): a row's
    # log-likelihoods and greedy tokens are then bit-identical at any batch size, --limit, order or Ray shard.
    batch_invariant: bool = False


# On CPU forward passes are row-invariant, so short multiple-choice contexts can run in the batched two-pass path
# (shared_context_tokens=64) and a Ray shard or a --limit run still stores bit-identical numbers.
CPU_BUDGET = DeviceBudget(batch_tokens=4096, logit_rows=1024, segment_tokens=1024, max_batch=128, kv_tokens=32768,
                          decode_kv_tokens=4096, prefill_batch_tokens=1024,
                          shared_context_tokens=64, generate_batch=16, min_fill=0.0,
                          right_padding=False, batch_invariant=True)
# One forward of ~128k tokens keeps an H100/H200 busy for a 135M-1B model; many small forwards would not.
CUDA_BUDGET = DeviceBudget(batch_tokens=131072, logit_rows=8192, segment_tokens=32768, max_batch=4096,
                           kv_tokens=1 << 20, decode_kv_tokens=1 << 22, prefill_batch_tokens=131072,
                           shared_context_tokens=512, generate_batch=64,
                           min_fill=0.5, right_padding=True)


def budget_for(device: str) -> DeviceBudget:
    return CUDA_BUDGET if device.startswith("cuda") else CPU_BUDGET


def default_dtype(device: str) -> str:
    """bfloat16 on a GPU (its matrix units' native type), float32 elsewhere (CPU bf16 is slow and less exact)."""
    return "bfloat16" if device.startswith("cuda") else "float32"
