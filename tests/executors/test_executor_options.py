"""`--executor/--workers/--ray-address` refused with one line where they cannot apply, and how a batch is cut
into shards (no Ray cluster needed here)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from tests.conftest import require_module

from assay.errors import AssayError
from assay.executors.choice import ExecutorChoice, check_executor
from assay.executors.ray_pool import actor_resources, check_reachable
from assay.executors.shards import shard_positions
from assay.types import GenerateRequest, LoglikelihoodRequest


def _mc(question: str, choices: int) -> list[LoglikelihoodRequest]:
    return [LoglikelihoodRequest(context=question, continuation=f" {c}") for c in range(choices)]


def test_shards_cover_every_request_once_in_order_and_about_evenly() -> None:
    requests = [GenerateRequest(prompt=f"q{i}") for i in range(11)]
    shards = shard_positions(requests, 3)
    assert [p for shard in shards for p in shard] == list(range(11))
    assert [len(s) for s in shards] == [4, 4, 3]
    assert shard_positions(requests[:1], 4) == [[0]]
    assert shard_positions([], 2) == []


def test_choices_of_one_context_stay_on_one_worker() -> None:
    # Three questions of 4 choices, the second question's choices split by a repeat of the first question.
    requests = [*_mc("a?", 4), *_mc("b?", 2), *_mc("a?", 6)[4:], *_mc("b?", 4)[2:], *_mc("c?", 4)]
    shards = shard_positions(requests, 2)
    homes = {context: {i for i, shard in enumerate(shards) for p in shard if requests[p].context == context}
             for context in ("a?", "b?", "c?")}
    assert homes == {"a?": {0}, "b?": {0}, "c?": {1}}  # 10 requests, then 4: no context cut
    assert sorted(p for shard in shards for p in shard) == list(range(len(requests)))
    with pytest.raises(ValueError):
        shard_positions(requests, 0)


@pytest.mark.parametrize(("executor", "workers", "address", "message"), [
    ("dask", None, None, "--executor dask: expected one of local, ray"),
    ("local", 2, None, "--workers 2: only --executor ray uses it"),
    ("local", None, "127.0.0.1:6379", "--ray-address 127.0.0.1:6379: only --executor ray uses it"),
    ("ray", 0, None, "--workers 0: expected a whole number ≥ 1"),
    ("ray", None, " ", "--ray-address: expected a Ray address"),
])
def test_options_an_executor_cannot_use_are_refused(executor: str, workers: int | None, address: str | None,
                                                    message: str) -> None:
    with pytest.raises(AssayError) as refused:
        check_executor(executor, workers, address)
    assert str(refused.value).startswith(message)


def test_ray_defaults_and_what_the_manifest_records() -> None:
    require_module("ray", "ray is not installed (pip install -e '.[ray]')")
    assert check_executor("local", None, None) == ExecutorChoice()
    assert ExecutorChoice().recorded() == {}
    choice = check_executor("ray", None, "auto")
    assert choice == ExecutorChoice("ray", 2, "auto")
    assert choice.recorded() == {"executor": "ray", "workers": 2}


def test_a_gpu_per_actor_where_the_cluster_has_gpus() -> None:
    cpus_only, with_gpus = {"CPU": 4.0}, {"CPU": 16.0, "GPU": 2.0}
    assert actor_resources("embedded", {}, 2, cpus_only, "the Ray cluster") == ({"num_cpus": 1}, None)
    assert actor_resources("hf:/m", {"device": "cuda"}, 2, with_gpus, "the Ray cluster") == ({"num_gpus": 1}, None)
    resources, note = actor_resources("embedded", {}, 2, with_gpus, "the Ray cluster")
    assert resources == {"num_gpus": 1} and note is not None and "device=cuda" in note
    # API and scripted backends compute nothing on the worker: a CPU each, GPUs or not.
    assert actor_resources("scripted:echo", {}, 2, with_gpus, "the Ray cluster") == ({"num_cpus": 1}, None)
    with pytest.raises(AssayError, match=r"^--workers 3: each worker needs a GPU and the Ray cluster at h:1 has 2$"):
        actor_resources("embedded", {"device": "cuda"}, 3, with_gpus, "the Ray cluster at h:1")
    with pytest.raises(AssayError, match=r"^--workers 1: each worker needs a GPU and the Ray cluster has 0$"):
        actor_resources("hf:/m", {"device": "cuda"}, 1, cpus_only, "the Ray cluster")
    with pytest.raises(AssayError, match=r"^--model-args device=cuda:1: with --executor ray each worker sees only"):
        actor_resources("hf:/m", {"device": "cuda:1"}, 1, with_gpus, "the Ray cluster")
    with pytest.raises(AssayError, match=r"^--workers 5: each worker needs a CPU and the Ray cluster has 4$"):
        actor_resources("scripted:echo", {}, 5, cpus_only, "the Ray cluster")


def test_a_ray_address_where_nothing_listens_is_one_line_not_minutes_of_retries() -> None:
    with socket.socket() as listening:
        listening.bind(("127.0.0.1", 0))
        listening.listen()
        port = listening.getsockname()[1]
        check_reachable(f"127.0.0.1:{port}")
        check_reachable(f"ray://127.0.0.1:{port}")
    with pytest.raises(AssayError, match=rf"^--ray-address 127.0.0.1:{port}: nothing answers there"):
        check_reachable(f"127.0.0.1:{port}")
    check_reachable("auto")  # left to Ray
    check_reachable("local")


# The real command: a refused option is one line, exit 2, and nothing is created.
_WITHOUT_RAY = "import sys; sys.modules['ray'] = None; from assay.cli import main; main(sys.argv[1:])"


@pytest.mark.parametrize(("prelude", "args", "message"), [
    (["-m", "assay.cli"], ["--workers", "2"], "error: --workers 2: only --executor ray uses it"),
    (["-c", _WITHOUT_RAY], ["--executor", "ray"],
     "error: --executor ray: the package 'ray' is not installed (pip install 'assay[ray]')"),
])
def test_cli_refuses_with_one_line(tmp_path: Path, prelude: list[str], args: list[str], message: str) -> None:
    done = subprocess.run([sys.executable, *prelude, "run", "--model", "scripted:echo", "--task", "arith",
                           "--db", str(tmp_path / "a.db"), *args], capture_output=True, text=True, timeout=120,
                          cwd=tmp_path, env={**os.environ, "OMP_NUM_THREADS": "1"})
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert done.returncode == 2 and len(lines) == 1 and lines[0].startswith(message), done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""
    assert list(tmp_path.iterdir()) == []
