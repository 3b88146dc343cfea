"""What the README tests share: the commands of README.md's "What you can do" block, a workspace that runs them
as a user does (a subprocess, stdout piped), and the check that no table cell in their output is cut or wrapped."""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_commands() -> list[str]:
    """The `assay ...` lines of the README's "What you can do" code block, comments removed."""
    text = README.read_text(encoding="utf-8")
    block = text.split("## What you can do", 1)[1].split("```bash", 1)[1].split("```", 1)[0]
    commands = []
    for line in block.splitlines():
        line = re.sub(r"\s+#\s.*$", "", line).strip()  # a comment, not the '#' of openai:URL#MODEL
        if line.startswith("assay"):
            commands.append(" ".join(line.split()))
    return commands


def truncation_problems(output: str) -> list[str]:
    """Cut-off or wrapped table cells in rich output: an ellipsis, or a table row whose first cell is
    empty (the continuation line of a wrapped row; every table here has a non-empty first column)."""
    problems = []
    for line in output.splitlines():
        if "…" in line:
            problems.append(f"ellipsis: {line.strip()[:160]}")
        if line.startswith("│"):
            first_cell = line[1:].split("│", 1)[0]
            if not first_cell.strip():
                problems.append(f"wrapped row: {line.strip()[:160]}")
    return problems


@dataclass
class Workspace:
    folder: Path
    env: dict[str, str]
    runs: dict[str, str] = field(default_factory=dict)
    data_dir: Path | None = None
    skipped: list[str] = field(default_factory=list)
    openai_url: str = ""

    def assay(self, *args: str, timeout: float = 300) -> str:
        out = subprocess.run([sys.executable, "-m", "assay.cli", *args], capture_output=True, text=True,
                             timeout=timeout, cwd=self.folder, env=self.env)
        assert out.returncode == 0, f"assay {' '.join(args)} failed ({out.returncode}): {out.stderr[-2000:]}"
        problems = truncation_problems(out.stdout)
        assert not problems, f"assay {' '.join(args)}: truncated output: {problems[:5]}"
        return out.stdout

    def run(self, name: str, *args: str) -> str:
        """`assay run ...`; keeps the run id under `name`."""
        stdout = self.assay("run", *args)
        found = re.search(r"^run id: (\w+)", stdout, flags=re.M)
        assert found, stdout[-1000:]
        self.runs[name] = found.group(1)
        return stdout

    def needs_data(self, command: str, *subfolders: str) -> bool:
        if self.data_dir is None or not all((self.data_dir / s).is_dir() for s in subfolders):
            self.skipped.append(command)
            return False
        return True


# Scripted generator and judge replies for the README's docqa chain on examples/docs/harrow_mill.md.
HARROW_RULES: list[dict[str, object]] = [
    {"match": ["can be answered from the text above", "Edith Calloway"], "answer": "Who built the Harrow Mill?"},
    {"match": "Does the text above answer this question", "answer": "No."},
    {"match": "the text does not answer", "answer": "How many visitors came to the museum in 2005?"},
    {"match": "Split the answer above", "answer": "Claim: Edith Calloway built the mill."},
    {"match": "is the claim true", "answer": "The claim is true."},
    {"match": "assistant A", "answer": "[[A]]"},
]
