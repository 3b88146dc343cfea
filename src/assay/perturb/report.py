"""The robustness and sycophancy figures of a run, read from its stored task-level rows
(`perturb_diff/*`, `syco_diff/*`, `flip_rate/*`, `flip_to_wrong/*`, `flip_to_right/*`): one entry per
(task, condition), for the CLI, the HTML report and the web run page."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

DIFF_PREFIXES = {"perturb_diff/": "perturbation", "syco_diff/": "sycophancy"}
RATE_PREFIXES = ("flip_rate/", "flip_to_wrong/", "flip_to_right/")


def paired_entries(metrics: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """[{task, kind, condition, metric, clean, changed, diff, ci_low, ci_high, p_value, test, n,
    flip_rate, flip_to_wrong, flip_to_right (each {value, ci_low, ci_high, n} or None)}]"""
    rows = list(metrics)
    by_key = {(r["task"], r["name"]): r for r in rows}
    out = []
    for row in rows:
        prefix = next((p for p in DIFF_PREFIXES if row["name"].startswith(p)), None)
        if prefix is None:
            continue
        condition = row["name"].removeprefix(prefix)
        extra = row.get("extra") or {}
        entry: dict[str, Any] = {
            "task": row["task"], "kind": DIFF_PREFIXES[prefix], "condition": condition, "metric": extra.get("metric"),
            "clean": extra.get("clean"), "changed": extra.get("changed"), "diff": row.get("value"),
            "ci_low": row.get("ci_low"), "ci_high": row.get("ci_high"), "p_value": extra.get("p_value"),
            "test": extra.get("test"), "n": row.get("n"), "note": extra.get("note")}
        for rate in RATE_PREFIXES:
            found = by_key.get((row["task"], rate + condition))
            entry[rate.rstrip("/")] = None if found is None or found.get("value") is None else {
                "value": found["value"], "ci_low": found.get("ci_low"), "ci_high": found.get("ci_high"),
                "n": found.get("n")}
        out.append(entry)
    return out


def _num(value: Any, digits: int = 3) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def _rate(rate: Mapping[str, Any] | None) -> str:
    if rate is None:
        return "—"
    return f"{_num(rate['value'])} [{_num(rate.get('ci_low'))}, {_num(rate.get('ci_high'))}] (n={rate.get('n')})"


def _p(value: Any) -> str:
    return "—" if value is None else f"{value:.3g}"


def robustness_lines(metrics: Iterable[Mapping[str, Any]]) -> list[str]:
    lines = []
    for e in paired_entries(metrics):
        if e["diff"] is None:
            lines.append(f"{e['kind']} {e['task']} · {e['condition']}: {e.get('note') or 'no pairs'}")
            continue
        lines.append(
            f"{e['kind']} {e['task']} · {e['condition']} ({e['metric']}): clean {_num(e['clean'])} → "
            f"{_num(e['changed'])}, diff {e['diff']:+.3f} [{_num(e['ci_low'])}, {_num(e['ci_high'])}], "
            f"{e['test']} p={_p(e['p_value'])}; flip rate {_rate(e['flip_rate'])}; "
            f"right→wrong {_rate(e['flip_to_wrong'])}; wrong→right {_rate(e['flip_to_right'])}")
    return lines


TABLE_COLUMNS = ["run", "condition", "metric", "clean", "changed", "diff (changed − clean)", "95% CI", "p (test)", "n",
                 "flip rate [CI]", "right→wrong [CI]", "wrong→right [CI]"]


def _interval(low: Any, high: Any) -> str:
    return "" if low is None or high is None else f"[{_num(low)}, {_num(high)}]"


def table_rows(run_label: str, entries: Iterable[Mapping[str, Any]]) -> list[list[str]]:
    """One table row per entry (a task's condition), the columns of TABLE_COLUMNS."""
    rows = []
    for e in entries:
        p_value = "" if e["p_value"] is None else f"{_p(e['p_value'])} ({e['test']})"
        diff = "—" if e["diff"] is None else f"{e['diff']:+.3f}"
        rows.append([run_label, f"{e['kind']}: {e['condition']}", str(e["metric"] or ""), _num(e["clean"]),
                     _num(e["changed"]), diff, _interval(e["ci_low"], e["ci_high"]), p_value, str(e["n"] or ""),
                     _rate(e["flip_rate"]), _rate(e["flip_to_wrong"]), _rate(e["flip_to_right"])])
    return rows
