"""Each perturbation is deterministic for a seed: `assay suite dump --perturb` writes identical bytes
twice, and another seed gives other perturbed copies; bad --perturb input is one line, exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assay.cli import main
from assay.perturb import FIXED


def _dump(tmp_path: Path, name: str, task: str, seed: int, tag: str) -> bytes:
    out = tmp_path / f"{name}-{seed}-{tag}.jsonl"
    main(["suite", "dump", "--task", task, "--perturb", name, "--seed", str(seed), "--limit", "6", "-o", str(out)])
    return out.read_bytes()


@pytest.mark.parametrize("name", sorted(FIXED))
def test_suite_dump_is_byte_identical_for_a_seed(tmp_path: Path, name: str) -> None:
    task = "arith_mc" if FIXED[name].needs_choices else "arith_mc,arith"
    first, again = _dump(tmp_path, name, task, 5, "a"), _dump(tmp_path, name, task, 5, "b")
    assert first == again
    records = [json.loads(line) for line in first.decode().splitlines()]
    copies = [r for r in records if r["metadata"]["perturbation"] == name]
    assert len(copies) == len(records) // 2 == 6 * task.count(",") + 6
    originals = {r["id"]: r for r in records if r["metadata"]["perturbation"] == "clean"}
    for copy in copies:
        original = originals[copy["metadata"]["base_id"]]
        assert copy["requests"] != original["requests"] and copy["metadata"]["unchanged"] is False
    assert _dump(tmp_path, name, task, 6, "c") != first


@pytest.mark.parametrize(("args", "message"), [
    (["--perturb", "typoz"], "--perturb: unknown perturbation 'typoz'"),
    (["--perturb", "option_shuffle", "--task", "arith"], "--perturb option_shuffle: task arith cannot use it"),
    (["--perturb", "paraphrase"], "--perturb paraphrase: needs --generator SPEC"),
    (["--perturb", "typos", "--generator", "scripted:echo"], "--generator: only the paraphrase perturbation"),
    (["--perturb", "typos", "--repeats", "2", "--task", "arith"], "--perturb: cannot be combined with --repeats 2"),
    (["--perturb", "typos", "--task", "sycophancy:arith"], "task sycophancy:arith cannot use it: its samples are"),
])
def test_bad_perturb_options_are_one_line_and_store_nothing(tmp_path: Path, capsys, args, message) -> None:
    db = tmp_path / "r.db"
    with pytest.raises(SystemExit) as exit_info:
        main(["run", "-m", "scripted:echo", "--task", "arith_mc", "--db", str(db), *args])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
    assert not db.exists()
