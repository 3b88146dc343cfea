"""`db=None` in the Python API: one temporary SQLite store per process, so a notebook needs no file and two
runs made in it can still be compared. The file is removed when the process exits."""

from __future__ import annotations

import atexit
import shutil
import tempfile
import threading
from pathlib import Path

from assay.store import Store

_lock = threading.Lock()
_store: Store | None = None


def session_store() -> Store:
    """The process's temporary store, created on first use."""
    global _store
    with _lock:
        if _store is None:
            folder = Path(tempfile.mkdtemp(prefix="assay-session-"))
            _store = Store(f"sqlite:///{folder / 'assay.db'}")
            atexit.register(_remove, _store, folder)
        return _store


def _remove(store: Store, folder: Path) -> None:
    store.close()
    shutil.rmtree(folder, ignore_errors=True)


def resolve_store(db: str | Store | None, *, read_only: bool, temporary_default: bool) -> Store:
    """A store from what the user gave: a Store as is; a URL or path opened; None → the session's temporary
    store (`temporary_default`, for runs made in Python) or the default ./assay.db (for loading stored runs)."""
    if isinstance(db, Store):
        return db
    if db is None and temporary_default:
        return session_store()
    return Store(db, read_only=read_only)
