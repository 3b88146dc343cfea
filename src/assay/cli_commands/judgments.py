"""`assay import judgments PATH --format F`: store published judgments and human labels;
`assay agreement`: judges against a reference (labels, the human majority, or a rater), with bias
diagnostics; `assay bias`: the bias diagnostics alone."""

from __future__ import annotations

import dataclasses
import hashlib
import math
from collections import Counter
from pathlib import Path
from typing import Annotated, Any

import typer

from assay.cli_output import make_console
from assay.cli_support import json_out
from assay.errors import AssayError
from assay.judges.importers import importers

FormatOption = Annotated[str, typer.Option("--format", help=f"one of: {', '.join(importers())} (docs/judges.md)")]
DbOption = Annotated[str | None, typer.Option("--db", help="SQLAlchemy URL or SQLite path (default sqlite:///assay.db)")]
JsonOption = Annotated[bool, typer.Option("--json", help="machine-readable JSON output")]
SourceOption = Annotated[list[str] | None, typer.Option(
    "--source", help="only judgments of this source (repeatable; `assay agreement --list-sources` shows them)")]
JudgeOption = Annotated[str | None, typer.Option("--judge", help="only this rater (default: every judge)")]
ReferenceOption = Annotated[str | None, typer.Option(
    "--reference", help="human (majority of human raters), label (expert labels) or a rater's name; "
                        "default: human when human judgments are selected, else label")]


def path_digest(path: Path) -> str:
    """sha256 of a file, or of a folder's files (relative names and contents, in sorted order)."""
    digest = hashlib.sha256()
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    for file in files:
        digest.update(str(file.relative_to(path) if file != path else file.name).encode() + b"\0")
        digest.update(file.read_bytes())
    return digest.hexdigest()


def import_judgments(store: Any, path: Path, fmt: str) -> tuple[str, list[Any]]:
    """Read PATH with the format's importer and store it as source import:<format>:<sha256[:12]>."""
    from assay.judges.importers import get_importer
    from assay.judges.store import replace_judgments

    read = get_importer(fmt)
    if not path.exists():
        raise AssayError(f"{path}: no such file or folder")
    rows = read(path)  # raises AssayError on a bad file, before the store is touched
    source = f"import:{fmt}:{path_digest(path)[:12]}"
    rows = [dataclasses.replace(j, source=source) for j in rows]
    replace_judgments(store, source, rows)
    return source, rows


def _fmt(value: Any, digits: int = 3) -> str:
    if value is None or isinstance(value, float) and not math.isfinite(value):
        return "—"
    return f"{value:.{digits}f}"


def _row(name: str, entry: dict[str, Any] | None) -> list[str]:
    if not entry or entry.get("value") is None:
        return [name, "—", "", ""]
    counted = f"{entry['k']:g}/{entry['n']}" if entry.get("n") is not None and "k" in entry else ""
    ci = entry.get("ci")
    return [name, _fmt(entry["value"], 4), counted, f"[{_fmt(ci[0])}, {_fmt(ci[1])}]" if ci else ""]


def _print_agreement(report: dict[str, Any]) -> None:
    from rich.table import Table

    console = make_console()
    console.print(f"reference: {report['reference']} ({report['reference_raters']} rater(s), "
                  f"{report['reference_keys']} rated pairs, {report['reference_errors']} unreadable)", highlight=False)
    if report["reference_fleiss_kappa"]:
        f = report["reference_fleiss_kappa"]
        console.print(f"Fleiss' κ among the reference raters: {_fmt(f['value'])} over {f['keys']} pairs rated by "
                      f"{f['raters_per_key']} ({f['keys_left_out']} pairs with another number of raters left out)",
                      highlight=False)
    for entry in report["judges"]:
        table = Table(title=f"{entry['judge']} vs {report['reference']}: {entry['judgments']} judgments, "
                            f"{entry['errors']} judge errors, {entry['without_reference']} without a reference")
        for column in ("statistic", "value", "count", "95% CI (items)"):
            table.add_column(column, justify="left" if column == "statistic" else "right")
        if not entry.get("items"):
            console.print(f"{entry['judge']}: no judgment on a pair the reference rated", highlight=False)
            continue
        for sub, label in (("ab", "accuracy, order ab"), ("ba", "accuracy, order ba"),
                           ("average", "accuracy, average of orders"), ("all", "accuracy, all ratings")):
            table.add_row(*_row(label, entry["accuracy"].get(sub)))
        table.add_row(*_row("right in both orders", entry["both_orders"]))
        table.add_row(*_row("positional agreement", entry["positional_agreement"]))
        for sub in ("ab", "ba", "all"):
            table.add_row(*_row(f"Cohen's κ, {sub}", entry["cohen_kappa"].get(sub)))
        table.add_row(*_row("Fleiss' κ (judge + reference)", entry["fleiss_kappa"]))
        bias = entry.get("bias") or {}
        if bias:
            table.add_row(*_row("first-position win rate", bias["position"]["first_position_win_rate"]))
            table.add_row(*_row("longer-output win rate", bias["length"]["longer_output_win_rate"]))
            own = bias["self_preference"]
            if "difference" in own:
                table.add_row(*_row(f"self-preference ({own['family']}), judge − reference", own["difference"]))
        console.print(table)
        wins = Table(title="win rates on the pairs both rated")
        for column in ("model", entry["judge"], report["reference"], "judge's comparisons"):
            wins.add_column(column, justify="left" if column == "model" else "right")
        for model, value in sorted(entry["win_rate"]["judge"].items(), key=lambda kv: -(kv[1]["value"] or 0)):
            ref_value = entry["win_rate"]["reference"].get(model, {})
            wins.add_row(model, _fmt(value["value"], 4), _fmt(ref_value.get("value"), 4), str(value["comparisons"]))
        console.print(wins)


def register(app: typer.Typer) -> None:
    imports = typer.Typer(help="Import external data into the store.", no_args_is_help=True)
    app.add_typer(imports, name="import")

    @imports.command("judgments")
    def judgments_command(
        path: Annotated[Path, typer.Argument(help="a file or folder in the chosen format")],
        fmt: FormatOption,
        db: DbOption = None,
    ) -> None:
        """Store published pairwise judgments and human labels (re-importing the same data replaces it)."""
        from rich.console import Console

        from assay.store import Store

        store = Store(db)
        try:
            source, rows = import_judgments(store, path, fmt)
        finally:
            store.close()
        raters = Counter((j.rater, j.rater_kind) for j in rows)
        errors = sum(j.error is not None for j in rows)
        Console().print(f"imported {len(rows)} judgments ({errors} judge errors) from {path} as source {source}: "
                        + ", ".join(f"{rater} ({kind}) {n}" for (rater, kind), n in sorted(raters.items())),
                        highlight=False, soft_wrap=True)

    @app.command("agreement")
    def agreement_command(
        judge: JudgeOption = None,
        reference: ReferenceOption = None,
        source: SourceOption = None,
        db: DbOption = None,
        as_json: JsonOption = False,
    ) -> None:
        """Judges against a reference: accuracy per order, in both orders, positional agreement, Cohen's and
        Fleiss' κ, win rates and bias diagnostics, each with a bootstrap CI clustered by item."""
        from assay.api.leaderboards import agreement

        report = agreement(db=db, judge=judge, reference=reference, source=source).to_dict()
        if as_json:
            json_out(report, sort_keys=True)
        else:
            _print_agreement(report)

    @app.command("bias")
    def bias_command(
        judge: JudgeOption = None,
        source: SourceOption = None,
        reference: ReferenceOption = None,
        db: DbOption = None,
        as_json: JsonOption = False,
    ) -> None:
        """Position bias, length bias and self-preference of each judge's pairwise verdicts."""
        from assay.judges.agreement import majority, reference_ratings
        from assay.judges.agreement_report import default_reference
        from assay.judges.bias import diagnose
        from assay.judges.store import pairwise_judgments
        from assay.store import Store

        store = Store(db, read_only=True)
        try:
            judgments = pairwise_judgments(store, source)
        finally:
            store.close()
        if judge is not None and not any(j.rater == judge for j in judgments):
            raise AssayError(f"--judge {judge}: no judgments by that rater; stored raters: "
                             + ", ".join(sorted({j.rater for j in judgments})))
        chosen = [j for j in judgments if (j.rater == judge if judge else j.rater_kind == "judge")]
        if not chosen:
            raise AssayError("no judge judgments selected (pass --judge NAME for a human rater)")
        ref = None
        if reference is not None or any(j.rater_kind in ("human", "label") for j in judgments):
            ref = majority(reference_ratings(judgments, reference or default_reference(judgments)))
        report = diagnose(chosen, ref)
        if as_json:
            json_out(report, sort_keys=True)
            return
        from rich.table import Table

        console = make_console()
        table = Table(title="bias diagnostics (95% CI clustered by item)")
        for column in ("judge", "diagnostic", "value", "count", "95% CI"):
            table.add_column(column, justify="left" if column in ("judge", "diagnostic") else "right")
        for name, entry in report.items():
            table.add_row(name, *_row("first-position win rate", entry["position"]["first_position_win_rate"]))
            table.add_row(name, *_row("longer-output win rate", entry["length"]["longer_output_win_rate"]))
            logistic = entry["length"]["logistic"]
            if "error" in logistic:
                table.add_row(name, "length logit slope", "—", "", logistic["error"])
            else:
                table.add_row(name, "length logit slope per doubling", _fmt(logistic["slope_per_doubling"]),
                              str(logistic["n"]), f"[{_fmt(logistic['ci'][0])}, {_fmt(logistic['ci'][1])}]")
            own = entry["self_preference"]
            if "judge_win_rate" in own:
                table.add_row(name, *_row(f"own family ({own['family']}) win rate", own["judge_win_rate"]))
            if "difference" in own:
                table.add_row(name, *_row("self-preference vs reference", own["difference"]))
        console.print(table)
