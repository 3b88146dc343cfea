"""Judgments in the store: written per source (re-importing a file or re-judging replaces that source's
rows in one transaction, nothing else), read back as typed `Judgment`s."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence

from sqlalchemy import delete, insert, select

from assay.errors import AssayError
from assay.judges.types import Judgment
from assay.store import Store
from assay.store.schema import judgments


def replace_judgments(store: Store, source: str, rows: Sequence[Judgment]) -> int:
    """Store `rows` as the whole of `source` (all rows must carry that source)."""
    wrong = [j.source for j in rows if j.source != source]
    if wrong:
        raise ValueError(f"replace_judgments({source!r}): a row has source {wrong[0]!r}")
    now = dt.datetime.now(dt.UTC)
    with store.engine.begin() as conn:
        conn.execute(delete(judgments).where(judgments.c.source == source))
        if rows:
            conn.execute(insert(judgments), [{**j.to_row(), "created_at": now} for j in rows])
    return len(rows)


def add_judgments(store: Store, rows: Sequence[Judgment]) -> int:
    """Append rows (a vote from the labelling page, a judge's verdicts as they come)."""
    if rows:
        now = dt.datetime.now(dt.UTC)
        with store.engine.begin() as conn:
            conn.execute(insert(judgments), [{**j.to_row(), "created_at": now} for j in rows])
    return len(rows)


def iter_judgments(store: Store, *, source: str | None = None, rater: str | None = None, task: str | None = None,
                   kind: str | None = None) -> Iterator[Judgment]:
    query = select(judgments).order_by(judgments.c.pk)
    for column, value in (("source", source), ("rater", rater), ("task", task), ("kind", kind)):
        if value is not None:
            query = query.where(judgments.c[column] == value)
    with store.engine.connect() as conn:
        for row in conn.execute(query).mappings():
            yield Judgment.from_row(dict(row))


def sources(store: Store) -> list[str]:
    with store.engine.connect() as conn:
        return sorted(r[0] for r in conn.execute(select(judgments.c.source).distinct()))


def pairwise_judgments(store: Store, chosen: Sequence[str] | None = None, task: str | None = None) -> list[Judgment]:
    """The stored pairwise judgments of the `chosen` sources (all when None), of one task when given;
    AssayError when none are stored or a source or task is unknown."""
    known = sources(store)
    if not known:
        raise AssayError("no judgments stored: `assay battle`, `assay import judgments PATH --format F`, or votes "
                         "on the labelling page first")
    for name in chosen or []:
        if name not in known:
            raise AssayError(f"--source {name}: not stored; stored sources: {', '.join(known)}")
    rows = [j for name in (chosen or known) for j in iter_judgments(store, source=name, kind="pairwise")]
    if task is not None:
        tasks = sorted({j.task or "" for j in rows})
        rows = [j for j in rows if j.task == task]
        if not rows:
            raise AssayError(f"--task {task}: no pairwise judgments of that task; stored tasks: {', '.join(tasks)}")
    return rows
