#!/usr/bin/env bash
# Build the separate environment for teacher extraction (CLIP / CLAP): `linkpaper[extract]`.
#
#   scripts/setup_extract_env.sh [VENV]      (default VENV: .venv-extract, next to .venv)
#
# Why separate: open_clip imports torchvision, and the torchvision wheel links the CUDA torch
# build, so installing the extra into the CPU .venv (torch 2.13.0+cpu) would silently replace
# torch by the 5.5 GB CUDA build. laion_clap also pins numpy < 2. The book and training never
# need this environment. Size: about 6.5 GB; time: about 2-3 minutes from local wheels.
#
# CI / CPU-only machines: TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu takes the small CPU
# wheels of torch and torchvision instead of the CUDA build (no GPU is needed for the tests).
# TORCH_SPEC / TORCHVISION_SPEC override the pins.
#
# Then: HF_HUB_OFFLINE=1 VENV/bin/python -m pytest tests/extract -q
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${1:-.venv-extract}"
PYTHON="${PYTHON:-python3}"
TORCH="${TORCH_SPEC:-torch==2.14.1}"
TORCHVISION="${TORCHVISION_SPEC:-torchvision==0.29.1}"
export HF_HUB_OFFLINE=1   # importing laion_clap otherwise retries the Hugging Face hub for ~11 min

start=$(date +%s)
"$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --upgrade pip
"$VENV/bin/python" -m pip install --quiet ${TORCH_INDEX_URL:+--index-url "$TORCH_INDEX_URL"} "$TORCH" "$TORCHVISION"
"$VENV/bin/python" -m pip install --quiet -e ".[extract,dev,cluster]"
# Exactly the release VALOR's extraction used (its model code: HTS-AT, fusion). Its metadata pins
# numpy==1.23.5, which cannot be resolved beside linkpaper's numpy>=1.24, so it goes in without
# its dependencies: those of the 1.1.x line are already installed by the extra above.
"$VENV/bin/python" -m pip install --quiet --no-deps "laion_clap==${LAION_CLAP_VERSION:-1.1.4}"
"$VENV/bin/python" -c "import torch, torchvision, open_clip, laion_clap, librosa; from importlib.metadata import version; print('torch', torch.__version__, '| open_clip', open_clip.__version__, '| laion_clap', version('laion_clap'), '| ok')"
echo "built $VENV in $(( $(date +%s) - start )) s ($(du -sh "$VENV" | cut -f1))"
