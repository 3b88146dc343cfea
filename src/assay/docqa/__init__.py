"""Question answering over the user's own documents: generated question sets (`generate`), the set as a task
(`task`), faithfulness by claim verification (`faithfulness`), no-info labels (in the task's scorer) and
helpfulness battles against the gold answers (`gold`). See docs/longdoc.md."""
