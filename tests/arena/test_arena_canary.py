"""The null-model canary, end to end: a scripted:constant entrant runs the example task like any model,
`assay battle`'s engine has a scripted judge compare it with real answers in both orders, and the arena
flags the leaderboard when the judge lets the constant non-answer win. Plus the rule on its own."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from arena_support import judgment
from battle_support import NULL_TEXT, judged_battles, null_judge

from assay.arena.battles import battles_from_judgments
from assay.arena.canary import canary, null_models
from assay.arena.leaderboard import arena_leaderboard
from assay.judges.store import add_judgments, iter_judgments
from assay.store import Store


@pytest.mark.parametrize(("null_wins", "status"), [(True, "gameable"), (False, "passed")])
def test_canary_on_battles_judged_by_the_engine(store: Store, tmp_path: Path, null_wins: bool, status: str) -> None:
    judged_battles(store, tmp_path, null_judge(tmp_path, "judge", null_wins))
    judgments = list(iter_judgments(store, kind="pairwise"))
    assert len(judgments) == 10 and all(j.ok for j in judgments)  # 5 questions x both orders
    board = arena_leaderboard(judgments, rounds=50)
    assert board["canary"]["status"] == status
    [entry] = board["canary"]["null_models"]
    assert entry["model"].startswith("scripted:constant=") and entry["battles"] == 10
    assert entry["win_share"] == (1.0 if null_wins else 0.0)
    top = board["ratings"][0]["model"]
    assert top.startswith("scripted:constant") == null_wins


def test_cli_flags_gameable_leaderboard_and_counts_human_votes(store: Store, tmp_path: Path) -> None:
    judged_battles(store, tmp_path, null_judge(tmp_path, "judge", True))
    # a human voter on the labelling page disagrees with the judge on two prompts
    judged = list(iter_judgments(store, kind="pairwise"))
    first, items = judged[0], sorted({j.item for j in judged})[:2]
    votes = [judgment(first.model_a, str(first.model_b), "a", item, rater="alice", rater_kind="human",
                      task=first.task or "", source="label:test", output_a="x", output_b=NULL_TEXT) for item in items]
    add_judgments(store, votes)
    db = f"sqlite:///{tmp_path / 'assay.db'}"  # the `store` fixture's file
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    out = subprocess.run([sys.executable, "-m", "assay.cli", "arena", "--json", "--rounds", "50", "--db", db],
                         capture_output=True, text=True, timeout=300, cwd=tmp_path, env=env)
    assert out.returncode == 0, out.stderr
    board = json.loads(out.stdout)
    assert board["raters"] == {"human": 2, "judge": 10} and board["n_battles"] == 12 and board["n_prompts"] == 5
    assert board["canary"]["status"] == "gameable"
    assert board["agreement"]["available"] is True and board["agreement"]["reference"] == "human"
    text = subprocess.run([sys.executable, "-m", "assay.cli", "arena", "--rounds", "50", "--db", db],
                          capture_output=True, text=True, timeout=300, cwd=tmp_path, env=env)
    assert "GAMEABLE" in text.stdout and "agreement with human" in text.stdout


def test_null_model_rules() -> None:
    rows = [judgment("m", "const", "b", f"p{k}", output_a=f"answer {k}", output_b="same") for k in range(5)]
    battles = battles_from_judgments(rows)
    assert null_models(battles) == {"const": "the same output on all 5 prompts"}
    assert null_models(battles_from_judgments(rows[:4])) == {}  # too few prompts to call it constant
    assert null_models(battles_from_judgments(rows[:4]), ["const"]) == {"const": "named with --null-model"}
    result = canary(battles)
    assert result["status"] == "gameable" and result["null_models"][0]["wins"] == 5
    assert canary(battles, threshold=0.99)["status"] == "gameable"  # won all: above any share below 1
    losing = [judgment("m", "const", "a", f"p{k}", output_a=f"answer {k}", output_b="same") for k in range(4)] + \
        [judgment("m", "const", "b", "p4", output_a="answer 4", output_b="same")]
    assert canary(battles_from_judgments(losing), threshold=0.2)["status"] == "passed"  # won 1 of 5 = 20%
    assert canary(battles_from_judgments(losing), threshold=0.1)["status"] == "gameable"
    plain = [judgment("m", "n", "a", f"p{k}", output_a=f"a {k}", output_b=f"b {k}") for k in range(6)]
    assert canary(battles_from_judgments(plain))["status"] == "absent"
