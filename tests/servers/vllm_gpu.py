"""What the real-vLLM tests share: the skip (reason "GPU only: ...", which CI allows only for the tests listed
in .ci/gpu_only.txt) and the model folder both vLLM and the hf backend read."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest


def vllm_gpu_or_skip() -> None:
    if importlib.util.find_spec("vllm") is None:
        pytest.skip("GPU only: vLLM is not installed (pip install 'assay[vllm]' on a CUDA machine)")
    import torch

    if not torch.cuda.is_available():
        pytest.skip("GPU only: no CUDA device for vLLM")


def embedded_folder() -> Path:
    """The embedded SmolLM2 as a transformers folder (the hf backend's dequantised cache of the GGUF)."""
    from assay.models.embedded import gguf_path
    from assay.models.hf_files import file_sha256
    from assay.models.hf_loading import ensure_dequantised

    gguf = gguf_path()
    return ensure_dequantised(gguf, file_sha256(gguf))[0]
