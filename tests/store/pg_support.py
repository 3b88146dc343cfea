"""PostgreSQL for the store tests: URLs from the environment (`eval "$(.ci/postgres.sh)"` sets them), a
skip without them on a user's machine and a failure under CI, and a fresh schema per test."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text

POSTGRES_ENV = "ASSAY_TEST_POSTGRES_URL"
READER_ENV = "ASSAY_TEST_POSTGRES_READER_URL"


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def env_url(name: str) -> str:
    url = os.environ.get(name)
    if not url:
        if _in_ci():
            pytest.fail(f"{name} is not set in CI: the Postgres store tests must run there "
                        "(eval \"$(.ci/postgres.sh)\")")
        pytest.skip(f"{name} not set: Postgres cases skipped (eval \"$(.ci/postgres.sh)\" to run them)")
    return url


def in_schema(url: str, schema: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}"


@contextlib.contextmanager
def fresh_schema(owner_url: str) -> Iterator[str]:
    """The name of a new, empty schema, dropped with everything in it afterwards."""
    name = f"assay_store_{uuid.uuid4().hex[:12]}"
    admin = create_engine(owner_url.replace("postgresql://", "postgresql+psycopg://", 1))
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{name}"'))
    try:
        yield name
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{name}" CASCADE'))
        admin.dispose()
