"""`--task` lists: commas separate tasks, and the comma form of a grid list (`lengths=512,1024`) means `+`."""

from __future__ import annotations

import pytest

from assay.errors import AssayError
from assay.tasks import parse_task_list
from assay.tasks.registry import split_task_list


def _lengths(task) -> list[int]:
    return list(task.spec()["params"]["lengths"])


def test_comma_inside_a_grid_list_continues_the_list() -> None:
    (task,) = parse_task_list("niah_single:lengths=512,1024")
    assert task.name == "niah_single:lengths=512+1024"
    assert _lengths(task) == [512, 1024]


def test_grid_list_then_another_task() -> None:
    first, second = parse_task_list("niah_single:lengths=512,1024,niah_multikey")
    assert (first.name, second.name) == ("niah_single:lengths=512+1024", "niah_multikey")
    assert _lengths(first) == [512, 1024]


def test_a_continued_value_may_carry_more_parameters() -> None:
    assert split_task_list("niah_single:lengths=512,2048/n=2, arith") == ["niah_single:lengths=512+2048/n=2", "arith"]
    (task,) = parse_task_list("niah_single:lengths=512,2048/n=2")
    assert _lengths(task) == [512, 2048]


def test_plain_lists_are_unchanged() -> None:
    assert split_task_list("arith,arith_mc") == ["arith", "arith_mc"]
    assert split_task_list("niah_single:uuid,niah_multikey") == ["niah_single:uuid", "niah_multikey"]


def test_an_unknown_piece_still_fails_and_names_the_plus_syntax() -> None:
    with pytest.raises(AssayError) as caught:
        parse_task_list("niah_single:lengths=512,bogus")
    message = str(caught.value)
    assert "unknown task 'bogus'" in message
    assert "'+'" in message and "lengths=512+1024" in message


def test_an_unknown_task_without_an_open_value_is_the_usual_error() -> None:
    with pytest.raises(AssayError, match=r"unknown task '1024'"):
        parse_task_list("arith,1024")


def test_list_tasks_ends_with_the_grid_syntax(capsys) -> None:
    from assay.cli import main

    main(["list", "tasks"])
    footer = capsys.readouterr().out.strip().splitlines()[-1]
    assert footer.startswith("grid syntax:") and "lengths=512+1024" in footer and "comma" in footer, footer
