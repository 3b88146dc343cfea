"""A pytest hook that records, for every test marked xfail, whether the expectation is strict, as the junit
property `xfail_strict`: CI (.ci/check_junit.py) passes an expected failure only if it is strict, and junit
does not say so by itself. tests/conftest.py imports the hook."""

from __future__ import annotations

import pytest


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        marker = item.get_closest_marker("xfail")
        if marker is not None:
            strict = bool(marker.kwargs.get("strict", config.getini("xfail_strict")))
            item.user_properties.append(("xfail_strict", "true" if strict else "false"))
