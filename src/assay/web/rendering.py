"""Jinja2 environment of the web pages: autoescaping always on, and filters that turn stored values
into text (never markup), so a model output like `<script>` is shown, not run."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup, escape

from assay.display import answer_form, format_metric_value, is_integer_metric

TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"


def fmt_number(value: Any, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "—"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, int) or float(value).is_integer() and abs(value) >= 1:
        return f"{int(value)}"
    if abs(value) >= 1000:
        return f"{value:.4g}"
    return f"{value:.{digits}f}"


def metric_value(row: Any, digits: int = 3) -> str:
    """A metric row's value: counts and token lengths as integers, the rest like `num`."""
    if not isinstance(row, Mapping):
        return fmt_number(row, digits)
    if row.get("value") is None:
        return "—"
    return format_metric_value(row, digits) if is_integer_metric(row) else fmt_number(row["value"], digits)


def sample_answer(value: Any, metadata: Any) -> str:
    """A target or extracted answer in the form of the sample's choices (text and number), if it has any."""
    choices = metadata.get("choices") if isinstance(metadata, Mapping) else None
    return answer_form(value, choices if isinstance(choices, list) else None)


def fmt_ci(low: Any, high: Any) -> str:
    if low is None or high is None:
        return ""
    return f"[{fmt_number(low)}, {fmt_number(high)}]"


def pretty_json(value: Any) -> str:
    # A string: autoescaping makes it safe inside <pre>.
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str)


def compact_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str, sort_keys=True)


def query_url(path: str, **params: Any) -> str:
    kept = {k: v for k, v in params.items() if v not in (None, "")}
    return f"{path}?{urlencode(kept)}" if kept else path


def breakable(name: Any) -> Markup:
    """A task or model name that may wrap after `_`, `:`, `/` or `=` (a <wbr> there), so a narrow column
    header does not force the whole table wider than the screen; every part stays escaped text."""
    text = str(escape(name))
    for mark in ("_", ":", "/", "="):
        text = text.replace(mark, mark + "<wbr>")
    return Markup(text)


def sort_key(value: Any) -> str:
    """data-sort attribute for the client-side sorter: numbers as numbers, missing last."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return ""
    return repr(float(value)) if isinstance(value, (int, float)) else str(value)


_env = Environment(loader=FileSystemLoader(TEMPLATE_DIR), autoescape=True, undefined=StrictUndefined,
                   trim_blocks=True, lstrip_blocks=True)
_env.filters.update(num=fmt_number, json_pretty=pretty_json, json_compact=compact_json, sortkey=sort_key, breakable=breakable,
                    metric_value=metric_value)
_env.globals.update(fmt_ci=fmt_ci, query_url=query_url, sample_answer=sample_answer)


def render(template: str, **context: Any) -> str:
    return _env.get_template(template).render(**context)
