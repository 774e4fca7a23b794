"""Provenance: the code version (git commit, and whether the working tree differs) and the
hardware that every run record carries (``linkpaper.training.runs``).
"""

from __future__ import annotations

import functools
import os
import platform
import subprocess
from pathlib import Path

import torch

# Tracked files that running the project rewrites: they do not make the code "dirty".
OUTPUT_PATHSPECS = (":(top,exclude,glob)**/*.ipynb", ":(top,exclude)results")


def git_commit(repo_dir: str | Path | None = None) -> dict:
    """``{"commit": sha or "unknown", "dirty": bool or None}`` of the code that ran.

    ``dirty`` is True when a tracked file other than an output differs from the commit:
    executed notebooks (``*.ipynb``, rewritten while they run) and ``results/`` are outputs,
    not code. Read once per process and cached: a long grid keeps running the code it loaded
    at start, so later commits to the working tree must not relabel its runs.
    """
    return dict(_git_commit_at_start(str(repo_dir) if repo_dir else None))


@functools.cache
def _git_commit_at_start(repo_dir: str | None) -> dict:
    cwd = Path(repo_dir) if repo_dir else Path(__file__).resolve().parents[2]  # the repository
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()
        status = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no", "--", ":(top)", *OUTPUT_PATHSPECS],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout
        return {"commit": sha, "dirty": bool(status.strip())}
    except (OSError, subprocess.SubprocessError):
        return {"commit": "unknown", "dirty": None}


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def hardware(device: str | torch.device) -> dict:
    """CPU model, torch device name, torch version and thread count of this process."""
    device = torch.device(device)
    record = {
        "cpu": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "device": str(device),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "python": platform.python_version(),
    }
    if device.type == "cuda" and torch.cuda.is_available():
        record["device_name"] = torch.cuda.get_device_name(device)
    else:
        record["device_name"] = record["cpu"]
    return record
