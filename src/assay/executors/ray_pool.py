"""`--executor ray`: a Model that answers each batch of requests on N Ray actors, each holding the model once.

The driver keeps everything else — dedupe, the request cache, the store, resume — so a Ray run stores what a
local run stores, under the same configuration key. Each batch the runner sends is cut into contiguous shards
(executors/shards.py), one per actor, and the answers are put back in the input order.

Failure semantics: an actor whose process dies (killed, out of memory, node lost) is replaced by a fresh one,
which loads the model again, and its shard is sent again; a shard that kills SHARD_RETRIES replacements in a
row stops the run as an unreachable backend does (the stored samples are kept; rerunning resumes). An error
raised by the backend inside an actor is raised here as itself, so the runner treats it as a local one.

Ray is imported only here, when `--executor ray` is given. Backend secrets (API keys) are never sent through
Ray: actors read the same environment variables the driver would.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from assay.errors import AssayError
from assay.executors.shards import shard_positions
from assay.models.base import BackendUnavailable, Tokenizer
from assay.types import (
    GenerateRequest,
    LoglikelihoodRequest,
    LoglikelihoodRollingRequest,
    Request,
    Response,
)

# Replacements one shard may use up before the run stops.
SHARD_RETRIES = 3
INSTALL_HINT = "pip install 'assay[ray]'"
# Backends that can compute on a GPU: they get one per actor where the cluster has GPUs (llamacpp here runs on CPUs).
_GPU_BACKENDS = ("embedded", "hf", "vllm")


def import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise AssayError(f"--executor ray: the package 'ray' is not installed ({INSTALL_HINT})") from None
    return ray


@dataclass(frozen=True)
class WorkerInfo:
    """What an actor reports once its model is loaded."""

    spec: str
    fingerprint: dict[str, Any]
    max_context: int | None
    tokenizer: Tokenizer | None
    pid: int
    host: str


class ModelWorker:
    """The actor: loads the model once, then answers shards of one request kind at a time."""

    def __init__(self, spec: str, options: dict[str, Any]) -> None:
        self.spec = spec
        self.options = options
        self.model: Any = None

    def load(self) -> WorkerInfo:
        from assay.models import load_model

        self.model = load_model(self.spec, **self.options)
        return WorkerInfo(self.model.spec, self.model.fingerprint(), self.model.max_context, self.model.tokenizer(),
                          os.getpid(), socket.gethostname())

    def answer(self, kind: str, requests: list[Request]) -> list[Response]:
        return list(getattr(self.model, kind)(requests))


def actor_resources(spec: str, options: dict[str, Any], workers: int, cluster: dict[str, float],
                    where: str) -> tuple[dict[str, Any], str | None]:
    """Each actor's Ray resources — one GPU where the cluster has GPUs and the backend can use one, else one CPU
    — and a note for the user, or a one-line AssayError when the cluster cannot hold `workers` actors."""
    device = str(options.get("device", ""))
    gpus = int(cluster.get("GPU", 0))
    if device.startswith("cuda:") and device != "cuda:0":
        raise AssayError(f"--model-args device={device}: with --executor ray each worker sees only its own GPU; "
                         "use device=cuda")
    backend = spec.partition(":")[0]
    if backend in _GPU_BACKENDS and (gpus > 0 or device.startswith("cuda")):
        if gpus < workers:
            raise AssayError(f"--workers {workers}: each worker needs a GPU and {where} has {gpus}")
        note = None if device.startswith("cuda") or backend == "vllm" else (
            f"ray: each worker holds one of the cluster's GPUs, but the model runs on {device or 'the CPU'}; "
            "pass --model-args device=cuda to use them")
        return {"num_gpus": 1}, note
    cpus = int(cluster.get("CPU", 0))
    if cpus < workers:
        raise AssayError(f"--workers {workers}: each worker needs a CPU and {where} has {cpus}")
    return {"num_cpus": 1}, None


class RayModelPool:
    """A Model (models/base.py) backed by `workers` Ray actors. Connects to the cluster at `address` (None: the
    one RAY_ADDRESS names or the latest one started on this machine, else a new local one) unless Ray is
    already initialised in this process; it disconnects on close() only if it connected."""

    def __init__(self, spec: str, options: dict[str, Any], workers: int, address: str | None = None,
                 notify: Callable[[str], None] | None = None) -> None:
        if workers < 1:
            raise AssayError(f"--workers {workers}: expected a whole number ≥ 1")
        restore = process_state_restorer()  # taken before Ray's import, which sets some of it too
        self._ray = import_ray()
        self._notify = notify or (lambda _line: None)
        self._owns_ray = not self._ray.is_initialized()
        self._restore_process: Callable[[], None] = lambda: None
        if self._owns_ray:
            self._restore_process = restore
            try:
                _connect(self._ray, address)
            except BaseException:
                self._restore_process()
                raise
        self._spec_given = spec
        self._options = dict(options)
        self.replacements = 0
        try:
            where = f"the Ray cluster at {address}" if address else "the Ray cluster"
            resources, note = actor_resources(spec, self._options, workers, self._ray.cluster_resources(), where)
            if note:
                self._notify(note)
            self._actor_class = self._ray.remote(ModelWorker).options(**resources, max_restarts=0)
            self._actors: list[Any] = [self._actor_class.remote(spec, self._options) for _ in range(workers)]
            infos = self._gather_loads([actor.load.remote() for actor in self._actors])
        except BaseException:
            self.close()
            raise
        self.infos: list[WorkerInfo] = infos
        first = infos[0]
        if any(info.fingerprint != first.fingerprint for info in infos):
            hosts = sorted({info.host for info in infos})
            self.close()
            raise AssayError(f"--model {spec}: the Ray workers loaded different models (fingerprints differ across "
                             f"hosts {', '.join(hosts)}); every node must hold the same files")
        self.spec = first.spec
        self.max_context: int | None = first.max_context
        self._fingerprint = first.fingerprint
        self._tokenizer = first.tokenizer

    # -- set-up -------------------------------------------------------------------------------------
    def _gather_loads(self, refs: list[Any]) -> list[WorkerInfo]:
        try:
            return list(self._ray.get(refs))
        except self._ray.exceptions.RayTaskError as exc:
            raise _cause(exc) from None
        except self._ray.exceptions.RayActorError as exc:
            raise AssayError(f"--model {self._spec_given}: a Ray worker died while loading the model: "
                             f"{_first_line(exc)}") from None

    def _replace(self, slot: int) -> None:
        """A fresh actor in `slot` with the model loaded (the dead one is killed for good)."""
        old = self._actors[slot]
        with contextlib.suppress(Exception):  # already gone
            self._ray.kill(old, no_restart=True)
        actor = self._actor_class.remote(self._spec_given, self._options)
        self._actors[slot] = actor
        info = self._ray.get(actor.load.remote())
        if info.fingerprint != self._fingerprint:
            raise BackendUnavailable(f"the Ray worker started on {info.host} to replace worker {slot + 1} loaded a "
                                     "different model (its fingerprint differs); every node must hold the same files")
        self.infos[slot] = info
        self.replacements += 1

    # -- the Model protocol ---------------------------------------------------------------------------
    def fingerprint(self) -> dict[str, Any]:
        return dict(self._fingerprint)

    def tokenizer(self) -> Tokenizer | None:
        return self._tokenizer

    def generate(self, requests: Sequence[GenerateRequest]) -> list[Response]:
        return self._answer("generate", requests)

    def loglikelihood(self, requests: Sequence[LoglikelihoodRequest]) -> list[Response]:
        return self._answer("loglikelihood", requests)

    def loglikelihood_rolling(self, requests: Sequence[LoglikelihoodRollingRequest]) -> list[Response]:
        return self._answer("loglikelihood_rolling", requests)

    def worker_pids(self) -> list[int]:
        """The process id of each live actor (on its host)."""
        return [info.pid for info in self.infos]

    def close(self) -> None:
        for actor in getattr(self, "_actors", []):
            with contextlib.suppress(Exception):  # already gone
                self._ray.kill(actor, no_restart=True)
        self._actors = []
        if self._owns_ray and self._ray.is_initialized():
            self._ray.shutdown()
            self._restore_process()

    # -- dispatch -------------------------------------------------------------------------------------
    def _answer(self, kind: str, requests: Sequence[Request]) -> list[Response]:
        ray = self._ray
        retryable = (ray.exceptions.RayActorError, ray.exceptions.ObjectLostError)
        shards = shard_positions(requests, len(self._actors))
        attempts = [0] * len(shards)
        pending: dict[Any, int] = {}  # object ref -> shard index; shard i runs on actor slot i

        def submit(index: int) -> None:
            pending[self._actors[index].answer.remote(kind, [requests[p] for p in shards[index]])] = index

        for index in range(len(shards)):
            submit(index)
        responses: list[Response | None] = [None] * len(requests)
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1)
            index = pending.pop(ready[0])
            try:
                answered = ray.get(ready[0])
            except ray.exceptions.RayTaskError as exc:
                raise _cause(exc) from None
            except retryable as exc:
                attempts[index] += 1
                if attempts[index] > SHARD_RETRIES:
                    raise BackendUnavailable(f"a Ray worker died on the same {len(shards[index])} {kind} requests "
                                             f"{attempts[index]} times ({_first_line(exc)})") from None
                self._notify(f"ray: worker {index + 1} died ({type(exc).__name__}); replacing it and sending its "
                             f"{len(shards[index])} {kind} requests again (retry {attempts[index]} of {SHARD_RETRIES})")
                self._replace_or_stop(index)
                submit(index)
                continue
            if len(answered) != len(shards[index]):
                raise RuntimeError(f"Ray worker {index + 1} returned {len(answered)} responses for "
                                   f"{len(shards[index])} {kind} requests")
            for position, response in zip(shards[index], answered, strict=True):
                responses[position] = response
        return [r for r in responses if r is not None]

    def _replace_or_stop(self, slot: int) -> None:
        ray = self._ray
        for _ in range(SHARD_RETRIES):
            try:
                self._replace(slot)
                return
            except ray.exceptions.RayActorError:
                continue
            except ray.exceptions.RayTaskError as exc:
                raise _cause(exc) from None
        raise BackendUnavailable(f"no Ray worker could be started to replace worker {slot + 1} "
                                 f"({SHARD_RETRIES} tries)")


def process_state_restorer() -> Callable[[], None]:
    """A function that undoes what ray.init leaves in this process after ray.shutdown: its SIGTERM handler, its
    sys.excepthook and the environment variables it sets (RAY_*, PYTHONBREAKPOINT)."""
    sigterm = signal.getsignal(signal.SIGTERM)
    excepthook = sys.excepthook
    environ = dict(os.environ)

    def restore() -> None:
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, sigterm)
        sys.excepthook = excepthook
        for key in [k for k in os.environ if k not in environ]:
            del os.environ[key]
        os.environ.update(environ)

    return restore


def check_reachable(address: str, timeout_s: float = 10.0) -> None:
    """A one-line AssayError when nothing accepts a connection at a host:port address (ray.init would retry for
    minutes). `auto`, `local` and addresses without a port are left to Ray."""
    host, sep, port = address.removeprefix("ray://").rpartition(":")
    if not sep or not port.isdigit() or not host:
        return
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout_s):
            pass
    except OSError as exc:
        raise AssayError(f"--ray-address {address}: nothing answers there ({exc.strerror or exc}); start the "
                         "cluster with `ray start --head` or fix the address") from None


def _connect(ray: Any, address: str | None) -> None:
    if address:
        check_reachable(address)
    # Ray's usage statistics stay off unless the user turned them on.
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    try:
        ray.init(address=address, log_to_driver=False, logging_level="WARNING")
    except (ConnectionError, RuntimeError, ValueError) as exc:
        target = f"--ray-address {address}" if address else "--executor ray"
        raise AssayError(f"{target}: cannot connect to or start a Ray cluster: {_first_line(exc)}") from None


def _cause(exc: Any) -> BaseException:
    """The backend's own exception behind a RayTaskError (AssayError, UnsupportedRequest, ...)."""
    cause = getattr(exc, "cause", None)
    return cause if isinstance(cause, BaseException) else exc


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
