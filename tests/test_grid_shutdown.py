"""Killing ``grid --executor local`` stops its workers within seconds (issue 23, item 3): SIGKILL
of the parent alone (the kernel's parent-death signal and the workers' watchdog), SIGTERM and
SIGINT of the parent (the pool is stopped instead of waited for)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers_sizes import SMALL_RUN

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


def _start_grid(out: Path) -> subprocess.Popen:
    """The grid in the background; its stderr goes to ``out.parent / "grid.err"`` (a file, not a
    pipe: the workers inherit it, and a pipe nobody reads could fill and block them all)."""
    argv = [
        sys.executable,
        "-m",
        "linkpaper",
        "grid",
        "--variants",
        "valor++",
        "--seeds",
        "4",
        "--data",
        "synth:tiny",
        "--epochs",
        "500",
        "--batch-size",
        "16",
        "--threads",
        "1",
        "--executor",
        "local",
        "--jobs",
        "2",
        "--out",
        str(out),
        "--quiet",
    ]
    for key, value in SMALL_RUN.items():
        argv += ["--model-override", f"{key}={value}"]
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    with open(out.parent / "grid.err", "wb") as err:
        return subprocess.Popen(
            argv, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=err, preexec_fn=_sigint_as_at_a_terminal
        )


def _sigint_as_at_a_terminal() -> None:
    """In the grid's process before it starts: SIGINT back to its default action. A shell that
    starts the test suite in the background (``pytest ... &`` in a script) ignores SIGINT there,
    every child inherits that, and Python then installs no KeyboardInterrupt handler, so the
    SIGINT case would test nothing but the ignored signal."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _stderr(out: Path) -> str:
    return (out.parent / "grid.err").read_text(errors="replace")


def _workers_training(grid: subprocess.Popen, out: Path, timeout: float = 240) -> list[int]:
    """The worker pids once two runs have started writing (their first epoch's results.json)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert grid.poll() is None, _stderr(out)
        if len(list(out.glob("*/seed*/results.json"))) >= 2:
            children = _children(grid.pid)  # read again until /proc shows both (a loaded machine lags)
            if len(children) >= 2:
                return children
        time.sleep(0.5)
    raise AssertionError(f"the grid's workers did not start training (children: {_children(grid.pid)})")


@pytest.mark.slow
@pytest.mark.parametrize(
    "signum", [signal.SIGKILL, signal.SIGTERM, signal.SIGINT], ids=["SIGKILL", "SIGTERM", "SIGINT"]
)
def test_killing_the_grid_parent_stops_its_workers_within_seconds(tmp_path, signum, llp_data_dir):
    out = tmp_path / "grid"
    grid = _start_grid(out)
    workers: list[int] = []
    try:
        workers = _workers_training(grid, out)
        assert len(workers) >= 2
        os.kill(grid.pid, signum)
        grid.wait(timeout=60)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and any(map(_alive, workers)):
            time.sleep(0.2)
        assert not [pid for pid in workers if _alive(pid)], f"workers still alive after {signum!r}"
        if signum != signal.SIGKILL:
            err = _stderr(out)
            assert "Traceback" not in err and grid.returncode == 130, err
    finally:
        if grid.poll() is None:
            grid.kill()
        for pid in set(workers) | set(_children(grid.pid)):  # never leave a worker behind
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
