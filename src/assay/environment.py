"""Whether the installed packages are the locked set: the exact versions CI tested, in `assay/lock.txt`
(written by scripts/lock.sh, installed by scripts/install.sh as a pip constraints file).

The lock ships inside the package, so an editable install, a plain `pip install -e .` (no lock used)
and a wheel all find it. A package the lock pins at another version, or one it does not name, is a
difference; a locked package that is not installed is not (the plain install is a subset of the dev
set the lock was taken from). Recorded in every run's manifest and printed by `assay --version --verbose`.
"""

from __future__ import annotations

import copy
import functools
import importlib.metadata
import re
from pathlib import Path
from typing import Any

LOCK_PATH = Path(__file__).with_name("lock.txt")
# Not part of the environment the code runs in: the project itself and the packaging tools.
UNLOCKED = frozenset({"assay", "pip", "setuptools", "wheel"})
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)$")


def normalise(name: str) -> str:
    """A distribution name as pip compares them (PEP 503): lower case, runs of -_. as one -."""
    return re.sub(r"[-_.]+", "-", name).lower()


def parse_lock(text: str, source: str = "lock") -> dict[str, str]:
    """{name: version} from `name==version` lines; blank lines and `#` comments are skipped."""
    pins: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        match = _PIN.match(line)
        if match is None:
            raise ValueError(f"{source} line {number}: expected name==version, got {line!r}")
        pins[normalise(match.group(1))] = match.group(2)
    return pins


def installed_versions() -> dict[str, str]:
    """{name: version} of every installed distribution except the project and the packaging tools."""
    versions: dict[str, str] = {}
    for dist in importlib.metadata.distributions():
        name = dist.metadata["Name"]
        if name and normalise(name) not in UNLOCKED:
            versions.setdefault(normalise(name), dist.version)  # the first on sys.path is the one imported
    return versions


def lock_differences(locked: dict[str, str], installed: dict[str, str]) -> dict[str, dict[str, str | None]]:
    """{name: {"installed": version, "locked": version or None}} for each installed package the lock pins
    at another version or does not name."""
    return {name: {"installed": version, "locked": locked.get(name)}
            for name, version in sorted(installed.items()) if locked.get(name) != version}


def environment_record() -> dict[str, Any]:
    """For the manifest: {"locked": bool, "differs_from_lock": {...}}; `locked` is None when the lock
    cannot be read (with the reason)."""
    return copy.deepcopy(_environment())


@functools.cache  # the installed set does not change under a running process; reading it takes ~50 ms
def _environment() -> dict[str, Any]:
    try:
        locked = parse_lock(LOCK_PATH.read_text(encoding="utf-8"), str(LOCK_PATH))
    except (OSError, ValueError) as exc:
        return {"locked": None, "lock_error": str(exc)}
    differs = lock_differences(locked, installed_versions())
    return {"locked": not differs, "differs_from_lock": differs}


def difference_lines(differs: dict[str, dict[str, str | None]]) -> list[str]:
    return [f"{name} {versions['installed']} (lock: {versions['locked'] or 'not in the lock'})"
            for name, versions in differs.items()]
