"""Test suites built on other tasks (sycophancy), registered under their own names."""
