"""An example assay plugin: a task, a model backend and a judge prompt, declared as entry points in
pyproject.toml (see assay's docs/plugins.md)."""
