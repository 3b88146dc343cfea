"""Haystacks: the distractor text needles are hidden in, as a sequence of units (sentences or
paragraphs) so that prompt length can be controlled unit by unit.

Kinds:
- `prose`:  natural English prose that ships with every Python installation: the docstrings of the
            standard library's top-level modules (read with `ast`, never imported), in sorted file
            order. No download; identical on machines with the same Python version (its sha256 goes
            into each sample's metadata).
- `noise`:  RULER-style repeated filler sentences ("The grass is green. The sky is blue. ...").
- `needles`: built by the task from same-template decoy needles (see `needles.py`).
- `docs`:   the user's own .txt/.md files (`--haystack DIR`), split into paragraphs, never cycled; a
            paragraph over DOC_UNIT_WORDS words is cut into pieces of whole sentences (a longer
            sentence into pieces of that many words), so a prompt's length can be set finely.
"""

from __future__ import annotations

import ast
import functools
import re
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path

from assay import provenance
from assay.errors import AssayError
from assay.provenance import bytes_sha256, folder_sha256
from assay.types import sha256_hex

HAYSTACK_KINDS = ("prose", "noise", "needles", "docs")

# RULER's noise haystack: the same five filler sentences, repeated.
NOISE_SENTENCES = ("The grass is green.", "The sky is blue.", "The sun is yellow.", "Here we go.",
                   "There and back again.")

# Modules whose docstrings are jokes, side effects or mostly code; skipped for prose.
_SKIPPED_MODULES = frozenset({"this.py", "antigravity.py", "__hello__.py", "__phello__.py"})
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")
DOC_UNIT_WORDS = 48


@dataclass(frozen=True)
class Haystack:
    kind: str
    units: tuple[str, ...]
    # Cyclic haystacks repeat their units as often as a length needs; the user's documents don't.
    cyclic: bool
    separator: str
    source: str
    # docs: one digest of the folder's files (relative paths and bytes), for the run's provenance.
    folder_sha256: str | None = None

    @functools.cached_property
    def sha256(self) -> str:
        return sha256_hex(self.separator.join(self.units))

    @functools.cached_property
    def lowered_text(self) -> str:
        """All unit text in lower case: needle values and keys are checked against it for collisions."""
        return self.separator.join(self.units).casefold()

    def take(self, n_units: int) -> list[str]:
        if not self.cyclic and n_units > len(self.units):
            raise ValueError(f"haystack {self.source} has only {len(self.units)} units")
        return [self.units[i % len(self.units)] for i in range(n_units)]

    def max_units(self) -> int | None:
        return None if self.cyclic else len(self.units)


def _prose_paragraphs(docstring: str) -> list[str]:
    """Paragraphs of running text in a docstring: code examples, tables and lists are dropped."""
    out = []
    for block in re.split(r"\n\s*\n", docstring):
        lines = block.splitlines()
        if not lines or any(line.startswith((" ", "\t", ">>>", "...", "-", "*", "|", "=")) for line in lines):
            continue
        text = " ".join(line.strip() for line in lines)
        letters = sum(ch.isalpha() or ch == " " for ch in text)
        if len(text) >= 80 and letters / len(text) > 0.9 and text.endswith("."):
            out.append(text)
    return out


@functools.lru_cache(maxsize=1)
def prose_haystack() -> Haystack:
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    files = sorted(p for p in stdlib.glob("*.py") if not p.name.startswith("_") and p.name not in _SKIPPED_MODULES)
    sentences: list[str] = []
    seen: set[str] = set()
    for path in files:
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"))
        except (OSError, SyntaxError, UnicodeDecodeError):
            continue
        nodes = [tree, *(n for n in tree.body if isinstance(n, ast.ClassDef | ast.FunctionDef))]
        for node in nodes:
            docstring = ast.get_docstring(node)
            if not docstring:
                continue
            for paragraph in _prose_paragraphs(docstring):
                for sentence in _SENTENCE_END.split(paragraph):
                    sentence = sentence.strip()
                    if 20 <= len(sentence) <= 400 and sentence not in seen:
                        seen.add(sentence)
                        sentences.append(sentence)
    if len(sentences) < 100:
        raise AssayError(f"haystack prose: found only {len(sentences)} sentences in the docstrings under {stdlib}; "
                         "use --haystack DIR or the noise haystack")
    version = f"{sys.version_info.major}.{sys.version_info.minor}.{sys.version_info.micro}"
    return Haystack("prose", tuple(sentences), cyclic=True, separator=" ",
                    source=f"python{version}-stdlib-docstrings")


def noise_haystack() -> Haystack:
    return Haystack("noise", NOISE_SENTENCES, cyclic=True, separator=" ", source="ruler-noise")


def _read_text_file(path: Path) -> tuple[str, str]:
    """(text, sha256 of the bytes) of one haystack file; binary, non-UTF-8 or empty files are refused."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise AssayError(f"--haystack: cannot read {path}: {exc.strerror}") from None
    if b"\x00" in raw:
        raise AssayError(f"--haystack: {path} is a binary file (NUL bytes); expected UTF-8 text")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        raise AssayError(f"--haystack: {path} is not UTF-8 text (line {line}); expected .txt/.md files in UTF-8") from None
    if not text.strip():
        raise AssayError(f"--haystack: {path} is empty; every .txt/.md file in the folder must hold text")
    return text, bytes_sha256(raw)


def _doc_units(paragraph: str) -> list[str]:
    """A paragraph as units of at most DOC_UNIT_WORDS words, cut between sentences where possible."""
    pieces: list[list[str]] = []
    for sentence in _SENTENCE_END.split(paragraph):
        words = sentence.split()
        for start in range(0, len(words), DOC_UNIT_WORDS):
            chunk = words[start:start + DOC_UNIT_WORDS]
            if pieces and len(pieces[-1]) + len(chunk) <= DOC_UNIT_WORDS:
                pieces[-1].extend(chunk)
            else:
                pieces.append(list(chunk))
    return [" ".join(piece) for piece in pieces if piece]


def docs_haystack(directory: str | Path) -> Haystack:
    """Paragraphs of the user's .txt/.md files, files in sorted path order."""
    root = Path(directory)
    if not root.is_dir():
        raise AssayError(f"--haystack: {root} is not a directory")
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in (".txt", ".md"))
    if not files:
        raise AssayError(f"--haystack: no .txt or .md files in {root}")
    paragraphs: list[str] = []
    hashes: dict[str, str] = {}
    for path in files:
        text, hashes[path.relative_to(root).as_posix()] = _read_text_file(path)
        for block in re.split(r"\n\s*\n", text):
            paragraphs.extend(_doc_units(block))
    return Haystack("docs", tuple(paragraphs), cyclic=False, separator="\n\n", source=f"docs:{root}",
                    folder_sha256=folder_sha256(hashes))


def needles_haystack(decoys: list[str], label: str) -> Haystack:
    return Haystack("needles", tuple(decoys), cyclic=True, separator=" ", source=label)


def select_haystack(kind: str, haystack_dir: str | None) -> Haystack:
    """The prose/noise/docs haystack for a task ('needles' is built per length by the task). What
    was used is recorded for the run's provenance: `haystack:<kind>` with the sha256 of the text (of
    the folder's files, for docs)."""
    if kind == "prose":
        haystack = prose_haystack()
    elif kind == "noise":
        haystack = noise_haystack()
    elif kind == "docs":
        if not haystack_dir:
            raise AssayError("haystack docs: pass --haystack DIR (a folder of .txt/.md files)")
        haystack = docs_haystack(haystack_dir)
    else:
        raise AssayError(f"haystack: unknown kind {kind!r}; expected one of {', '.join(HAYSTACK_KINDS)}")
    provenance.record(f"haystack:{kind}", haystack.folder_sha256 or haystack.sha256)
    return haystack
