"""`assay ...` run in-process as a user's shell would: (exit code, stdout, stderr)."""

from __future__ import annotations

import pytest

from assay.cli import main


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    try:
        main(list(args))
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err
