"""Judgments in the store: written per source (re-importing a file or re-judging replaces that source's
rows in one transaction, nothing else), read back as typed `Judgment`s."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence

from sqlalchemy import delete, insert, select

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
