"""The Store's contract on both backends (SQLite and a real PostgreSQL server): what the web reads is
what the runner wrote, with JSON, datetimes, ordering, caching, resume and deletion intact."""

from __future__ import annotations

from assay.store import Store
from assay.web import queries


def _sample(task: str, idx: int) -> dict:
    return {"task": task, "sample_id": f"{task}-{idx}", "idx": idx, "cluster": "doc1" if idx < 2 else None,
            "prompt": f"prompt {idx} ünïcödé", "target": {"answer": idx}, "request_hashes": [f"h{idx}"],
            "responses": [{"text": f"response {idx}", "error": None}], "extracted": str(idx),
            "scores": {"exact_match": float(idx % 2)}, "error": None, "error_kind": None, "metadata": {"length": 128 * idx}}


def test_store_round_trip(db_url: str) -> None:
    store = Store(db_url)
    try:
        store.create_run("r1", "key1", "scripted:echo", ["t_b", "t_a"], 7, {"seed": 7, "nested": {"x": [1, 2]}})
        assert store.find_unfinished_run("key1") == "r1"
        # Written out of order, in two chunks, with cache rows; read back in (task, idx) order.
        store.write_chunk("r1", [_sample("t_b", 1), _sample("t_a", 2)], {"c1": {"text": "a"}})
        store.write_chunk("r1", [_sample("t_a", 0), _sample("t_b", 0), _sample("t_a", 1)],
                          {"c1": {"text": "a"}, "c2": {"text": "b"}})
        rows = list(store.iter_samples("r1", batch_size=2))
        assert [(r["task"], r["idx"]) for r in rows] == [("t_a", 0), ("t_a", 1), ("t_a", 2), ("t_b", 0), ("t_b", 1)]
        assert rows[0]["target"] == {"answer": 0} and rows[0]["prompt"] == "prompt 0 ünïcödé"
        assert store.count_samples("r1") == 5 and store.count_samples("r1", "t_b") == 2
        assert store.stored_sample_ids("r1", "t_a") == {"t_a-0", "t_a-1", "t_a-2"}
        assert store.sample_tasks("r1") == ["t_a", "t_b"]
        assert store.cache_get_many(["c1", "c2", "missing"]) == {"c1": {"text": "a"}, "c2": {"text": "b"}}
        store.replace_metrics("r1", [{"task": "t_a", "name": "exact_match", "value": 1 / 3, "ci_low": 0.1, "ci_high": 0.8,
                                      "stderr": 0.2, "n": 3, "method": "wilson", "extra": {"bins": [1, 2]},
                                          "higher_is_better": True, "primary": True, "scale": "0..1",
                                          "aggregation": "mean"}])
        store.set_run_status("r1", "complete")
        run = store.get_run("r1")
        assert run["status"] == "complete" and run["finished_at"] is not None and run["manifest"]["nested"] == {"x": [1, 2]}
        assert store.find_unfinished_run("key1") is None
        assert store.get_metrics("r1")[0]["extra"] == {"bins": [1, 2]}

        # The web's own reads over the same rows.
        assert queries.find_run(store.engine, "r") is not None and queries.find_run(store.engine, "%") is None
        assert queries.run_tasks(store.engine, "r1") == [{"task": "t_a", "n": 3}, {"task": "t_b", "n": 2}]
        assert queries.primary_metric_rows(store.engine)[0]["metric"] == "exact_match"
        page = queries.sample_page(store.engine, "r1", None, "RESPONSE 2", per_page=10)
        assert page.total == 1 and page.rows[0]["sample_id"] == "t_a-2"
        assert queries.sample_page(store.engine, "r1", None, "ünïcödé", per_page=2).total == 5

        store.delete_run("r1")
        assert store.count_samples("r1") == 0 and store.get_metrics("r1") == [] and store.list_runs() == []
    finally:
        store.close()
