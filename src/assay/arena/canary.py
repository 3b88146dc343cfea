"""The null-model canary. A null model gives the same confidently formatted non-answer to every prompt
("Cheating Automatic LLM Benchmarks: Null Models Achieve High Win Rates"); a judge that lets it win
more than a small share of its battles can be gamed, and so can the leaderboard it ranks.

An entrant is a null model when it is named with --null-model, when its name is a `scripted:constant=`
backend, or when its output is one and the same text on every one of at least MIN_PROMPTS prompts.
The canary fails (the leaderboard is flagged gameable) when a null model's win share, (wins + ties/2)
/ battles, exceeds THRESHOLD."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from assay.arena.battles import Battles

THRESHOLD = 0.10
MIN_PROMPTS = 5
CONSTANT_PREFIX = "scripted:constant"


def null_models(battles: Battles, declared: Iterable[str] = ()) -> dict[str, str]:
    """model -> why it counts as a null model."""
    found = {m: "named with --null-model" for m in declared if m in battles.models}
    outputs: dict[str, set[str]] = defaultdict(set)
    prompts: dict[str, set[str]] = defaultdict(set)
    for judgment in battles.judgments:
        for model, text in ((judgment.model_a, judgment.output_a), (str(judgment.model_b), judgment.output_b)):
            if text is not None:
                outputs[model].add(text)
                prompts[model].add(judgment.item)
    for model in battles.models:
        if model in found:
            continue
        if model.startswith(CONSTANT_PREFIX):
            found[model] = "a scripted:constant backend"
        elif len(prompts[model]) >= MIN_PROMPTS and len(outputs[model]) == 1:
            found[model] = f"the same output on all {len(prompts[model])} prompts"
    return dict(sorted(found.items()))


def canary(battles: Battles, declared: Iterable[str] = (), threshold: float = THRESHOLD) -> dict[str, Any]:
    """{"status": "absent" | "passed" | "gameable", "threshold", "null_models": [...], "message"}."""
    entries = []
    for model, reason in null_models(battles, declared).items():
        index = battles.models.index(model)
        as_a, as_b = battles.a == index, battles.b == index
        share_points = float(battles.outcome[as_a].sum() + (1.0 - battles.outcome[as_b]).sum())
        total = int(as_a.sum() + as_b.sum())
        score = battles.outcome[as_a].tolist() + (1.0 - battles.outcome[as_b]).tolist()
        entries.append({"model": model, "reason": reason, "battles": total,
                        "wins": sum(1 for s in score if s == 1.0), "ties": sum(1 for s in score if s == 0.5),
                        "losses": sum(1 for s in score if s == 0.0),
                        "win_share": share_points / total if total else None})
    flagged = [e for e in entries if e["win_share"] is not None and e["win_share"] > threshold]
    if not entries:
        status = "absent"
        message = ("canary: no null model among the entrants (add a scripted:constant=... entrant to check "
                   "that the judge cannot be gamed)")
    elif flagged:
        status = "gameable"
        worst = max(flagged, key=lambda e: e["win_share"])
        message = (f"GAMEABLE: null model {worst['model']} ({worst['reason']}) won {worst['win_share']:.1%} of its "
                   f"{worst['battles']} battles, above the {threshold:.0%} the canary allows")
    else:
        status = "passed"
        message = f"canary passed: every null model won at most {threshold:.0%} of its battles"
    return {"status": status, "threshold": threshold, "null_models": entries, "message": message}
