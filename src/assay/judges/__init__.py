"""LLM judges and human labels: judgments (typed in `types.py`, stored by `store.py`), the judge engine,
importers of published judgments, agreement and bias diagnostics."""
