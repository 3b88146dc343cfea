"""How one batch of requests is cut across workers: contiguous shards of about equal size that never
separate log-likelihood requests sharing a context.

Why the cut respects contexts: the hf backend scores the choices of one context together (the context
runs once, its continuations in one padded batch), and a context met alone goes down another path whose
float arithmetic differs in the last bits. Keeping each context's requests on one worker makes a
sharded run give the same numbers as a local one."""

from __future__ import annotations

from collections.abc import Hashable, Sequence

from assay.types import LoglikelihoodRequest, Request


def _group_key(position: int, request: Request) -> Hashable:
    if isinstance(request, LoglikelihoodRequest):
        return ("context", request.context)
    return ("alone", position)


def shard_positions(requests: Sequence[Request], workers: int) -> list[list[int]]:
    """At most `workers` non-empty lists of positions into `requests`, covering each position once. Groups
    (see the module docstring) are taken in order of first appearance and filled into shards greedily: a
    shard closes once it holds its fair share of what is left."""
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    groups: dict[Hashable, list[int]] = {}
    for position, request in enumerate(requests):
        groups.setdefault(_group_key(position, request), []).append(position)
    shards: list[list[int]] = []
    current: list[int] = []
    left = len(requests)
    for positions in groups.values():
        current.extend(positions)
        shards_left = workers - len(shards)
        if shards_left > 1 and len(current) * shards_left >= left:
            shards.append(current)
            left -= len(current)
            current = []
    if current:
        shards.append(current)
    return shards
