"""`assay adversarial`: rewrite a task's items into harder variants with a generator model, keep those that
flip the target model, and write them as a versioned set (`--task adversarial:FILE` runs it)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    @app.command()
    def adversarial(
        task: Annotated[str, typer.Option("--task", "-t", help="the source task")],
        generator: Annotated[str, typer.Option("--generator", help="model spec that rewrites the items")],
        model: Annotated[str, typer.Option("--model", "-m", help="the target model the variants must flip")],
        output: Annotated[Path, typer.Option("-o", "--output", help="the set file to write (.jsonl, must not exist)")],
        kinds: Annotated[str, typer.Option("--kinds", help="negation,distractor,rename")] = "negation,distractor,rename",
        limit: Annotated[int | None, typer.Option("--limit", min=1, help="first N items of the task")] = None,
        seed: Annotated[int, typer.Option("--seed")] = 1234,
        data_dir: Annotated[Path | None, typer.Option("--data-dir", help="benchmark data (default ../shared/data)")] = None,
    ) -> None:
        """Generate an adversarial set: variants of a task's items that flip the target model."""
        from itertools import islice

        from assay.adversarial import KINDS, generate_variants, write_set
        from assay.data_paths import default_data_dir
        from assay.errors import AssayError
        from assay.models import load_model
        from assay.tasks import TaskContext, get_task

        chosen = [k.strip() for k in kinds.split(",") if k.strip()]
        unknown = [k for k in chosen if k not in KINDS]
        if unknown or not chosen:
            raise AssayError(f"--kinds: expected some of {', '.join(KINDS)}, got {kinds!r}")
        if output.suffix != ".jsonl":
            raise AssayError(f"-o {output}: expected a .jsonl file name")
        if output.exists():
            raise AssayError(f"-o {output}: the file exists; a set is never overwritten (choose a new name)")
        if not output.expanduser().resolve().parent.is_dir():
            raise AssayError(f"-o {output}: folder {output.parent} does not exist")
        if data_dir is not None and not data_dir.is_dir():
            raise AssayError(f"--data-dir: {data_dir} is not a directory")
        source = get_task(task)
        ctx = TaskContext(seed=seed, data_dir=data_dir or default_data_dir())
        samples = list(islice(source.samples(ctx), limit) if limit is not None else source.samples(ctx))
        target = load_model(model)
        writer = target if generator == model else load_model(generator)
        try:
            outcome = generate_variants(source, samples, writer, target, chosen, seed)
        finally:
            target.close()
            if writer is not target:
                writer.close()
        write_set(output, source, outcome, writer, target, chosen, seed, len(samples))
        counts = ", ".join(f"{name} {count}" for name, count in sorted(outcome.counts.items()))
        print(f"{len(outcome.variants)} variants flip {model} (of {len(samples)} items × {len(chosen)} kinds: {counts}); "
              f"wrote {output}; run it with --task adversarial:{output}")
