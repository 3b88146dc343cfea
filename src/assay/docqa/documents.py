"""The user's documents: read from a folder, cut into passages (blank-line separated paragraphs) with their
character offsets, and the relative position of a span in its document (for cutting results by evidence depth)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from assay.errors import AssayError
from assay.types import sha256_hex

SUFFIXES = (".txt", ".md")
# A passage shorter than this (a heading, a one-line note) is not used as evidence.
MIN_PASSAGE_WORDS = 12
DEPTH_BINS = ("0-25", "25-50", "50-75", "75-100")


@dataclass(frozen=True)
class Span:
    start: int
    end: int


@dataclass(frozen=True)
class Document:
    id: str
    path: str
    text: str

    @property
    def sha256(self) -> str:
        return sha256_hex(self.text)

    def passages(self) -> list[Span]:
        """Paragraphs (text between blank lines) of at least MIN_PASSAGE_WORDS words, in document order."""
        spans = []
        position = 0
        for block in self.text.split("\n\n"):
            start = self.text.index(block, position)
            position = start + len(block)
            stripped = block.strip()
            if len(stripped.split()) >= MIN_PASSAGE_WORDS:
                offset = start + block.index(stripped)
                spans.append(Span(offset, offset + len(stripped)))
        return spans


def depth_percent(span: Span, document_chars: int) -> float:
    """Where the span's middle lies in the document, in percent of its characters (0 = start, 100 = end)."""
    return round(100.0 * (span.start + span.end) / 2 / max(document_chars, 1), 2)


def depth_bin(depth: float | None) -> str | None:
    """The quarter of the document a depth falls in: 0-25, 25-50, 50-75 or 75-100 (100 itself in the last)."""
    if depth is None:
        return None
    return DEPTH_BINS[min(int(depth // 25), 3)]


def load_documents(folder: Path) -> list[Document]:
    """Every .txt/.md file directly in `folder`, sorted by name; ids are the file stems."""
    if not folder.is_dir():
        raise AssayError(f"--docs {folder}: not a folder")
    documents = []
    for path in sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in SUFFIXES):
        try:
            text = path.read_text(encoding="utf-8").replace("\r\n", "\n")
        except (OSError, UnicodeDecodeError) as exc:
            raise AssayError(f"--docs {folder}: cannot read {path.name} as UTF-8 text ({exc})") from None
        if not text.strip():
            raise AssayError(f"--docs {folder}: {path.name} is empty")
        documents.append(Document(path.stem, path.name, text))
    if not documents:
        raise AssayError(f"--docs {folder}: no .txt or .md files in it")
    ids = [d.id for d in documents]
    if len(set(ids)) != len(ids):
        raise AssayError(f"--docs {folder}: two files share a name stem; rename one")
    return documents
