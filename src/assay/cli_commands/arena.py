"""`assay arena`: the leaderboard from all stored battles (judges and human votes) with intervals, rank
intervals, separability, style control, the null-model canary and the judges' agreement.
`assay winrate --baseline MODEL`: AlpacaEval-style win rates against a baseline. docs/arena.md."""

from __future__ import annotations

import math
from typing import Annotated, Any

import typer

DbOption = Annotated[str | None, typer.Option("--db", help="SQLAlchemy URL or SQLite path (default sqlite:///assay.db)")]
JsonOption = Annotated[bool, typer.Option("--json", help="machine-readable JSON output")]
TaskOption = Annotated[str | None, typer.Option("--task", help="only battles of this task")]
SourceOption = Annotated[list[str] | None, typer.Option(
    "--source", help="only judgments of this source (repeatable; `assay agreement --list-sources` shows them)")]
NullOption = Annotated[list[str] | None, typer.Option(
    "--null-model", help="an entrant to treat as a null model (repeatable); scripted:constant entrants and "
                         "entrants with one output for every prompt count without it")]
ThresholdOption = Annotated[float, typer.Option(
    "--canary-threshold", help="flag the leaderboard as gameable when a null model wins more than this share")]


def _fmt(value: Any, digits: int = 1) -> str:
    return "—" if value is None or (isinstance(value, float) and not math.isfinite(value)) else f"{value:.{digits}f}"


def _console() -> Any:
    from assay.cli_output import make_console

    return make_console()


def _print_canary(console: Any, canary: dict[str, Any]) -> None:
    style = {"gameable": "bold red", "passed": "green", "absent": "yellow"}[canary["status"]]
    console.print(f"[{style}]{canary['message']}[/{style}]", highlight=False)


def _print_arena(result: dict[str, Any]) -> None:
    from rich.table import Table

    console = _console()
    pct = int(round(result["confidence"] * 100))
    table = Table(title=f"arena: {result['n_battles']} battles on {result['n_prompts']} prompts "
                        f"({', '.join(f'{n} {k}' for k, n in result['raters'].items())}); "
                        f"{'Bradley–Terry' if result['method'] == 'bt' else 'Elo'}, {result['rounds']} bootstrap rounds")
    style = result.get("style_control", {})
    style_by_model = {r["model"]: r for r in style.get("ratings", [])}
    for column in ("rank", "model", "rating", f"{pct}% CI", "battles", "win share", "style-controlled", f"{pct}% CI "):
        table.add_column(column, justify="left" if column == "model" else "right", no_wrap=True)
    for row in result["ratings"]:
        rank = str(row["rank_low"]) if row["rank_low"] == row["rank_high"] else f"{row['rank_low']}–{row['rank_high']}"
        sc = style_by_model.get(row["model"])
        table.add_row(rank, row["model"], _fmt(row["rating"]), f"[{_fmt(row['ci_low'])}, {_fmt(row['ci_high'])}]",
                      str(row["battles"]), _fmt(100 * row["win_share"]) + "%", _fmt(sc["rating"]) if sc else "—",
                      f"[{_fmt(sc['ci_low'])}, {_fmt(sc['ci_high'])}]" if sc else "")
    console.print(table)
    sep = result["separability"]
    console.print(f"separability: {_fmt(100 * sep['separability'] if sep['separability'] is not None else None)}% "
                  f"({sep['pairs'] - sep['overlapping']} of {sep['pairs']} pairs of intervals do not overlap)",
                  highlight=False)
    if "error" in style:
        console.print(f"style control: not available ({style['error']})", highlight=False)
    elif style:
        coefs = ", ".join(f"{k} {v['coef']:+.2f}±{1.96 * v['se']:.2f}" for k, v in style["coefficients"].items())
        console.print(f"style control ({style['n_battles']} battles with both outputs): coefficients per RMS of the "
                      f"feature difference: {coefs}", highlight=False)
    if result["tie_parameter"] is not None:
        console.print(f"Davidson tie parameter ν = {result['tie_parameter']:.3f}", highlight=False)
    if result["skipped"]:
        console.print("not rated: " + ", ".join(f"{n} {k}" for k, n in result["skipped"].items()), highlight=False)
    for note in result["notes"]:
        console.print(f"note: {note}", highlight=False)
    _print_canary(console, result["canary"])
    console.print(result["agreement"]["message"], highlight=False)


def _print_winrate(result: dict[str, Any]) -> None:
    from rich.table import Table

    console = _console()
    table = Table(title=f"win rate against {result['baseline']}")
    columns = ("model", "rater", "n", "win rate", "± se", "W/L/D", "discrete", "avg length", "LC win rate", "± se ",
               "errors")
    for column in columns:
        table.add_column(column, justify="left" if column in ("model", "rater") else "right", no_wrap=True)
    for r in result["rows"]:
        table.add_row(r["model"], r["rater"], str(r["n_total"]), _fmt(r["win_rate"], 2), _fmt(r["standard_error"], 2),
                      f"{r['n_wins']}/{r['n_wins_base']}/{r['n_draws']}", _fmt(r["discrete_win_rate"], 2),
                      _fmt(r["avg_length"], 0), _fmt(r["length_controlled_win_rate"], 2),
                      _fmt(r["lc_standard_error"], 2), str(r["n_errors"]))
    console.print(table)
    for r in result["rows"]:
        if r["lc_error"]:
            console.print(f"{r['model']} ({r['rater']}): no length-controlled win rate: {r['lc_error']}", highlight=False)
    console.print("LC: AlpacaEval 2's length GLM without its instruction-difficulty term (docs/arena.md)",
                  highlight=False)
    _print_canary(console, result["canary"])


def register(app: typer.Typer) -> None:
    @app.command()
    def arena(
        db: DbOption = None,
        task: TaskOption = None,
        source: SourceOption = None,
        method: Annotated[str, typer.Option("--method", help="bt (Bradley–Terry) or elo")] = "bt",
        ties: Annotated[str, typer.Option("--ties", help="half (a tie is half a win) or davidson")] = "half",
        rounds: Annotated[int, typer.Option("--rounds", help="bootstrap rounds (prompts resampled)")] = 1000,
        seed: Annotated[int, typer.Option("--seed", help="bootstrap seed")] = 0,
        null_model: NullOption = None,
        canary_threshold: ThresholdOption = 0.10,
        json_output: JsonOption = False,
    ) -> None:
        """Leaderboard from all stored battles: ratings with CIs, rank intervals, separability, style
        control, the null-model canary and the judges' agreement."""
        from assay.api.leaderboards import arena as leaderboard
        from assay.cli_support import json_out

        result = leaderboard(db=db, task=task, source=source, method=method, ties=ties,  # type: ignore[arg-type]
                             rounds=rounds, seed=seed, null_models=null_model or [],
                             canary_threshold=canary_threshold).to_dict()
        if json_output:
            json_out(result)
            return
        _print_arena(result)

    @app.command()
    def winrate(
        baseline: Annotated[str, typer.Option("--baseline", help="the model every other model is compared with")],
        db: DbOption = None,
        task: TaskOption = None,
        source: SourceOption = None,
        null_model: NullOption = None,
        canary_threshold: ThresholdOption = 0.10,
        json_output: JsonOption = False,
    ) -> None:
        """Win rates against a baseline (AlpacaEval's figures, length-controlled too) and the canary."""
        from assay.api.leaderboards import winrate as winrates
        from assay.cli_support import json_out

        result = winrates(baseline, db=db, task=task, source=source, null_models=null_model or [],
                          canary_threshold=canary_threshold).to_dict()
        if json_output:
            json_out(result)
            return
        _print_winrate(result)
