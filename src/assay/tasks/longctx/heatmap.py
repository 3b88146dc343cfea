"""The length×depth heatmap of a long-context run: one typed object, built here from stored sample rows
and stored (its `to_extra()` dump) in the `extra` of the task's `heatmap` metric row.

Every consumer — `assay run`'s table and PNG, `assay heatmap`, the HTML report, the web run, model and
task pages — reads it back with `Heatmap.from_extra` and draws it with the one renderer in
`assay.tasks.longctx.plots`. Orientation, as in RULER's tables: rows are context lengths (shortest
first), columns are needle depths in percent of the document (0 = start), with `None` — shown as
"spread" — for tasks that place several needles themselves (multi-needle, variable tracking).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

SPREAD_LABEL = "spread"


def depth_label(depth: float | None) -> str:
    """A depth column's label: percent of the document, or "spread" for self-placed needles."""
    return SPREAD_LABEL if depth is None else f"{depth:g}%"


def length_label(length: int) -> str:
    """A length row's label in tokens (4096 → "4k", 1000 → "1000")."""
    return f"{length // 1024}k" if length >= 1024 and length % 1024 == 0 else str(length)


class Heatmap(BaseModel):
    """Mean per-sample score per (context length, needle depth) cell; `None` where a cell has no scored
    sample (every request in it failed)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    metric: str = "score"
    scale: Literal["0..1"] = "0..1"
    lengths: list[int] = Field(min_length=1, description="target context lengths in tokens, increasing")
    depths: list[float | None] = Field(min_length=1, description="needle depths in percent; None = spread, last")
    matrix: list[list[float | None]] = Field(description="matrix[length index][depth index]: mean score in 0..1")
    counts: list[list[int]] = Field(description="counts[length index][depth index]: scored samples in the cell")

    @model_validator(mode="after")
    def _consistent(self) -> Heatmap:
        if any(length <= 0 for length in self.lengths) or self.lengths != sorted(set(self.lengths)):
            raise ValueError(f"lengths must be positive and increasing, got {self.lengths}")
        placed = [d for d in self.depths if d is not None]
        if placed != sorted(set(placed)) or any(not 0.0 <= d <= 100.0 for d in placed):
            raise ValueError(f"depths must be distinct percentages in 0..100, increasing, got {self.depths}")
        if None in self.depths and self.depths.index(None) != len(self.depths) - 1:
            raise ValueError("depths may hold one None (spread), as the last column")
        shape = f"{len(self.lengths)} lengths × {len(self.depths)} depths"
        for name, grid in (("matrix", self.matrix), ("counts", self.counts)):
            if len(grid) != len(self.lengths) or any(len(row) != len(self.depths) for row in grid):
                raise ValueError(f"{name} must be {shape} (rows = lengths, columns = depths)")
        for row, counts in zip(self.matrix, self.counts, strict=True):
            for value, count in zip(row, counts, strict=True):
                if count < 0:
                    raise ValueError(f"counts must be ≥ 0, got {count}")
                if (value is None) != (count == 0):
                    raise ValueError("a cell has a mean exactly when it has samples (count > 0)")
                if value is not None and not (math.isfinite(value) and 0.0 <= value <= 1.0):
                    raise ValueError(f"matrix values must be in 0..1, got {value}")
        return self

    @classmethod
    def from_cells(cls, cells: Mapping[tuple[int, float | None], Sequence[float]], metric: str = "score") -> Heatmap:
        """From per-cell scores keyed by (length, depth); a cell with no scores, or missing, stays empty."""
        lengths = sorted({length for length, _ in cells})
        placed = sorted({depth for _, depth in cells if depth is not None})
        depths: list[float | None] = [float(d) for d in placed]
        if any(depth is None for _, depth in cells):
            depths.append(None)
        values = {key: [float(v) for v in scores] for key, scores in cells.items()}
        matrix = [[(sum(v) / len(v)) if (v := values.get((length, depth))) else None for depth in depths]
                  for length in lengths]
        counts = [[len(values.get((length, depth), ())) for depth in depths] for length in lengths]
        return cls(metric=metric, lengths=lengths, depths=depths, matrix=matrix, counts=counts)

    @classmethod
    def from_extra(cls, extra: Any) -> Heatmap:
        """Validate a stored `extra`; raises ValueError with a one-line reason naming the field."""
        try:
            return cls.model_validate(extra if extra is not None else {})
        except ValidationError as exc:
            first = exc.errors()[0]
            message = str(first["msg"]).removeprefix("Value error, ")
            where = ".".join(str(part) for part in first["loc"])
            raise ValueError(f"{where}: {message}" if where else message) from None

    def to_extra(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    def length_labels(self) -> list[str]:
        return [length_label(length) for length in self.lengths]

    def depth_labels(self) -> list[str]:
        return [depth_label(depth) for depth in self.depths]

    def describe(self) -> str:
        """One line for alt text and aria labels, naming the orientation and the tick labels in order."""
        return (f"heatmap of {self.metric}: rows = context length ({', '.join(self.length_labels())} tokens), "
                f"columns = needle depth ({', '.join(self.depth_labels())})")

    def table(self) -> list[str]:
        """The heatmap as text: one row per length, one column per depth, scores 0..100 (n samples)."""
        header = "length  " + "  ".join(f"{label:>10}" for label in self.depth_labels())
        rows = [header]
        for length, values, counts in zip(self.lengths, self.matrix, self.counts, strict=True):
            cells = ["—" if v is None else f"{100.0 * v:.0f} (n={n})" for v, n in zip(values, counts, strict=True)]
            rows.append(f"{length:>6}  " + "  ".join(f"{c:>10}" for c in cells))
        return rows


def _grid_cell(row: Mapping[str, Any]) -> tuple[int, float | None] | None:
    meta = row.get("metadata") or {}
    if not meta.get("in_heatmap") or meta.get("target_length") is None:
        return None
    depth = meta.get("depth_percent")
    return int(meta["target_length"]), None if depth is None else float(depth)


def heatmap_samples(rows: Sequence[Mapping[str, Any]], metric: str = "score") -> Iterator[tuple[int, float | None, float, Any]]:
    """(length, depth percent or None, score, cluster) of each scored sample row placed on the grid
    (metadata `in_heatmap`, `target_length`, `depth_percent`; failed requests carry no score)."""
    for row in rows:
        cell, score = _grid_cell(row), (row.get("scores") or {}).get(metric)
        if cell is not None and score is not None:
            yield cell[0], cell[1], float(score), row.get("cluster")


def build_heatmap(rows: Sequence[Mapping[str, Any]], metric: str = "score") -> Heatmap | None:
    """The heatmap of stored sample rows, or None when no row is on the grid. A cell whose samples all
    failed (no score) stays on the grid, empty, so a failure is seen rather than the row or column dropped."""
    cells: dict[tuple[int, float | None], list[float]] = defaultdict(list)
    for row in rows:
        if (cell := _grid_cell(row)) is not None:
            cells.setdefault(cell, [])
    for length, depth, score, _ in heatmap_samples(rows, metric):
        cells[(length, depth)].append(score)
    return Heatmap.from_cells(cells, metric) if cells else None
