"""Contamination checks: n-gram overlap of a task's items with a corpus (exact 13-grams, MinHash for
near-duplicates), Min-K% / Min-K%++ membership scores from per-token log-probabilities, and AUROC with a
bootstrap CI when membership labels are given."""
