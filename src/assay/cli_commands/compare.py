"""`assay compare RUN_A RUN_B`: paired comparison of two runs, sample by sample (the engine is
`assay.comparison`, shared with the web); `assay power`: how many samples a comparison needs."""

from __future__ import annotations

import math
from typing import Annotated, Any

import typer

from assay.errors import AssayError


def _fmt(value: float | None, digits: int = 3) -> str:
    return "—" if value is None or not math.isfinite(value) else f"{value:.{digits}f}"


def _fmt_p(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:.2e}" if value < 1e-4 else f"{value:.4f}"


def _print_comparison(result: dict[str, Any]) -> None:
    from rich.table import Table

    from assay.cli_output import make_console

    console = make_console()
    console.print(f"A = {result['run_a']} ({result['model_a']})\nB = {result['run_b']} ({result['model_b']})",
                  highlight=False)
    table = Table(title="paired comparison, B − A")
    for column in ("task", "metric", "n", "A", "B", "B − A", "95% CI", "test", "p", "p Holm", "MDE 80%", "corr"):
        table.add_column(column, justify="left" if column in ("task", "metric", "test") else "right", no_wrap=True)
    for c in result["comparisons"]:
        metric = c["metric"] + {True: " ↑", False: " ↓", None: ""}[c["higher_is_better"]] + (" (primary)" if c["primary"] else "")
        if c.get("error"):
            table.add_row(c["task"], metric, str(c["n"]), "", "", "", "", c["error"], "", "", "", "")
            continue
        table.add_row(c["task"], metric, str(c["n"]), _fmt(c["mean_a"]), _fmt(c["mean_b"]), _fmt(c["diff"]),
                      f"[{_fmt(c['ci_low'])}, {_fmt(c['ci_high'])}]", c["test"], _fmt_p(c["p_value"]),
                      _fmt_p(c["p_holm"]), _fmt(c["mde_80"]), _fmt(c["score_corr"], 2))
    if result["comparisons"]:
        console.print(table)
    else:
        console.print("nothing to compare: no score is shared by both runs on a common sample", highlight=False)
    for counts in result["tasks"]:
        unmatched = counts["samples_a"] + counts["samples_b"] - 2 * counts["shared"]
        console.print(f"{counts['task']}: {counts['shared']} shared samples, {counts['excluded_request_failed']} "
                      f"excluded (request failed in either run), {unmatched} only in one run", highlight=False)
    for note in result["notes"]:
        console.print(note, highlight=False)
    console.print("↑ higher is better, ↓ lower is better (as the task declares). p Holm: adjusted over all rows.\n"
                  "MDE 80%: smaller true differences often go unseen, so a non-significant row is not evidence of\n"
                  "no difference. corr: per-sample correlation of A and B, the --paired-corr for `assay power` when\n"
                  "sizing the next comparison.", highlight=False)


def _warn(messages: list[str]) -> None:
    from assay.cli_output import make_console

    err = make_console(stderr=True)
    for message in messages:
        err.print(f"[yellow]warning:[/yellow] {message} (--allow-mismatch)", highlight=False, soft_wrap=True)


def register(app: typer.Typer) -> None:
    @app.command()
    def compare(
        run_a: Annotated[str, typer.Argument(metavar="RUN_A", help="baseline run id (or unique prefix)")],
        run_b: Annotated[str, typer.Argument(metavar="RUN_B", help="candidate run id (or unique prefix)")],
        db: Annotated[str | None, typer.Option("--db", help="SQLAlchemy URL or SQLite path (default sqlite:///assay.db)")] = None,
        json_output: Annotated[bool, typer.Option("--json", help="machine-readable JSON output")] = False,
        allow_mismatch: Annotated[bool, typer.Option(
            "--allow-mismatch", help="compare even if task specs differ or samples do not overlap")] = False,
    ) -> None:
        """Paired comparison of two runs: B − A per task and score, with CI, test, p (Holm) and MDE."""
        from assay.api.comparing import compare as compare_runs
        from assay.cli_support import json_out

        result = compare_runs(run_a, run_b, db=db, allow_mismatch=allow_mismatch).to_dict()
        _warn(result["warnings"])
        if json_output:
            json_out(result)
            return
        _print_comparison(result)

    @app.command()
    def power(
        baseline: Annotated[float, typer.Option("--baseline", help="accuracy of the baseline model, e.g. 0.6")],
        delta: Annotated[float | None, typer.Option("--delta", help="change to detect, e.g. 0.02")] = None,
        paired_corr: Annotated[float | None, typer.Option(
            "--paired-corr", help="correlation of the two models' per-sample scores (paired design)")] = None,
        alpha: Annotated[float, typer.Option("--alpha", help="two-sided significance level")] = 0.05,
        power_: Annotated[float, typer.Option("--power", help="probability of detecting the change")] = 0.8,
        n: Annotated[int | None, typer.Option("--n", help="instead: the minimum detectable effect with N samples")] = None,
        json_output: Annotated[bool, typer.Option("--json", help="machine-readable JSON output")] = False,
    ) -> None:
        """Samples per model needed to detect a change in accuracy (or, with --n, the smallest detectable change)."""
        from assay.api.comparing import power as power_analysis
        from assay.cli_support import json_out
        from assay.stats.errors import StatsInputError

        try:
            result = power_analysis(baseline, delta=delta, n=n, paired_corr=paired_corr, alpha=alpha, power=power_)
        except StatsInputError as exc:  # the library names its arguments; here the user typed flags
            raise AssayError(f"--{str(exc).replace('_', '-')}") from None
        if json_output:
            json_out(result.to_dict())
            return
        unit = "pairs (both models on the same samples)" if result.design == "paired" else "samples per model"
        setting = (f"{result.design}, alpha {alpha}, power {power_}"
                   + (f", correlation {paired_corr}" if paired_corr is not None else ""))
        if result.delta is not None:
            typer.echo(f"{result.samples_needed} {unit} to detect {baseline} → {baseline + result.delta:g} ({setting})")
        if result.minimum_detectable_effect is not None:
            typer.echo(f"with {n} {unit}: minimum detectable effect {result.minimum_detectable_effect:.4f} "
                       f"above {baseline} ({setting})")
