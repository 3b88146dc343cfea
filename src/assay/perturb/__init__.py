"""Perturbations of any task, each paired with its original (`--perturb`): see `assay.perturb.task`."""

from __future__ import annotations

from assay.errors import AssayError
from assay.perturb import case, distractor, option_shuffle, typos, whitespace
from assay.perturb.base import Perturbation

# Seeded, model-free perturbations by name; `paraphrase` (a generator model's rewrite) is made by
# `assay.perturb.paraphrase` from a pre-pass run.
FIXED: dict[str, Perturbation] = {p.name: p for p in (typos.PERTURBATION, case.PERTURBATION,
                                                      whitespace.PERTURBATION, option_shuffle.PERTURBATION,
                                                      distractor.PERTURBATION)}
PARAPHRASE = "paraphrase"
NAMES = (*FIXED, PARAPHRASE)


def parse_perturb(spec: str) -> list[str]:
    """The perturbation names of `--perturb a,b` (known, each once, in the given order)."""
    names = [part.strip() for part in spec.split(",") if part.strip()]
    if not names:
        raise AssayError(f"--perturb: expected perturbation names separated by commas, one of {', '.join(NAMES)}")
    for name in names:
        if name not in NAMES:
            raise AssayError(f"--perturb: unknown perturbation {name!r}; expected one of {', '.join(NAMES)}")
    if len(set(names)) != len(names):
        raise AssayError(f"--perturb {spec}: a perturbation is named twice")
    return names
