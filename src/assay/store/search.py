"""Word search over stored samples: a full-text index kept by the database itself, and one reader of
the user's query that both databases share.

What is searched: the rendered prompt, the extracted answer and the first response's text (what the
sample browser always searched), the first 100,000 characters of each.

How text becomes words, the same on both databases: any ASCII character that is not a letter or digit
separates words (so `foo-bar`, `foo_bar` and `foo.bar` are each two words, `3.14` is `3` and `14`);
letters are compared case-insensitively. Non-ASCII letters are split and case-folded by each
database's own Unicode rules (SQLite FTS5 `unicode61`, PostgreSQL's parser under the database's
ctype), which agree on ordinary words; no stemming, no stop words.

- PostgreSQL: a stored generated `tsvector` column `samples.search_doc` ('simple' configuration,
  after the separator rule above) with a GIN index.
- SQLite: an FTS5 table `samples_fts` whose content is the view `samples_search_doc`, kept in sync
  by triggers (insert, delete, update), so every writer (the Runner, uploads, deletions) keeps it.

Query language: words (all must occur, in any order) and "quoted phrases" (the words next to each
other, in order). Nothing else is an operator: `-`, `OR`, `*` are ordinary separators or words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, column, func, inspect, literal_column, select, table, text
from sqlalchemy.sql import FromClause
from sqlalchemy.sql.elements import ColumnElement

from assay.store.schema import samples

INDEXED_CHARS = 100_000
# ASCII characters that are not letters or digits: word separators on both databases.
_SEPARATORS = r"[\x01-\x2f\x3a-\x40\x5b-\x60\x7b-\x7f]+"
# In a query, anything but a Unicode letter or digit separates words: a character that both databases drop
# from documents (an emoji, a dash) must not be left in a query word, where one database would ignore it
# and the other match nothing.
_QUERY_SEPARATOR_RE = re.compile(r"[\W_]+")
_PHRASE_RE = re.compile(r'"([^"]*)"')
FTS_TABLE = "samples_fts"
DOC_VIEW = "samples_search_doc"
PG_COLUMN = "search_doc"
PG_INDEX = "ix_samples_search_doc"


class BadSearch(ValueError):
    """The query has nothing to search for (no letter or digit)."""


@dataclass(frozen=True)
class SearchQuery:
    """A parsed query: each group is a phrase (one word or several in order); all groups must match."""

    groups: tuple[tuple[str, ...], ...]

    def postgres(self) -> str:
        """As a tsquery: groups joined by &, words of a phrase by <->."""
        return " & ".join("(" + " <-> ".join(f"'{word}'" for word in group) + ")" for group in self.groups)

    def fts5(self) -> str:
        """As an FTS5 MATCH expression: each group a quoted phrase, joined by AND."""
        return " AND ".join('"' + " ".join(group) + '"' for group in self.groups)


def _words(fragment: str) -> tuple[str, ...]:
    # Quotes and backslashes are ASCII separators, so no word needs escaping in either query syntax.
    return tuple(word.lower() for word in _QUERY_SEPARATOR_RE.split(fragment) if word)


def parse_search(query: str) -> SearchQuery:
    """Words and "quoted phrases" of `query`; BadSearch when it holds no letter or digit."""
    groups: list[tuple[str, ...]] = []
    outside = []
    position = 0
    for match in _PHRASE_RE.finditer(query):
        outside.append(query[position:match.start()])
        phrase = _words(match.group(1))
        if phrase:
            groups.append(phrase)
        position = match.end()
    outside.append(query[position:])  # an unmatched quote is a separator like any other
    for fragment in outside:
        groups.extend((word,) for word in _words(fragment))
    unique = tuple(dict.fromkeys(groups))
    if not unique:
        raise BadSearch(f"q: {query!r} has no word to search for (letters or digits)")
    return SearchQuery(unique)


def match_condition(dialect: str, query: SearchQuery, run_id: str | None = None) -> ColumnElement[bool]:
    """A WHERE condition on `samples` that holds for the samples matching `query`, on the index.

    `run_id` (SQLite): the caller narrows the rows to this run; the index is then asked only for the
    run's rowid range, instead of listing every match in the store first (a common word has millions)."""
    if dialect == "postgresql":
        return literal_column(PG_COLUMN).op("@@")(func.to_tsquery(literal_column("'simple'::regconfig"),
                                                                   bindparam("search_q", query.postgres())))
    if dialect == "sqlite":
        fts = table(FTS_TABLE, column("rowid"))
        rowids = select(fts.c.rowid).where(text(f"{FTS_TABLE} MATCH :search_q").bindparams(search_q=query.fts5()))
        if run_id is not None:
            lowest = select(func.min(samples.c.pk)).where(samples.c.run_id == run_id).scalar_subquery()
            highest = select(func.max(samples.c.pk)).where(samples.c.run_id == run_id).scalar_subquery()
            rowids = rowids.where(fts.c.rowid >= lowest, fts.c.rowid <= highest)
        return samples.c.pk.in_(rowids.scalar_subquery())
    raise BadSearch(f"--db: word search needs SQLite or PostgreSQL, not {dialect}")


def search_source(dialect: str, query: SearchQuery,
                  run_id: str | None) -> tuple[FromClause, ColumnElement[bool], ColumnElement[Any]]:
    """FROM, WHERE and the key to order pages by (ascending = storage order) for the samples matching
    `query`. Store-wide on SQLite the FTS table drives the join in its rowid order, so a LIMIT stops
    early instead of listing every match of a common word first."""
    if dialect == "sqlite" and run_id is None:
        fts = table(FTS_TABLE, column("rowid"))
        source = samples.join(fts, fts.c.rowid == samples.c.pk)
        return source, text(f"{FTS_TABLE} MATCH :search_q").bindparams(search_q=query.fts5()), fts.c.rowid
    return samples, match_condition(dialect, query, run_id), samples.c.pk


# ---- building the index ------------------------------------------------------------------------

def _sqlite_doc(row: str) -> str:
    return (f"substr(coalesce({row}.prompt, ''), 1, {INDEXED_CHARS}) || ' ' || "
            f"substr(coalesce({row}.extracted, ''), 1, {INDEXED_CHARS}) || ' ' || "
            f"substr(coalesce(json_extract({row}.responses, '$[0].text'), ''), 1, {INDEXED_CHARS})")


def _sqlite_ddl() -> list[str]:
    doc_new, doc_old = _sqlite_doc("new"), _sqlite_doc("old")
    return [
        f"CREATE VIEW IF NOT EXISTS {DOC_VIEW} AS SELECT pk, {_sqlite_doc('samples')} AS body FROM samples",
        f"CREATE VIRTUAL TABLE IF NOT EXISTS {FTS_TABLE} USING fts5(body, content='{DOC_VIEW}', content_rowid='pk', "
        "tokenize='unicode61 remove_diacritics 0')",
        f"CREATE TRIGGER IF NOT EXISTS samples_fts_insert AFTER INSERT ON samples BEGIN "
        f"INSERT INTO {FTS_TABLE}(rowid, body) VALUES (new.pk, {doc_new}); END",
        f"CREATE TRIGGER IF NOT EXISTS samples_fts_delete AFTER DELETE ON samples BEGIN "
        f"INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, body) VALUES ('delete', old.pk, {doc_old}); END",
        f"CREATE TRIGGER IF NOT EXISTS samples_fts_update AFTER UPDATE OF prompt, extracted, responses ON samples BEGIN "
        f"INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, body) VALUES ('delete', old.pk, {doc_old}); "
        f"INSERT INTO {FTS_TABLE}(rowid, body) VALUES (new.pk, {doc_new}); END",
    ]


def postgres_document() -> str:
    """The generated column's expression (immutable: explicit configuration, no session settings)."""
    fields = ("prompt", "extracted", "(responses -> 0 ->> 'text')")
    joined = " || ' ' || ".join(f"left(coalesce({f}, ''), {INDEXED_CHARS})" for f in fields)
    return f"to_tsvector('simple'::regconfig, regexp_replace({joined}, '{_SEPARATORS}', ' ', 'g'))"


def search_index_present(conn: Connection) -> bool:
    """Whether the database has the full-text index, complete (PostgreSQL: the column and its GIN index)."""
    dialect = conn.dialect.name
    if dialect == "sqlite":
        return conn.execute(text("SELECT 1 FROM sqlite_master WHERE name = :n"), {"n": FTS_TABLE}).first() is not None
    if dialect == "postgresql":
        inspector = inspect(conn)
        return (PG_COLUMN in {c["name"] for c in inspector.get_columns(samples.name)}
                and PG_INDEX in {i["name"] for i in inspector.get_indexes(samples.name)})
    return True


def require_search_index(engine: Engine) -> None:
    """BadSearch when word search cannot run here: a database made before the index, opened by a reader
    (readers never build it)."""
    dialect = engine.dialect.name
    if dialect == "sqlite":
        probe = text("SELECT 1 FROM sqlite_master WHERE name = :n").bindparams(n=FTS_TABLE)
    elif dialect == "postgresql":
        probe = text("SELECT 1 FROM information_schema.columns WHERE table_schema = current_schema() "
                     "AND table_name = :t AND column_name = :c").bindparams(t=samples.name, c=PG_COLUMN)
    else:
        return
    with engine.connect() as conn:
        if conn.execute(probe).first() is None:
            raise BadSearch("q: word search needs the full-text index, which this database (made by an older "
                            "assay) lacks: run `assay db upgrade`; match=substring searches one run without it")


def ensure_search_index(conn: Connection, with_index: bool = True) -> bool:
    """Create the full-text index if missing and fill it from the stored samples, in `conn`'s transaction;
    idempotent. Returns whether anything was built. `with_index=False` (PostgreSQL bulk loads): the column
    only, the GIN index left to a later call."""
    dialect = conn.dialect.name
    if dialect == "sqlite":
        if search_index_present(conn):
            return False
        for statement in _sqlite_ddl():
            conn.execute(text(statement))
        # A database from before the index: every stored sample is indexed now, in this transaction.
        conn.execute(text(f"INSERT INTO {FTS_TABLE}({FTS_TABLE}) VALUES ('rebuild')"))
        return True
    if dialect == "postgresql":
        columns = {c["name"] for c in inspect(conn).get_columns(samples.name)}
        indexes = {i["name"] for i in inspect(conn).get_indexes(samples.name)}
        built = False
        if PG_COLUMN not in columns:
            # Rewrites the table once: every stored sample gets its document now.
            conn.execute(text(f"ALTER TABLE samples ADD COLUMN IF NOT EXISTS {PG_COLUMN} tsvector "
                              f"GENERATED ALWAYS AS ({postgres_document()}) STORED"))
            built = True
        if with_index and PG_INDEX not in indexes:
            conn.execute(text(f"CREATE INDEX IF NOT EXISTS {PG_INDEX} ON samples USING gin ({PG_COLUMN})"))
            built = True
        return built
    return False
