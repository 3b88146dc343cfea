"""`assay meta-eval`: how well metrics agree with human scores (assay/meta_eval.py)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

DbOption = Annotated[str | None, typer.Option("--db", help="SQLAlchemy URL or SQLite path (default sqlite:///assay.db)")]


def _metric_sources(scores: list[Path], runs: list[str], db: str | None) -> dict[str, dict[str, float]]:
    from assay.errors import AssayError
    from assay.meta_eval import read_metric_scores, scores_from_run

    out: dict[str, dict[str, float]] = {}
    for path in scores:
        if path.stem in out:
            raise AssayError(f"--scores {path}: a second metric named {path.stem!r} (file names name the metrics)")
        out[path.stem] = read_metric_scores(path)
    if runs:
        from assay.store import Store

        store = Store(db, read_only=True)
        try:
            for spec in runs:
                run_id, sep, score_name = spec.partition(":")
                if not sep or not run_id or not score_name:
                    raise AssayError(f"--run {spec}: expected RUN:SCORE, e.g. --run 1a2b3c:faithfulness")
                out[spec] = scores_from_run(store, run_id, score_name)
        finally:
            store.close()
    return out


def _cell(entry: dict[str, Any] | None) -> str:
    if not entry or entry.get("value") is None:
        return "—"
    ci = entry.get("ci")
    return f"{entry['value']:.3f}" + (f" [{ci[0]:.3f}, {ci[1]:.3f}]" if ci else "")


def register(app: typer.Typer) -> None:
    @app.command("meta-eval")
    def meta_eval_command(
        human: Annotated[Path | None, typer.Option("--human", help="JSONL {id, score, system?, cluster?, subset?} of "
                                                   "human scores (default: FRANK's Factuality from --data-dir)")] = None,
        scores: Annotated[list[Path] | None, typer.Option("--scores", help="JSONL {id, score} of a metric, named by "
                                                          "the file's stem (repeatable)")] = None,
        run: Annotated[list[str] | None, typer.Option("--run", help="RUN:SCORE, a per-sample score of a stored run, "
                                                      "by sample id (repeatable)")] = None,
        baselines: Annotated[bool, typer.Option("--baselines/--no-baselines", help="FRANK's baseline metrics (default "
                                                "on with FRANK)")] = True,
        split: Annotated[str | None, typer.Option("--split", help="FRANK split: test or valid (default both)")] = None,
        data_dir: Annotated[Path | None, typer.Option("--data-dir", help="benchmark data (default ../shared/data)")]
        = None,
        resamples: Annotated[int, typer.Option("--resamples", min=0, help="bootstrap resamples (0: no CIs)")] = 1000,
        seed: Annotated[int, typer.Option("--seed", help="bootstrap seed")] = 0,
        db: DbOption = None,
        json_output: Annotated[bool, typer.Option("--json", help="machine-readable JSON output")] = False,
    ) -> None:
        """Pearson, Spearman and Kendall correlations of each metric with human scores, and the partial
        correlations controlling for the system, each with a 95% bootstrap CI over source documents."""
        from assay.data_paths import default_data_dir
        from assay.errors import AssayError
        from assay.meta_eval import load_frank, meta_eval, meta_eval_rows, read_human
        from assay.progress import RunProgress

        if split not in (None, "test", "valid"):
            raise AssayError(f"--split {split}: expected test or valid")
        metrics = _metric_sources(scores or [], run or [], db)
        if human is None:
            human_scores, frank_metrics = load_frank(data_dir if data_dir is not None else default_data_dir(), split)
            metrics = {**(frank_metrics if baselines else {}), **metrics}
        else:
            if split is not None:
                raise AssayError("--split: applies to FRANK only, not to --human files")
            human_scores = read_human(human)
        if not metrics:
            raise AssayError("meta-eval: no metric to evaluate; give --scores FILE or --run RUN:SCORE")
        with RunProgress() as progress:  # on stderr: a bar on a terminal, a line now and then in a log
            progress.start_task("meta-eval", meta_eval_rows(human_scores, metrics), unit="metric rows")
            rows = meta_eval(human_scores, metrics, n_resamples=resamples, seed=seed, on_row=lambda: progress.advance(1))
        if json_output:
            sys.stdout.write(json.dumps({"human": human_scores.source, "resamples": resamples, "seed": seed,
                                         "rows": rows}, indent=2) + "\n")
            return
        from rich.table import Table

        from assay.cli_support import console

        table = Table(title=f"agreement with {human_scores.source} (95% bootstrap CI over documents, {resamples} "
                            "resamples)")
        for column in ("metric", "subset", "n", "Pearson", "Spearman", "Kendall", "partial Pearson (system)",
                       "partial Spearman (system)"):
            table.add_column(column, justify="left" if column in ("metric", "subset") else "right")
        for row in rows:
            table.add_row(row["metric"], row["subset"], str(row["n"]),
                          *(_cell(row.get(s)) for s in ("pearson", "spearman", "kendall", "partial_pearson",
                                                        "partial_spearman")))
        console.print(table)
        for row in rows:
            if row["subset"] == "all" and (row["human_without_metric"] or row["metric_ids_unmatched"]):
                console.print(f"{row['metric']}: {row['human_without_metric']} human-scored items without a metric score, "
                              f"{row['metric_ids_unmatched']} metric ids without a human score", highlight=False,
                              markup=False)
