#!/usr/bin/env bash
# Regenerate the lock, src/assay/lock.txt: the exact version of every package a fresh
# `scripts/install.sh --dev` resolves today (the dev set contains the plain one), taken from a new
# virtual environment made without the old lock. Commit the result after CI passes with it.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d /tmp/assay-lock.XXXXXX)
trap 'rm -rf "$work"' EXIT
bash scripts/install.sh --dev --unlocked --venv "$work/venv"
"$work/venv/bin/python" - > "$work/lock.txt" <<'PY'
import platform
import sys

from assay.environment import installed_versions

print("# The exact versions scripts/install.sh installs (pip constraints), the set CI tested.")
print(f"# Written by scripts/lock.sh on Python {sys.version.split()[0]}, {platform.system()} {platform.machine()}.")
for name, version in sorted(installed_versions().items()):
    print(f"{name}=={version}")
PY
mv "$work/lock.txt" src/assay/lock.txt
echo "wrote src/assay/lock.txt ($(grep -vc '^#' src/assay/lock.txt) packages)"
