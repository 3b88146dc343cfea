"""Runs tasks against a model: dedupe, cache, batch, stream to the store, resume after a crash.

A run works in chunks of samples. For each chunk: skip samples already stored (resume), build
requests, dedupe them, answer what the request cache knows, send the rest to the backend (one
call per request kind, the backend sorts and batches), score, then write the samples and the new
cache entries in one transaction. A kill -9 loses at most the chunk in flight; rerunning the same
command finds the unfinished run by its config key and does only what is missing.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from assay.aggregate import compute_run_metrics
from assay.errors import AssayError
from assay.manifest import build_manifest, config_key, task_specs_with_data
from assay.models.base import BackendUnavailable, Model, UnsupportedRequest
from assay.progress import RunProgress
from assay.store import Store
from assay.tasks.base import Task, TaskContext, prompt_of
from assay.types import (
    Request,
    Response,
    Sample,
    Scored,
    canonical_json,
    request_hash,
    sha256_hex,
)


@dataclass
class RunOptions:
    seed: int = 1234
    limit: int | None = None
    # Samples per store transaction; None: 256, or 8 x the backend's concurrency for API backends, so
    # a chunk is several waves of requests rather than one wave and a barrier.
    chunk_size: int | None = None
    show_progress: bool = True
    context: TaskContext = field(default_factory=TaskContext)
    # Recorded in the manifest (decoding settings, concurrency, data dir, ...).
    recorded: dict[str, Any] = field(default_factory=dict)
    # Backend options that can change results (device, batch size, ...): part of the run's identity.
    model_args: dict[str, Any] = field(default_factory=dict)
    # An identical complete run (same configuration key) is returned instead of storing a duplicate.
    reuse_complete: bool = False
    # One-line announcements at the start of a run (resuming, reusing); the CLI prints them.
    notify: Callable[[str], None] | None = None


@dataclass
class RunResult:
    run_id: str
    resumed: bool
    metrics: list[dict[str, Any]]
    stats: dict[str, int]
    # True when an identical complete run was found and returned without running anything.
    reused: bool = False


class RunInterrupted(AssayError):
    """Ctrl-C / SIGTERM: the run is stored as `interrupted`; rerunning the same command resumes it."""

    exit_code = 130

    def __init__(self, run_id: str, stored: int, total: int | None) -> None:
        of_total = f" of {total}" if total is not None else ""
        super().__init__(f"run {run_id} interrupted: {stored}{of_total} samples stored")
        self.run_id = run_id
        self.stored = stored
        self.total = total


class RunAborted(AssayError):
    """The backend became unreachable; the run is kept (resumable) and the user told why."""

    exit_code = 1


def _chunks(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    iterator = iter(items)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


def _first_base_samples(samples: Iterable[Sample], limit: int) -> Iterator[Sample]:
    """`--limit N` counts distinct items: the expansions of one item (repeats, prompt formats, which
    carry metadata["base_id"]) come with it and don't use up the limit."""
    base_ids: set[str] = set()
    for sample in samples:
        base_id = sample.metadata.get("base_id", sample.id)
        if base_id not in base_ids:
            if len(base_ids) == limit:
                return
            base_ids.add(base_id)
        yield sample


def _expected_samples(tasks: Sequence[Task], options: RunOptions, count: bool) -> int | None:
    """Samples the run holds when complete. Under --limit (which counts distinct items, not their
    repeats or prompt formats) that needs the samples built: done only if `count`, else None."""
    total = 0
    for task in tasks:
        known = task.size(options.context)
        if known is None or (options.limit is not None and known > options.limit):
            if not count:
                return None
            samples = task.samples(options.context)
            if options.limit is not None:
                samples = _first_base_samples(samples, options.limit)
            known = sum(1 for _ in samples)
        total += known
    return total


DEFAULT_CHUNK = 256
WAVES_PER_CHUNK = 8


def chunk_size_for(model: Model, requested: int | None) -> int:
    """The chunk size asked for, else one that keeps a concurrent backend's slots busy (see RunOptions)."""
    if requested is not None:
        return requested
    concurrency = getattr(model, "concurrency", 1)
    return max(DEFAULT_CHUNK, WAVES_PER_CHUNK * concurrency if isinstance(concurrency, int) else 0)


def _dispatch(model: Model, requests: Sequence[Request]) -> list[Response]:
    """One backend call per request kind, results put back in the input order."""
    responses: list[Response | None] = [None] * len(requests)
    by_kind: dict[str, list[int]] = {}
    for position, request in enumerate(requests):
        by_kind.setdefault(request.kind, []).append(position)
    for kind, positions in by_kind.items():
        method = getattr(model, kind)
        batch_out = method([requests[p] for p in positions])
        if len(batch_out) != len(positions):
            raise RuntimeError(f"backend returned {len(batch_out)} responses for {len(positions)} {kind} requests")
        for position, response in zip(positions, batch_out, strict=True):
            responses[position] = response
    return [r for r in responses if r is not None]


class _ChunkWriter:
    """Writes chunks to the store. For a concurrent backend (an API) a chunk is written on a thread while
    the next chunk's requests are in flight (at most one write pending, its cache entries readable here
    until it commits); for a local model each write finishes before the next chunk starts."""

    def __init__(self, store: Store, overlap: bool) -> None:
        self.store = store
        self.overlap = overlap
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="assay-store") if overlap else None
        self._pending: Future[None] | None = None
        self.unwritten_cache: dict[str, dict[str, Any]] = {}

    def write(self, run_id: str, rows: list[dict[str, Any]], new_cache: dict[str, dict[str, Any]]) -> None:
        self.flush()
        if self._pool is None:
            self.store.write_chunk(run_id, rows, new_cache)
            return
        self.unwritten_cache = new_cache
        self._pending = self._pool.submit(self.store.write_chunk, run_id, rows, new_cache)

    def flush(self) -> None:
        """Wait for the pending write; its error (if any) is raised here."""
        pending, self._pending = self._pending, None
        if pending is not None:
            try:
                pending.result()
            finally:
                self.unwritten_cache = {}

    def close(self) -> None:
        try:
            self.flush()
        finally:
            if self._pool is not None:
                self._pool.shutdown(wait=True)


class Runner:
    def __init__(self, model: Model, store: Store) -> None:
        self.model = model
        self.store = store
        self._writer = _ChunkWriter(store, overlap=False)
        self.fingerprint = model.fingerprint()
        self.fingerprint_hash = sha256_hex(canonical_json(self.fingerprint))
        self.stats = {"samples": 0, "skipped_existing": 0, "requests": 0, "unique_requests": 0,
                      "cache_hits": 0, "model_requests": 0, "request_errors": 0, "unparsable": 0}

    def cache_key(self, request: Request) -> str:
        return sha256_hex(self.fingerprint_hash + request_hash(request))

    def run(self, tasks: Sequence[Task], options: RunOptions) -> RunResult:
        ctx = options.context
        ctx.seed = options.seed
        if ctx.tokenizer is None:
            ctx.tokenizer = self.model.tokenizer()
        if ctx.max_context is None:
            ctx.max_context = self.model.max_context
        # Each spec carries the sha256 of the data the task reads (read now: bad data fails before a run is stored).
        task_specs = task_specs_with_data(tasks, ctx)
        if len(task_specs) != len(tasks):
            raise AssayError("--task: the same task is named twice")
        identity: dict[str, Any] = {"ctx": ctx.options}
        if options.model_args:  # only when given, so runs without --model-args keep their keys
            identity["model_args"] = options.model_args
        key = config_key(self.fingerprint, list(task_specs.values()), options.seed, options.limit, identity)
        notify = options.notify or (lambda _line: None)
        if options.reuse_complete and (done_id := self.store.find_complete_run(key)) is not None:
            notify(f"identical to run {done_id} (complete): showing its stored results; --rerun stores a new run")
            return RunResult(done_id, False, self.store.get_metrics(done_id), dict(self.stats), reused=True)
        run_id = self.store.find_unfinished_run(key)
        resumed = run_id is not None
        if run_id is not None:
            total = _expected_samples(tasks, options, count=True)
            of_total = f" of {total}" if total is not None else ""
            notify(f"resuming run {run_id}: {self.store.count_samples(run_id)}{of_total} samples stored")
            self.store.set_run_status(run_id, "running")
        if run_id is None:
            run_id = uuid.uuid4().hex[:12]
            manifest = build_manifest(self.model.spec, self.fingerprint, task_specs, options.seed,
                                      options.limit, options.recorded)
            self.store.create_run(run_id, key, self.model.spec, list(task_specs), options.seed, manifest)
        concurrency = getattr(self.model, "concurrency", 1)
        self._writer = _ChunkWriter(self.store, overlap=isinstance(concurrency, int) and concurrency > 1)
        try:
            try:
                with RunProgress(enabled=options.show_progress) as progress:
                    for task in tasks:
                        self._run_task(run_id, task, options, progress)
            finally:
                self._writer.close()  # every chunk sent is stored (or its error raised) before anything below
        except AssayError as exc:
            # Bad input found before anything was stored (a missing data file, say): leave no empty run behind.
            # An unreachable backend keeps its run, so that rerunning the same command resumes it.
            if not isinstance(exc, RunAborted) and not resumed and self.store.count_samples(run_id) == 0:
                self.store.delete_run(run_id)
            raise
        except KeyboardInterrupt:  # Ctrl-C, or SIGTERM turned into one by the CLI
            self.store.set_run_status(run_id, "interrupted")
            raise RunInterrupted(run_id, self.store.count_samples(run_id), _expected_samples(tasks, options, False)) from None
        metrics = compute_run_metrics(self.store, run_id, tasks)
        self.store.set_run_status(run_id, "complete")
        return RunResult(run_id, resumed, metrics, dict(self.stats))

    def _run_task(self, run_id: str, task: Task, options: RunOptions, progress: RunProgress) -> None:
        done = self.store.stored_sample_ids(run_id, task.name)
        samples = task.samples(options.context)
        if options.limit is not None:
            samples = _first_base_samples(samples, options.limit)
        total = options.limit
        known = task.size(options.context)
        if known is not None:
            total = known if total is None else min(total, known)
        progress.start_task(task.name, total)
        seen: set[str] = set()
        for chunk in _chunks(enumerate(samples), chunk_size_for(self.model, options.chunk_size)):
            pending = []
            for idx, sample in chunk:
                if sample.id in seen:
                    raise AssayError(f"task {task.name}: two samples share the id {sample.id!r}")
                seen.add(sample.id)
                if sample.id in done:
                    self.stats["skipped_existing"] += 1
                else:
                    pending.append((idx, sample))
            if pending:
                self._run_chunk(run_id, task, pending, progress)
            progress.advance(len(chunk), self.stats)

    def _run_chunk(self, run_id: str, task: Task, pending: list[tuple[int, Sample]],
                   progress: RunProgress) -> None:
        per_sample: list[list[Request]] = []
        # Cache keys are computed once per request (hashing is the runner's main cost at high rates).
        per_sample_keys: list[list[str]] = []
        unique: dict[str, Request] = {}
        for _, sample in pending:
            requests = list(task.requests(sample))
            keys = [self.cache_key(request) for request in requests]
            per_sample.append(requests)
            per_sample_keys.append(keys)
            for key, request in zip(keys, requests, strict=True):
                unique.setdefault(key, request)
        self.stats["requests"] += sum(len(r) for r in per_sample)
        self.stats["unique_requests"] += len(unique)
        cached = self.store.cache_get_many(list(unique))
        for k in unique:  # answers of the chunk still being written
            if k not in cached and k in self._writer.unwritten_cache:
                cached[k] = self._writer.unwritten_cache[k]
        self.stats["cache_hits"] += len(cached)
        answers: dict[str, Response] = {k: Response.from_dict(v) for k, v in cached.items()}
        missing = [k for k in unique if k not in cached]
        new_cache: dict[str, dict[str, Any]] = {}
        if missing:
            try:
                with progress.backend_call(len(pending), len(missing)):
                    fresh = _dispatch(self.model, [unique[k] for k in missing])
            except UnsupportedRequest as exc:
                raise AssayError(f"--model {self.model.spec}: {exc}") from None
            except BackendUnavailable as exc:
                raise RunAborted(f"--model {self.model.spec}: {exc}; the run {run_id} is kept and "
                                 "resumes when you rerun the same command") from None
            self.stats["model_requests"] += len(missing)
            for k, response in zip(missing, fresh, strict=True):
                answers[k] = response
                # Failures are not cached: a rerun tries them again.
                if response.error is None:
                    new_cache[k] = response.to_dict()
        # One dict per unique response, shared by the cache row and every sample that asked for it.
        answer_dicts: dict[str, dict[str, Any]] = {}
        rows = []
        for (idx, sample), requests, keys in zip(pending, per_sample, per_sample_keys, strict=True):
            responses = [answers[k] for k in keys]
            response_dicts = []
            for k in keys:
                if k not in answer_dicts:
                    answer_dicts[k] = new_cache[k] if k in new_cache else answers[k].to_dict()
                response_dicts.append(answer_dicts[k])
            rows.append(self._sample_row(task, idx, sample, requests, keys, responses, response_dicts))
        self._writer.write(run_id, rows, new_cache)
        self.stats["samples"] += len(rows)

    def _sample_row(self, task: Task, idx: int, sample: Sample, requests: list[Request], keys: list[str],
                    responses: list[Response], response_dicts: list[dict[str, Any]]) -> dict[str, Any]:
        failed = [r.error for r in responses if r.error is not None]
        if failed:
            self.stats["request_errors"] += 1
            scored = Scored(extracted=None, scores={}, error=failed[0])
            error_kind: str | None = "request_failed"
        else:
            scored = task.score(sample, responses)
            error_kind = "unparsable" if scored.error is not None else None
            if error_kind:
                self.stats["unparsable"] += 1
        return {
            "task": task.name,
            "sample_id": sample.id,
            "idx": idx,
            "cluster": sample.cluster,
            "prompt": prompt_of(requests),
            "target": sample.target,
            "request_hashes": keys,
            "responses": response_dicts,
            "extracted": scored.extracted,
            "scores": scored.scores,
            "error": scored.error,
            "error_kind": error_kind,
            "metadata": {**sample.metadata, **scored.metadata,
                         **({"choices": list(sample.choices)} if sample.choices else {})},
        }
