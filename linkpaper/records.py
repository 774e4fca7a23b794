"""Run records: the provenance every ``results.json`` carries, and safe file writes.

A run folder holds ``results.json`` (configuration, data source, code version, hardware,
per-epoch history, best epoch, test scores), ``checkpoint_last.pt``, ``checkpoint_best.pt`` and
``test_predictions.npz``. Everything here is written atomically (a temporary file, then
``os.replace``) so an interrupted run never leaves a half-written file behind.
"""

from __future__ import annotations

import json
import os
import platform
import functools
import subprocess
from pathlib import Path

import torch

from linkpaper.errors import UserError

RESULTS_FILE = "results.json"
LEAKAGE_CAPTION = (
    "WARNING: PLSIM read the released gated pseudo labels, which are AND-ed with the "
    "ground-truth video labels of val/test: these scores used ground-truth video labels."
)


def atomic_write_bytes(path: str | Path, payload: bytes) -> None:
    """Write ``payload`` to ``path`` through a temporary file and ``os.replace``."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as handle:
        handle.write(payload)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def atomic_write_json(path: str | Path, record: dict) -> None:
    """Write ``record`` as indented JSON, atomically."""
    atomic_write_bytes(path, (json.dumps(record, indent=2, sort_keys=False) + "\n").encode())


def atomic_torch_save(obj, path: str | Path) -> None:
    """``torch.save`` to ``path`` atomically."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def read_results(run_dir: str | Path) -> dict:
    """The ``results.json`` of a run folder, or a UserError naming the file."""
    path = Path(run_dir) / RESULTS_FILE
    if not path.is_file():
        raise UserError(f"{path}: no run record here; is {run_dir} a run folder written by 'python -m linkpaper train'?")
    try:
        return json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise UserError(f"{path}: not valid JSON ({err}); the run record is damaged, train the run again") from None


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


@functools.lru_cache(maxsize=None)
def _git_commit_at_start(repo_dir: str | None) -> dict:
    cwd = Path(repo_dir) if repo_dir else Path(__file__).resolve().parent.parent
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()
        status = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no", "--", ":(top)", *OUTPUT_PATHSPECS],
            cwd=cwd, capture_output=True, text=True, timeout=10, check=True,
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
