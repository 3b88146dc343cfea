"""The one error type users see: a single line naming what was wrong, exit code 2."""


class AssayError(Exception):
    """Bad input (argument, file, field, URL) with a one-line message for the user.

    The CLI prints `error: <message>` and exits with code 2, without a traceback.
    """

    exit_code = 2


class AssayProblems(AssayError):
    """Several problems found in one input (a task file with three bad keys): each is a line of its own,
    so the user fixes them all in one pass. The CLI prints each line as `error: <line>`."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__("\n".join(lines))
        self.lines = tuple(lines)
