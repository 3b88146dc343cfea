"""The `assay` command. Thin: parse arguments, call the library, print."""

from __future__ import annotations

import importlib
import pkgutil
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

import typer

from assay.cli_output import usage_error_line
from assay.cli_support import (
    console,
    err_console,
    json_out,
    metrics_table,
    remember_invocation,
    resume_command,
    terminate_as_interrupt,
)
from assay.errors import AssayError, AssayProblems

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="assay: evaluate language models — long context first, an error bar on every number.")

DEFAULT_MODEL = "embedded"
# The main job: a quick long-context suite on the embedded model.
DEFAULT_TASKS = "longctx_quick"  # tasks/longctx/niah.py

MODEL_HELP = "model spec: embedded | hf:PATH | openai:URL#MODEL | llamacpp:PATH | vllm:PATH | scripted:NAME"
MODEL_ARGS_HELP = ("backend options key=value,...: device (cpu, cuda, cuda:N, mps), dtype (float32, bfloat16, "
                   "float16), batch_size, max_context, reuse_prefix (hf/embedded); concurrency, max_retries, timeout, "
                   "backoff_s, max_context (openai); n_ctx, n_threads (llamacpp); dtype, gpu_memory_utilization, "
                   "tensor_parallel_size, max_model_len, enable_prefix_caching (vllm)")
DbOption = Annotated[str | None, typer.Option("--db", help="SQLAlchemy URL or SQLite path (default sqlite:///assay.db)")]
JsonOption = Annotated[bool, typer.Option("--json", help="machine-readable JSON output")]


@app.callback(invoke_without_command=True)
def _root(version: Annotated[bool, typer.Option("--version", help="print the version and exit")] = False,
          verbose: Annotated[bool, typer.Option("--verbose", help="with --version: git commit, Python, key package "
                                                "versions and any package that differs from the lock")] = False) -> None:
    """assay: evaluate language models — long context first, an error bar on every number."""
    if verbose and not version:
        raise AssayError("--verbose: only with --version (assay --version --verbose)")
    if version:
        from assay.version_report import version_lines

        for line in version_lines(verbose):
            typer.echo(line)
        raise typer.Exit()


def _model_options(model: str, model_args: str | None, flags: dict[str, Any]) -> dict[str, Any]:
    """--model-args merged with --concurrency/--max-retries/--timeout (`evaluate` checks them against the backend)."""
    from assay.models.model_args import split_model_args
    from assay.models.registry import backend_options, split_spec

    given: dict[str, Any] = split_model_args(model_args or "")
    for flag, value in flags.items():
        if value is None:
            continue
        key = flag.removeprefix("--").replace("-", "_")
        if key not in backend_options(model):
            raise AssayError(f"{flag}: the {split_spec(model)[0]} backend does not use it (API backends do: openai:)")
        if key in given:
            raise AssayError(f"{flag} and --model-args {key}=: give it once")
        given[key] = value
    return given


@app.command()
def run(
    model: Annotated[str, typer.Option("--model", "-m", help=MODEL_HELP)] = DEFAULT_MODEL,
    task: Annotated[str, typer.Option("--task", "-t", help="task name(s), comma-separated, or a task .yaml")] = DEFAULT_TASKS,
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="at most N samples per task")] = None,
    seed: Annotated[int, typer.Option("--seed")] = 1234,
    db: DbOption = None,
    model_args: Annotated[str | None, typer.Option("--model-args", help=MODEL_ARGS_HELP)] = None,
    concurrency: Annotated[int | None, typer.Option("--concurrency", min=1, help="parallel requests (API backends; "
                                                    "default 8)")] = None,
    data_dir: Annotated[Path | None, typer.Option("--data-dir", help="benchmark data (default ../shared/data)")] = None,
    haystack: Annotated[Path | None, typer.Option("--haystack", help="folder of .txt/.md files used as haystack")] = None,
    max_retries: Annotated[int | None, typer.Option("--max-retries", min=0, help="retries per request (API backends; "
                                                    "default 4)")] = None,
    timeout: Annotated[float | None, typer.Option("--timeout", min=0.1, help="seconds per request (API backends; "
                                                  "default 120)")] = None,
    prompt_formats: Annotated[int | None, typer.Option("--prompt-formats", min=1, help="K prompt formats")] = None,
    repeats: Annotated[int | None, typer.Option("--repeats", min=1, help="each sample N times, sampled decoding")] = None,
    perturb: Annotated[str | None, typer.Option("--perturb", help="pair each sample with perturbed copies: typos,"
                                                "case,whitespace,option_shuffle,distractor,paraphrase")] = None,
    generator: Annotated[str | None, typer.Option("--generator", help="model that writes --perturb paraphrase's "
                                                  "rewrites")] = None,
    chunk_size: Annotated[int | None, typer.Option("--chunk-size", min=1, help="samples per store transaction "
                                                   "(default 256, or 8 x --concurrency for openai:)")] = None,
    no_progress: Annotated[bool, typer.Option("--no-progress")] = False,
    out_dir: Annotated[Path, typer.Option("--out-dir", help="where long-context heatmap PNGs go")] = Path("assay_out"),
    rerun: Annotated[bool, typer.Option("--rerun", help="store a new run even if an identical complete run exists")]
    = False,
    json_output: JsonOption = False,
    executor: Annotated[str, typer.Option("--executor", help="local (default) or ray: spread requests over Ray "
                                          "actors, each holding the model once (docs/ray.md)")] = "local",
    workers: Annotated[int | None, typer.Option("--workers", help="Ray actors (--executor ray; default 2)")] = None,
    ray_address: Annotated[str | None, typer.Option("--ray-address", help="Ray cluster to use (--executor ray; "
                                                    "default RAY_ADDRESS or a new local cluster)")] = None,
) -> None:
    """Run tasks on a model; prints a metrics table and the run id. Ctrl-C keeps what is stored: the same
    command resumes."""
    from assay.api.evaluate import evaluate
    from assay.runner import RunInterrupted
    from assay.store import default_db_url

    model_options = _model_options(model, model_args, {"--concurrency": concurrency, "--max-retries": max_retries,
                                                       "--timeout": timeout})
    say = lambda line: err_console.print(line, highlight=False, markup=False)  # noqa: E731
    try:
        with terminate_as_interrupt():
            result = evaluate(model, task, limit=limit, seed=seed, db=db or default_db_url(), model_args=model_options,
                              data_dir=data_dir, haystack=haystack, prompt_formats=prompt_formats, repeats=repeats,
                              perturb=perturb, generator=generator, chunk_size=chunk_size, executor=executor,
                              workers=workers, ray_address=ray_address, rerun=rerun,
                              progress=not no_progress and not json_output, notify=say)
    except RunInterrupted as exc:
        err_console.print(f"{exc} (status interrupted); resume with: {resume_command()}", highlight=False,
                          markup=False)
        raise typer.Exit(exc.exit_code) from None
    outcome = result.outcome
    assert outcome is not None  # evaluate always says how the run went
    if json_output:
        json_out({"id": result.id, "resumed": outcome.resumed, "reused": outcome.reused, "model": result.model,
                   "tasks": result.tasks, "metrics": outcome.metric_rows, "stats": outcome.stats})
        return
    console.print(metrics_table(outcome.metric_rows, f"run {result.id} — {result.model}"))
    for line in _run_notes(outcome):
        console.print(line)
    from assay.perturb.report import robustness_lines

    for line in robustness_lines(outcome.metric_rows):
        console.print(line, highlight=False, markup=False, soft_wrap=True)
    from assay.tasks.longctx.report import run_report_lines

    # Long-context runs: the length × depth table and the heatmap's path.
    for line in run_report_lines(result.store, result.id, out_dir, include_effective=False):
        console.print(line, highlight=False, markup=False, soft_wrap=True)
    state = " (resumed)" if outcome.resumed else " (identical run, stored before; --rerun to run again)" \
        if outcome.reused else ""
    console.print(f"run id: [bold]{result.id}[/bold]" + state)


def _run_notes(outcome: Any) -> list[str]:
    notes: list[str] = []
    if outcome.reused:
        return notes
    stats = outcome.stats
    notes.append(f"requests: {stats['requests']} ({stats['unique_requests']} unique, "
                 f"{stats['cache_hits']} from cache, {stats['model_requests']} sent to the model)")
    if stats["request_errors"]:
        notes.append(f"[red]{stats['request_errors']} samples failed after retries: stored as errors, "
                     "excluded from the scores[/red]")
    if stats["unparsable"]:
        notes.append(f"[yellow]{stats['unparsable']} outputs were unparsable: counted as incorrect and "
                     "reported as n_unparsable[/yellow]")
    for m in outcome.metric_rows:
        if m["method"] == "task" and m.get("extra", {}).get("note"):
            notes.append(m["extra"]["note"])
    return notes


@app.command()
def show(run_id: Annotated[str, typer.Argument(metavar="RUN")], db: DbOption = None,
         json_output: JsonOption = False) -> None:
    """A run's manifest summary and metrics (mean, CI, n, method)."""
    from assay.api.run import load_run

    stored = load_run(run_id, db=db)
    run = stored.store.get_run(stored.id)
    metrics = stored.store.get_metrics(stored.id)
    if json_output:
        json_out({"id": run["id"], "name": f"{run['model_spec']} · {','.join(run['tasks'])}",
                   "model": run["model_spec"], "tasks": run["tasks"], "status": run["status"],
                   "seed": run["seed"], "created_at": run["created_at"], "manifest": run["manifest"],
                   "samples": stored.store.count_samples(run["id"]), "metrics": metrics})
        return
    console.print(f"run [bold]{run['id']}[/bold]  model {run['model_spec']}  status {run['status']}  "
                  f"seed {run['seed']}  created {str(run['created_at'])[:19]}")
    console.print(metrics_table(metrics, f"metrics of {run['id']}"))


@app.command()
def export(
    run_id: Annotated[str, typer.Argument(metavar="RUN")],
    output: Annotated[Path, typer.Option("-o", "--output", help="output file")],
    fmt: Annotated[str, typer.Option("--format", help="jsonl | csv | parquet")] = "jsonl",
    db: DbOption = None,
) -> None:
    """Export a run's samples (jsonl carries the manifest and metrics too)."""
    from assay.store import Store
    from assay.store.export import export_run

    count = export_run(Store(db, read_only=True), run_id, fmt, output)
    console.print(f"wrote {count} samples to {output}")


def _register_extra_commands() -> None:
    import assay.cli_commands as package

    for module in pkgutil.iter_modules(package.__path__, prefix="assay.cli_commands."):
        importlib.import_module(module.name).register(app)


_register_extra_commands()


def main(argv: list[str] | None = None) -> None:
    """The `assay` entry point: every error, the CLI framework's usage errors included, is one line on
    stderr with exit code 2 (1 for a run stopped by an unreachable backend)."""
    invocation = list(sys.argv[1:] if argv is None else argv)
    remember_invocation(invocation)
    try:
        code = app(args=invocation, prog_name="assay", standalone_mode=False)
    except _framework_errors().UsageError as exc:
        if type(exc).__name__ == "NoArgsIsHelpError":  # bare `assay`: typer has printed the help
            raise SystemExit(0) from None
        _error(usage_error_line(exc), 2)
    except _framework_errors().ClickException as exc:
        _error(" ".join(exc.format_message().split()), exc.exit_code)
    except typer.Abort:
        _error("interrupted", 130)
    except AssayProblems as exc:
        _error_lines(exc.lines, exc.exit_code)
    except AssayError as exc:
        _error(str(exc), exc.exit_code)
    if isinstance(code, int) and code != 0:
        raise SystemExit(code)


def _framework_errors() -> Any:
    """The module of the CLI framework's exception classes (typer vendors click since 0.20)."""
    try:
        from typer._click import exceptions
    except ImportError:
        from click import exceptions
    return exceptions


def _error(message: str, code: int) -> None:
    _error_lines([" ".join(message.splitlines())], code)


def _error_lines(lines: Sequence[str], code: int) -> None:
    from rich.text import Text

    for line in lines:
        err_console.print(Text.assemble(("error:", "red"), " " + " ".join(line.splitlines())), soft_wrap=True)
    raise SystemExit(code) from None


if __name__ == "__main__":
    main()
