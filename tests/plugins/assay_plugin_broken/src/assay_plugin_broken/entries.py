"""What the broken entry points point at: a task factory under a built-in task's name (and a built-in
backend's prefix), and a judge prompt that is not text."""

from typing import Any

NOT_A_PROMPT = 42


def task_factory(variant: str | None) -> Any:
    """would replace the built-in task arith"""
    raise AssertionError("never called: the name belongs to a built-in")
