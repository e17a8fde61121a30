#!/usr/bin/env bash
# Create .venv and install workvec with every extra (export, bench, serve, analyze, scale, lang, dev), pinned by constraints.txt.
# torch goes in first, alone and pinned, so that no other package can pull a multi-GB CUDA build.
# hnswlib builds from source with -march=native; set HNSWLIB_NO_NATIVE=1 for a portable (~20% slower) build.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
. .venv/bin/activate
python -m pip install -q --upgrade pip
python -m pip install -q --no-compile -c constraints.txt torch==2.13.0
python -m pip install -q --no-compile -c constraints.txt -e ".[export,bench,serve,analyze,scale,lang,dev]"
echo "installed: $(python -c 'import workvec; print("workvec", workvec.__version__)') in $(pwd)/.venv"
