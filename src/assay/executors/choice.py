"""`assay run --executor local|ray [--ray-address ADDR] [--workers N]`: checked before anything loads, and the
model loaded accordingly. The executor is recorded in the manifest but is not part of the run's identity: a
Ray run and a local run of the same configuration are the same run (one resumes the other, their requests
share the cache)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from assay.errors import AssayError
from assay.models.base import Model

EXECUTORS = ("local", "ray")
DEFAULT_RAY_WORKERS = 2


@dataclass(frozen=True)
class ExecutorChoice:
    name: str = "local"
    workers: int = 1
    ray_address: str | None = None

    def recorded(self) -> dict[str, Any]:
        """What the manifest records (nothing for a local run, so local manifests are unchanged)."""
        if self.name == "local":
            return {}
        return {"executor": self.name, "workers": self.workers}


def check_executor(executor: str, workers: int | None, ray_address: str | None) -> ExecutorChoice:
    """One-line AssayError for an unknown executor, an option the executor cannot use, or Ray missing."""
    if executor not in EXECUTORS:
        raise AssayError(f"--executor {executor}: expected one of {', '.join(EXECUTORS)}")
    if workers is not None and workers < 1:
        raise AssayError(f"--workers {workers}: expected a whole number ≥ 1")
    if executor == "local":
        if workers is not None:
            raise AssayError(f"--workers {workers}: only --executor ray uses it (a local run has one model in process)")
        if ray_address is not None:
            raise AssayError(f"--ray-address {ray_address}: only --executor ray uses it")
        return ExecutorChoice()
    if ray_address is not None and not ray_address.strip():
        raise AssayError("--ray-address: expected a Ray address (host:port, ray://host:port, auto or local)")
    from assay.executors.ray_pool import import_ray

    import_ray()  # missing Ray is a one-line error before any model loads
    return ExecutorChoice("ray", DEFAULT_RAY_WORKERS if workers is None else workers, ray_address)


def load_with(choice: ExecutorChoice, spec: str, options: dict[str, Any],
              notify: Callable[[str], None] | None = None) -> Model:
    """The model for a run: in this process, or a pool of Ray actors that each load it."""
    if choice.name == "ray":
        from assay.models.registry import check_options

        check_options(spec, options)  # a bad spec or option fails here, not once per actor
        from assay.executors.ray_pool import RayModelPool

        return RayModelPool(spec, options, choice.workers, choice.ray_address, notify)
    from assay.models import load_model

    return load_model(spec, **options)
