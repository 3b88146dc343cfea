"""`assay contamination`: n-gram / MinHash overlap of a task's items with a corpus folder, and Min-K% /
Min-K%++ membership scores with a model (AUROC with a bootstrap CI when labels are given)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer


def _samples(task: str, data_dir: Path | None, seed: int, limit: int | None) -> list[Any]:
    from itertools import islice

    from assay.data_paths import default_data_dir
    from assay.tasks import TaskContext, get_task

    samples = get_task(task).samples(TaskContext(seed=seed, data_dir=data_dir or default_data_dir()))
    return list(islice(samples, limit) if limit is not None else samples)


def _print_overlap(report: dict[str, Any]) -> None:
    rate = report["contaminated_rate"]
    print(f"{report['method']} overlap ({'word ' + str(report['ngram']) + '-grams'}): {report['n_contaminated']} of "
          f"{report['n_items']} items contaminated ({'—' if rate is None else f'{100 * rate:.1f}%'}); "
          f"{report['n_documents']} documents, {report['n_words']} words, {report['seconds']:.1f} s")
    for item in report["contaminated"]:
        print(f"  item {item['item_id']}: {item['matched_ngrams']}/{item['n_ngrams']} n-grams in "
              f"{item['n_documents']} document(s): {', '.join(item['documents'])}")
    if report["unchecked"]:
        print(f"  {len(report['unchecked'])} item(s) with no words, not checked: {', '.join(report['unchecked'][:10])}")


def _print_membership(report: dict[str, Any]) -> None:
    print(f"membership scores with {report['model']} (k = {report['k_percent']:g}%): {report['n_scored']} texts scored, "
          f"{report['n_failed']} failed")
    for name, auc in report["auroc"].items():
        print(f"  {name}: AUROC {auc['auroc']:.3f} [{auc['ci_low']:.3f}, {auc['ci_high']:.3f}] "
              f"({auc['n_members']} members, {auc['n_nonmembers']} non-members; {auc['method']})")
    if not report["auroc"]:
        print("  no labels given: per-item scores only (--json for them)")


def _print_order(report: dict[str, Any]) -> None:
    print(f"  {report['kind']}-order test: canonical − shuffled log-likelihood {report['mean_difference_nats']:+.3f} "
          f"nats [{report['ci_low']:+.3f}, {report['ci_high']:+.3f}] over {report['n']} {report['unit']}s "
          f"({report['permutations']} orders each), p = {report['p_value']:.3g} (one-sided)")


def register(app: typer.Typer) -> None:
    @app.command()
    def contamination(
        task: Annotated[str | None, typer.Option("--task", "-t", help="the task whose items are checked")] = None,
        corpus: Annotated[Path | None, typer.Option("--corpus", help="folder of .txt/.md/.jsonl documents")] = None,
        method: Annotated[str, typer.Option("--method", help="ngram (exact 13-grams) or minhash (near-duplicates)")] = "ngram",
        ngram: Annotated[int, typer.Option("--ngram", min=1, help="n for --method ngram")] = 13,
        threshold: Annotated[float | None, typer.Option("--threshold", help="Jaccard threshold, --method minhash "
                                                        "(default 0.7)")] = None,
        model: Annotated[str | None, typer.Option("--model", "-m", help="score membership (Min-K%, Min-K%++)")] = None,
        texts: Annotated[Path | None, typer.Option("--texts", help="JSONL {id, text, label} to score instead of "
                                                   "a task's items")] = None,
        labels: Annotated[Path | None, typer.Option("--labels", help="JSON {item id: 1 member / 0 not}")] = None,
        k: Annotated[float, typer.Option("--k", help="Min-K%: percent of least likely tokens")] = 20.0,
        order: Annotated[str | None, typer.Option("--order", help="examples,options: order sensitivity with --model "
                                                  "(a memorisation signal)")] = None,
        permutations: Annotated[int, typer.Option("--permutations", min=1, help="shuffled orders per shard/item")] = 10,
        shard_size: Annotated[int, typer.Option("--shard-size", min=2, help="items per shard, --order examples")] = 5,
        limit: Annotated[int | None, typer.Option("--limit", min=1, help="first N items of the task")] = None,
        seed: Annotated[int, typer.Option("--seed")] = 1234,
        data_dir: Annotated[Path | None, typer.Option("--data-dir", help="benchmark data (default ../shared/data)")] = None,
        as_json: Annotated[bool, typer.Option("--json", help="print the full report as JSON")] = False,
    ) -> None:
        """Check a task for contamination: item overlap with a corpus, membership scores with a model."""
        from assay.errors import AssayError

        if task is None and texts is None:
            raise AssayError("--task or --texts: name what to check")
        if task is not None and texts is not None:
            raise AssayError("--texts replaces --task's items: give one of them")
        if corpus is None and model is None:
            raise AssayError("--corpus or --model: nothing to do without a corpus (overlap) or a model (membership)")
        if method not in ("ngram", "minhash"):
            raise AssayError(f"--method: expected ngram or minhash, got {method!r}")
        if corpus is None and (method != "ngram" or threshold is not None or ngram != 13):
            raise AssayError("--method/--ngram/--threshold: only used with --corpus")
        if threshold is not None and method != "minhash":
            raise AssayError("--threshold: only used with --method minhash")
        if method == "minhash" and ngram != 13:
            raise AssayError("--ngram: only used with --method ngram (minhash uses word 5-gram shingles)")
        if model is None and (labels is not None or k != 20.0 or order is not None):
            raise AssayError("--labels/--k/--order: only used with --model")
        orders = [o.strip() for o in order.split(",") if o.strip()] if order else []
        bad = [o for o in orders if o not in ("examples", "options")]
        if bad or (order is not None and not orders):
            raise AssayError(f"--order: expected examples and/or options, got {order!r}")
        if "options" in orders and texts is not None:
            raise AssayError("--order options: needs a --task with multiple-choice items, not --texts")
        if not orders and (permutations != 10 or shard_size != 5):
            raise AssayError("--permutations/--shard-size: only used with --order")
        if labels is not None and texts is not None:
            raise AssayError("--labels: --texts carries its labels in its lines")
        if data_dir is not None and not data_dir.is_dir():
            raise AssayError(f"--data-dir: {data_dir} is not a directory")
        report: dict[str, Any] = {"task": task, "texts": str(texts) if texts else None}
        samples: list[Any] = []
        if texts is not None:
            from assay.contamination.membership_run import read_labelled_texts

            labelled = read_labelled_texts(texts)
            items = [x.item for x in labelled]
        else:
            from assay.contamination.items import Item, item_text

            assert task is not None
            samples = _samples(task, data_dir, seed, limit)
            items = [Item(s.id, item_text(s)) for s in samples]
            labelled = None
        if corpus is not None:
            from assay.contamination.corpus import corpus_files, iter_documents

            corpus_files(corpus)  # a bad folder fails before any work
            if method == "ngram":
                from assay.contamination.ngrams import scan_overlap

                overlap = scan_overlap(items, iter_documents(corpus), n=ngram)
            else:
                from assay.contamination.minhash import scan_minhash

                overlap = scan_minhash(items, iter_documents(corpus), threshold if threshold is not None else 0.7)
            report["overlap"] = overlap.to_dict()
        if model is not None:
            from assay.contamination.membership_run import LabelledItem, membership_scores, read_labels
            from assay.models import load_model

            if labelled is None:
                labelled = read_labels(labels, items) if labels is not None else [LabelledItem(i, None) for i in items]
            loaded = load_model(model)
            try:
                report["membership"] = membership_scores(loaded, labelled, k)
                from assay.contamination.order import example_order_test, option_order_test

                report["membership"]["order"] = [
                    example_order_test(loaded, items, shard_size, permutations, seed) if kind == "examples"
                    else option_order_test(loaded, samples, permutations, seed) for kind in orders]
            finally:
                loaded.close()
        if as_json:
            print(json.dumps(report, indent=2))
            return
        if "overlap" in report:
            _print_overlap(report["overlap"])
        if "membership" in report:
            _print_membership(report["membership"])
            for entry in report["membership"]["order"]:
                _print_order(entry)
