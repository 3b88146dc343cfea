"""`demo_task`: capitals of countries, generated answer, exact match (entry point group `assay.tasks`), written
with the public API only (`assay.task`, `assay.generate`)."""

from __future__ import annotations

import assay

CAPITALS = {"France": "Paris", "Japan": "Tokyo", "Kenya": "Nairobi", "Peru": "Lima", "Canada": "Ottawa"}


@assay.task(name="demo_task")
def capitals_task(variant: str | None = None) -> assay.Task:
    """capitals of five countries, generated answer, exact match (an example plugin task)"""
    return assay.generate(dataset=[{"country": country, "capital": capital} for country, capital in CAPITALS.items()],
                          prompt="Question: What is the capital of {{ country }}?\nAnswer:", target="capital",
                          until=["\n"], max_tokens=8)
