"""The Python API: the verbs of the `assay` command as functions returning typed objects. Users import them
from `assay` itself (`assay.__all__`); the CLI calls the same functions and only parses and prints."""
