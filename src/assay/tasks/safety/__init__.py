"""Safety test suites built on the long-context machinery: PII leakage (`pii_leak`) and prompt
injection hidden in documents (`injection`)."""
