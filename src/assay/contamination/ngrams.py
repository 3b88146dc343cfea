"""Exact n-gram overlap between task items and a corpus (13-grams on lower-cased words, as in GPT-3's
and lm-eval's decontamination): an item is contaminated when any of its n-grams occurs in a corpus
document; items shorter than n words use all their words as their one n-gram.

Scales by hashing: each word gets a random 64-bit code, each n-gram the polynomial hash of its codes
(numpy, over a chunk of many documents at once), and the corpus n-grams are tested for membership in the
items' hash set with `np.isin`; n-grams that straddle two documents are masked out."""

from __future__ import annotations

import re
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from assay.contamination.items import Item

WORD = re.compile(r"[a-z0-9]+")
NGRAM = 13
_BASE = np.uint64(1_000_003)
# Words per numpy chunk: bounds memory (a few uint64 arrays of this size) while amortising numpy calls.
CHUNK_WORDS = 2_000_000


class WordCodes:
    """A random 64-bit code per distinct word (seeded: the same corpus gives the same codes)."""

    def __init__(self, seed: int = 0) -> None:
        self.vocab: dict[str, int] = {}
        self._rng = np.random.default_rng(seed)
        self._codes = np.empty(0, dtype=np.uint64)

    def codes(self, text: str) -> np.ndarray:
        vocab = self.vocab
        ids = [vocab.setdefault(word, len(vocab)) for word in WORD.findall(text.lower())]
        if len(vocab) > len(self._codes):
            extra = max(len(vocab) - len(self._codes), 65_536)
            fresh = self._rng.integers(0, np.iinfo(np.uint64).max, size=extra, dtype=np.uint64, endpoint=True)
            self._codes = np.concatenate([self._codes, fresh])
        return self._codes[np.asarray(ids, dtype=np.int64)]


def ngram_hashes(codes: np.ndarray, n: int) -> np.ndarray:
    """The hash of every window of n consecutive codes (uint64 arithmetic wraps, as intended)."""
    count = len(codes) - n + 1
    if count <= 0:
        return np.empty(0, dtype=np.uint64)
    out = np.zeros(count, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for k in range(n):
            out = out * _BASE + codes[k:k + count]
    return out


@dataclass
class ItemOverlap:
    item_id: str
    n_ngrams: int
    matched: int
    documents: list[str] = field(default_factory=list)
    n_documents: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"item_id": self.item_id, "n_ngrams": self.n_ngrams, "matched_ngrams": self.matched,
                "overlap": round(self.matched / self.n_ngrams, 4) if self.n_ngrams else 0.0,
                "n_documents": self.n_documents, "documents": self.documents}


@dataclass
class OverlapReport:
    method: str
    ngram: int
    n_items: int
    n_documents: int
    n_words: int
    seconds: float
    contaminated: list[ItemOverlap]
    # Items with no words at all: they cannot be checked, and are listed rather than dropped.
    unchecked: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"method": self.method, "ngram": self.ngram, "n_items": self.n_items,
                "n_contaminated": len(self.contaminated),
                "contaminated_rate": round(len(self.contaminated) / self.n_items, 6) if self.n_items else None,
                "n_documents": self.n_documents, "n_words": self.n_words, "seconds": round(self.seconds, 3),
                "contaminated": [c.to_dict() for c in self.contaminated], "unchecked": self.unchecked}


class _ItemIndex:
    def __init__(self, items: Sequence[Item], codes: WordCodes, n: int) -> None:
        self.by_length: dict[int, dict[int, list[int]]] = defaultdict(lambda: defaultdict(list))
        self.n_ngrams: list[int] = []
        self.unchecked: list[str] = []
        for index, item in enumerate(items):
            item_codes = codes.codes(item.text)
            size = min(n, len(item_codes))
            hashes = set(ngram_hashes(item_codes, size).tolist()) if size else set()
            self.n_ngrams.append(len(hashes))
            if not hashes:
                self.unchecked.append(item.id)
            for value in hashes:
                self.by_length[size][value].append(index)
        self.arrays = {size: np.fromiter(table.keys(), dtype=np.uint64, count=len(table))
                       for size, table in self.by_length.items()}


def scan_overlap(items: Sequence[Item], documents: Iterable[tuple[str, str]], n: int = NGRAM,
                 max_listed: int = 5) -> OverlapReport:
    """Every item with at least one n-gram in a document, with how many of its n-grams matched and the
    first `max_listed` documents that contain one."""
    started = time.perf_counter()
    codes = WordCodes()
    index = _ItemIndex(items, codes, n)
    matched: dict[int, set[int]] = defaultdict(set)
    found_in: dict[int, list[str]] = defaultdict(list)
    n_docs = n_words = 0
    chunk_ids: list[str] = []
    chunk_codes: list[np.ndarray] = []
    chunk_size = 0

    def flush() -> None:
        if not chunk_codes:
            return
        joined = np.concatenate(chunk_codes)
        lengths = np.fromiter((len(c) for c in chunk_codes), dtype=np.int64, count=len(chunk_codes))
        doc_of = np.repeat(np.arange(len(chunk_codes)), lengths)
        for size, wanted in index.arrays.items():
            hashes = ngram_hashes(joined, size)
            if not len(hashes):
                continue
            hit = np.isin(hashes, wanted)
            hit &= doc_of[:len(hashes)] == doc_of[size - 1:size - 1 + len(hashes)]
            for position in np.flatnonzero(hit).tolist():
                value, doc = int(hashes[position]), chunk_ids[doc_of[position]]
                for item in index.by_length[size][value]:
                    matched[item].add(value)
                    if not found_in[item] or found_in[item][-1] != doc:
                        found_in[item].append(doc)
        chunk_ids.clear()
        chunk_codes.clear()

    for doc_id, text in documents:
        doc_codes = codes.codes(text)
        n_docs += 1
        n_words += len(doc_codes)
        chunk_ids.append(doc_id)
        chunk_codes.append(doc_codes)
        chunk_size += len(doc_codes)
        if chunk_size >= CHUNK_WORDS:
            flush()
            chunk_size = 0
    flush()
    contaminated = []
    for item in sorted(matched):
        docs = list(dict.fromkeys(found_in[item]))
        contaminated.append(ItemOverlap(items[item].id, index.n_ngrams[item], len(matched[item]), docs[:max_listed],
                                        len(docs)))
    return OverlapReport("ngram", n, len(items), n_docs, n_words, time.perf_counter() - started, contaminated,
                         index.unchecked)
