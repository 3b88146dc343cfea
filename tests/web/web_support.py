"""Support of the web tests: stores on SQLite and on a real PostgreSQL server, filled through the real
Runner with a scripted model and a tiny task registered here.

Postgres: the URL comes from ASSAY_TEST_POSTGRES_URL (`eval "$(.ci/postgres.sh)"` sets it up). Without
it the postgres cases skip; under CI (CI=true) a missing URL fails them. Every use gets its own
schema (search_path), dropped afterwards, so tests never see each other's rows.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from assay.metric_specs import MetricSpec, aggregate, score
from assay.models.scripted import ScriptedModel
from assay.runner import Runner, RunOptions
from assay.store import Store
from assay.tasks import TaskContext, register_task
from assay.tasks.base import TaskBase
from assay.tasks.longctx.heatmap import build_heatmap
from assay.types import GenerateRequest, Response, Sample, Scored

POSTGRES_ENV = "ASSAY_TEST_POSTGRES_URL"
BACKENDS = ("sqlite", "postgres")
XSS = "<script>alert(1)</script>"


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _postgres_base_url() -> str:
    url = os.environ.get(POSTGRES_ENV)
    if not url:
        if _in_ci():
            pytest.fail(f"{POSTGRES_ENV} is not set in CI: the Postgres store/web tests must run there "
                        "(eval \"$(.ci/postgres.sh)\")")
        pytest.skip(f"{POSTGRES_ENV} not set: Postgres cases skipped (eval \"$(.ci/postgres.sh)\" to run them)")
    return url


@contextlib.contextmanager
def database_url(backend: str, folder: Path) -> Iterator[str]:
    """A fresh, empty database: a SQLite file, or a Postgres schema of its own."""
    if backend == "sqlite":
        yield f"sqlite:///{folder / f'assay-{uuid.uuid4().hex[:8]}.db'}"
        return
    base = _postgres_base_url()
    schema = f"assay_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base.replace("postgresql://", "postgresql+psycopg://", 1))
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in base else "?"
    try:
        yield f"{base}{separator}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


# ---- a tiny task, registered so the aggregator finds its task-specific rows ----------------------

LENGTHS = (128, 256, 512, 1024)
DEPTHS = (0.0, 0.5, 1.0)


class TinyTask(TaskBase):
    """Each prompt ends with its answer word, so an echoing model scores where the target matches."""

    def __init__(self, name: str, family: str, n: int) -> None:
        self.name = name
        self.family = family
        self.n = n

    def spec(self) -> dict[str, Any]:
        return {"name": self.name, "n": self.n, "version": 1}

    def samples(self, ctx: TaskContext) -> Iterator[Sample]:
        for i in range(self.n):
            length, depth = LENGTHS[i % len(LENGTHS)], DEPTHS[(i // len(LENGTHS)) % len(DEPTHS)]
            answer = f"word{i}"
            prompt = f"Question {i} of {self.name}: say {answer}"
            if i == 3:
                prompt, answer = XSS, XSS
            if i == 5:
                prompt = "UNPARSABLE output on purpose"
            # Every third sample expects a different word: echo gets about 2/3 right.
            target = answer if i % 3 else "other"
            if i == 3:
                target = XSS
            # The long-context grid keys the heatmap producer reads (assay.tasks.longctx.heatmap).
            yield Sample(id=f"{self.name}-{i}", input=prompt, target=target,
                         metadata={"length": length, "depth": depth, "confidence": 0.1 + 0.8 * (i % 5) / 4,
                                   "in_heatmap": True, "target_length": length, "depth_percent": 100.0 * depth})

    def requests(self, sample: Sample) -> Sequence[GenerateRequest]:
        return [GenerateRequest(prompt=sample.input, max_tokens=16)]

    def metrics(self) -> list[MetricSpec]:
        return [score("exact_match", primary=True), aggregate("heatmap", None), aggregate("length_curve", None),
                aggregate("ece", False)]

    def score(self, sample: Sample, responses: Sequence[Response]) -> Scored:
        text_out = (responses[0].text or "").strip()
        if "UNPARSABLE" in text_out:
            return Scored(extracted=None, scores={"exact_match": 0.0}, error="unparsable: no answer word")
        extracted = text_out.split()[-1] if text_out else ""
        return Scored(extracted=extracted, scores={"exact_match": float(extracted == sample.target)})

    def aggregate(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        by_cell: dict[tuple[float, int], list[float]] = {}
        for row in rows:
            meta = row["metadata"]
            by_cell.setdefault((meta["depth"], meta["length"]), []).append(row["scores"].get("exact_match", 0.0))
        means = []
        for n in LENGTHS:
            values = [s for (d, length), cell in by_cell.items() if length == n for s in cell]
            means.append(sum(values) / len(values) if values else None)
        bins = [{"low": k / 5, "high": (k + 1) / 5, "count": 2, "confidence": k / 5 + 0.1, "accuracy": min(1.0, k / 4)}
                for k in range(5)]
        return [
            # The heatmap comes from its real producer, never typed here in a consumer's idea of its shape.
            {"name": "heatmap", "value": None, "extra": _heatmap_extra(rows)},
            {"name": "length_curve", "value": None,
             "extra": {"lengths": list(LENGTHS), "mean": means, "ci_low": [None if m is None else max(0, m - 0.2) for m in means],
                       "ci_high": [None if m is None else min(1, m + 0.2) for m in means]}},
            {"name": "ece", "value": 0.12, "extra": {"bins": bins}},
        ]


def _heatmap_extra(rows: list[dict[str, Any]]) -> dict[str, Any]:
    heatmap = build_heatmap(rows, metric="exact_match")
    assert heatmap is not None
    return heatmap.to_extra()


TASK_A, TASK_B = "webtest_alpha", "webtest_beta"
register_task(TASK_A, family="webtest_a", description="web test task (alpha)")(lambda _v: TinyTask(TASK_A, "webtest_a", 24))
register_task(TASK_B, family="webtest_b", description="web test task (beta)")(lambda _v: TinyTask(TASK_B, "webtest_b", 12))


@dataclass
class Populated:
    url: str
    store: Store
    echo_run: str
    constant_run: str


def populate(url: str) -> Populated:
    """Two models × two tasks through the real Runner."""
    store = Store(url)
    runs = {}
    for spec_name, argument in (("echo", None), ("constant", "nothing here")):
        model = ScriptedModel(spec_name, argument)
        result = Runner(model, store).run([TinyTask(TASK_A, "webtest_a", 24), TinyTask(TASK_B, "webtest_b", 12)],
                                          RunOptions(seed=7, show_progress=False))
        runs[spec_name] = result.run_id
    return Populated(url, store, runs["echo"], runs["constant"])
