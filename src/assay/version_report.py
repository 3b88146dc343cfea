"""`assay --version --verbose`: what a bug report needs about the installation — assay's version and git
commit, Python, the key packages' versions, and every installed package that is not the locked set."""

from __future__ import annotations

import sys

import assay


def version_lines(verbose: bool) -> list[str]:
    lines = [f"assay {assay.__version__}"]
    if not verbose:
        return lines
    from assay.environment import LOCK_PATH, difference_lines, environment_record
    from assay.manifest import git_commit, package_versions

    lines[0] += f" (git {git_commit() or 'unknown: not a git checkout'})"
    lines.append(f"python {sys.version.split()[0]} ({sys.executable})")
    lines.extend(f"{name} {version}" for name, version in package_versions().items())
    record = environment_record()
    if record["locked"] is None:
        lines.append(f"lock: cannot be read: {record['lock_error']}")
    elif record["locked"]:
        lines.append(f"lock: the installed packages are the locked set ({LOCK_PATH})")
    else:
        differs = record["differs_from_lock"]
        lines.append(f"lock: {len(differs)} installed packages differ from the locked set ({LOCK_PATH}):")
        lines.extend(f"  {line}" for line in difference_lines(differs))
    return lines
