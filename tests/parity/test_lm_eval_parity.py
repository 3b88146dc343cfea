"""A CI slice of bench/parity_lm_eval.py: assay and lm-eval answer the very same requests with the very same
in-memory embedded model; per-request log-likelihoods agree within 1e-4, greedy generations are identical and
every sample scores the same. Short prompts keep it quick: 20 `arith_mc` samples (80 log-likelihood requests)
and 10 BBH `boolean_expressions` samples (3-shot direct prompts, generated until the newline)."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import pytest

from assay.tasks import TaskContext, get_task

pytestmark = pytest.mark.slow

LOGPROB_TOLERANCE = 1e-4


@pytest.fixture(scope="module")
def model(lm_eval: ModuleType):
    from assay.models import load_model

    loaded = load_model("embedded")
    yield loaded
    loaded.close()


def test_multiple_choice_log_likelihoods_match_lm_eval(model) -> None:
    from assay.parity import run_parity

    result = run_parity(get_task("arith_mc"), model, 20)
    assert (result.n_samples, result.n_requests) == (20, 80)
    assert result.max_abs_logprob_diff is not None
    assert result.max_abs_logprob_diff <= LOGPROB_TOLERANCE, result.max_abs_logprob_diff
    assert result.correctness_mismatches == []
    assert result.details["greedy_mismatches"] == 0


def test_greedy_generations_match_lm_eval(model, shared_data_dir: Path) -> None:
    from assay.parity import run_parity

    result = run_parity(get_task("bbh_direct:boolean_expressions"), model, 10, TaskContext(data_dir=shared_data_dir))
    assert (result.n_samples, result.n_requests) == (10, 10)
    assert result.text_mismatches == []
    assert result.correctness_mismatches == []
    # Both answered something: identical empty outputs would agree trivially.
    assert result.details["non_empty_generations"] == 10
