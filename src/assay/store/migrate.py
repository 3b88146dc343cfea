"""Bring a store made by an older assay up to the current schema: columns added since are added to the
existing tables (nullable), so old runs stay readable and nothing is rewritten."""

from __future__ import annotations

from sqlalchemy import Engine, inspect, text

from assay.store.schema import metadata


def add_missing_columns(engine: Engine) -> list[str]:
    """ALTER TABLE ... ADD COLUMN for each column the schema has and the database lacks; returns them."""
    inspector = inspect(engine)
    added = []
    preparer = engine.dialect.identifier_preparer
    with engine.begin() as conn:
        for table in metadata.sorted_tables:
            present = {column["name"] for column in inspector.get_columns(table.name)}
            for column in table.columns:
                if column.name in present:
                    continue
                if not column.nullable:
                    raise RuntimeError(f"schema: new column {table.name}.{column.name} must be nullable to be added")
                column_type = column.type.compile(dialect=engine.dialect)
                conn.execute(text(f"ALTER TABLE {preparer.quote(table.name)} ADD COLUMN "
                                  f"{preparer.quote(column.name)} {column_type}"))
                added.append(f"{table.name}.{column.name}")
    return added


def build_derived(engine: Engine) -> list[str]:
    """Derived data newer stores keep (the full-text index, per-run sample counts), built on open when
    missing and filled from the stored samples; idempotent, and nothing stored is rewritten."""
    from assay.store.search import ensure_search_index
    from assay.store.summary import ensure_sample_counts

    built = []
    if ensure_search_index(engine):
        built.append("full-text index")
    if ensure_sample_counts(engine):
        built.append("sample counts")
    return built
