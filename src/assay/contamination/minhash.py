"""Near-duplicate contamination with MinHash LSH (`datasketch`): items are indexed by the MinHash of their
word 5-gram shingles; each corpus paragraph (blank-line separated, or a whole .jsonl document) is
queried, and an item is contaminated when a paragraph's estimated Jaccard similarity reaches the
threshold. Catches copies with small edits that break every exact 13-gram; for large corpora the exact
scan (`ngrams.py`) is the fast first pass."""

from __future__ import annotations

import re
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence

from assay.contamination.items import Item
from assay.contamination.ngrams import WORD, ItemOverlap, OverlapReport
from assay.errors import AssayError

SHINGLE = 5
NUM_PERM = 128
_PARAGRAPH = re.compile(r"\n\s*\n")


def _shingles(text: str) -> set[bytes]:
    words = WORD.findall(text.lower())
    size = min(SHINGLE, len(words))
    return {" ".join(words[i:i + size]).encode() for i in range(len(words) - size + 1)} if size else set()


def scan_minhash(items: Sequence[Item], documents: Iterable[tuple[str, str]], threshold: float = 0.7,
                 max_listed: int = 5) -> OverlapReport:
    try:
        from datasketch import MinHash, MinHashLSH
    except ImportError:
        raise AssayError("--method minhash needs datasketch: pip install 'assay[contamination]'") from None
    if not 0.0 < threshold <= 1.0:
        raise AssayError(f"--threshold: expected a Jaccard similarity in (0, 1], got {threshold}")
    started = time.perf_counter()
    lsh = MinHashLSH(threshold=threshold, num_perm=NUM_PERM)
    signatures = {}
    unchecked = []
    shingle_sets = [_shingles(item.text) for item in items]
    for index, (item, shingles) in enumerate(zip(items, shingle_sets, strict=True)):
        if not shingles:
            unchecked.append(item.id)
            continue
        signature = MinHash(num_perm=NUM_PERM, seed=1)
        signature.update_batch(list(shingles))
        signatures[index] = signature
        lsh.insert(str(index), signature)
    found_in: dict[int, list[str]] = defaultdict(list)
    best: dict[int, float] = defaultdict(float)
    n_docs = n_words = 0
    for doc_id, text in documents:
        n_docs += 1
        n_words += len(WORD.findall(text.lower()))
        for paragraph in _PARAGRAPH.split(text):
            shingles = _shingles(paragraph)
            if not shingles:
                continue
            probe = MinHash(num_perm=NUM_PERM, seed=1)
            probe.update_batch(list(shingles))
            for key in lsh.query(probe):
                index = int(key)
                # LSH returns candidates; keep those whose estimated similarity reaches the threshold.
                similarity = signatures[index].jaccard(probe)
                if similarity >= threshold:
                    best[index] = max(best[index], similarity)
                    if doc_id not in found_in[index]:
                        found_in[index].append(doc_id)
    # matched_ngrams: the item's shingles times the best estimated Jaccard similarity of a paragraph.
    contaminated = [ItemOverlap(items[i].id, len(shingle_sets[i]), round(best[i] * len(shingle_sets[i])),
                                found_in[i][:max_listed], len(found_in[i])) for i in sorted(found_in)]
    return OverlapReport("minhash", SHINGLE, len(items), n_docs, n_words, time.perf_counter() - started, contaminated,
                         unchecked)
