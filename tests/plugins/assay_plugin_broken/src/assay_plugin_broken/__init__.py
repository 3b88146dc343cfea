"""Broken assay entry points (tests only)."""
