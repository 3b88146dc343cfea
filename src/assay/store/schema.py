"""Tables of the results store. SQLAlchemy Core, so the same schema serves SQLite and Postgres."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

runs = Table(
    "runs",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True)),
    # running | complete | interrupted
    Column("status", String(16), nullable=False),
    # hash of (model fingerprint, task specs, seed, limit, ...): an unfinished run with the same key
    # is resumed by re-running the same command.
    Column("config_key", String(64), nullable=False, index=True),
    Column("model_spec", Text, nullable=False),
    Column("tasks", JSON, nullable=False),
    Column("seed", Integer, nullable=False),
    Column("manifest", JSON, nullable=False),
)

samples = Table(
    "samples",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("run_id", String(32), nullable=False),
    Column("task", String(200), nullable=False),
    Column("sample_id", String(200), nullable=False),
    Column("idx", Integer, nullable=False),
    Column("cluster", String(200)),
    Column("prompt", Text),
    Column("target", JSON),
    Column("request_hashes", JSON, nullable=False),
    Column("responses", JSON, nullable=False),
    Column("extracted", Text),
    Column("scores", JSON, nullable=False),
    # why the sample has no valid score: request failed after retries, or output unparsable
    Column("error", Text),
    Column("error_kind", String(32)),
    Column("metadata", JSON, nullable=False),
    UniqueConstraint("run_id", "task", "sample_id", name="uq_sample"),
    Index("ix_samples_run_task_idx", "run_id", "task", "idx"),
)

metrics = Table(
    "metrics",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("run_id", String(32), nullable=False, index=True),
    Column("task", String(200), nullable=False),
    Column("name", String(200), nullable=False),
    Column("value", Float),
    Column("ci_low", Float),
    Column("ci_high", Float),
    Column("stderr", Float),
    Column("n", Integer, nullable=False),
    Column("method", String(64), nullable=False),
    Column("extra", JSON, nullable=False),
    # The metric's declaration by its task (assay.metric_specs): direction (NULL: descriptive), the task's
    # primary figure, scale, aggregation. NULL/false on rows stored before metrics were declared.
    Column("higher_is_better", Boolean),
    Column("primary", Boolean),
    Column("scale", String(32)),
    Column("aggregation", String(16)),
    UniqueConstraint("run_id", "task", "name", name="uq_metric"),
)

# One rater's verdict on one item: a judge model's (from `assay judge` / `assay battle`), a person's (the
# labelling page) or an imported one (LLMBar, PRD, AlpacaEval, JSONL). Built from and read into
# `assay.judges.types.Judgment`; agreement, bias diagnostics and arena ratings are computed from these rows.
judgments = Table(
    "judgments",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    # Where the row came from: "run:<judge run id>", "import:<format>:<file sha256 prefix>", "label:<page>".
    Column("source", String(200), nullable=False),
    Column("kind", String(16), nullable=False),  # pairwise | pointwise
    Column("task", String(200)),
    # The item judged (a question, a prompt): the cluster of every interval over judgments.
    Column("item", String(200), nullable=False),
    Column("prompt", Text),
    Column("model_a", String(200), nullable=False),
    Column("model_b", String(200)),
    Column("output_a", Text),
    Column("output_b", Text),
    Column("reference", Text),
    Column("rater", String(200), nullable=False),
    Column("rater_kind", String(16), nullable=False),  # judge | human | label (a gold / expert label)
    # Presentation order: "ab" (A shown first), "ba" (B shown first), NULL when not recorded.
    Column("order", String(2)),
    # In canonical terms (A = model_a), whatever the order shown: a | b | tie; NULL with an error or pointwise.
    Column("verdict", String(8)),
    # A continuous preference for B over A in 0..1 (AlpacaEval's (preference - 1)); NULL when discrete only.
    Column("preference", Float),
    Column("score", Float),  # pointwise rubric score
    Column("error", Text),  # the judge's output could not be read: counted, never scored
    Column("reasoning", Text),
    Column("metadata", JSON, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("source", "item", "model_a", "model_b", "rater", "order", name="uq_judgment"),
    Index("ix_judgments_rater", "rater"),
)

cache = Table(
    "request_cache",
    metadata,
    # sha256(model fingerprint, request)
    Column("key", String(64), primary_key=True),
    Column("response", JSON, nullable=False),
)

# Samples per (run, task), kept by database triggers (assay.store.summary) so the run list, the run page
# and the compare page never count a run's samples. Rebuilt from `samples` when the triggers are created.
sample_counts = Table(
    "sample_counts",
    metadata,
    Column("run_id", String(32), primary_key=True),
    Column("task", String(200), primary_key=True),
    Column("n", Integer, nullable=False),
)
