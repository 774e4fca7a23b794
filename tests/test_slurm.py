"""``grid --executor slurm`` against a real SLURM: sbatch job arrays, squeue, scancel.

tests/test_cluster.py runs the same code through submitit's LocalExecutor, which never submits
anything; these tests need a SLURM that answers ``sinfo`` (``scripts/local_slurm.sh start``
brings up a single-node one; ``.ci/run`` does). Without one they are skipped, unless
``LINKPAPER_REQUIRE_SLURM`` is set (CI), in which case they fail. Each job asks for one CPU and
1 GB on the default partition; every job a test submits is cancelled when it ends.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from helpers_sizes import SMALL_RUN

from linkpaper.cli import main
from linkpaper.training.cluster import lock_holder
from linkpaper.training.grid import run_dir_for

pytestmark = pytest.mark.slurm

JOB_ARGS = ["--executor", "slurm", "--cpus-per-job", "1", "--mem-gb", "1", "--time", "10"]
TIMEOUT_S = 600  # for any one wait on SLURM; an idle single node needs a small fraction of it


@functools.cache  # asked once per session: an unconfigured client can take the whole timeout
def slurm_problem() -> str | None:
    """Why no SLURM can be used here (None: sinfo answers and submitit is installed)."""
    try:
        import submitit  # noqa: F401
    except ImportError:
        return "submitit is not installed (pip install -e '.[cluster]')"
    try:
        proc = subprocess.run(["sinfo", "-h", "-o", "%P %a %t"], capture_output=True, text=True, timeout=20)
    except FileNotFoundError:
        return "sinfo not found: no SLURM client on this machine"
    except subprocess.TimeoutExpired:
        return "sinfo did not answer within 20 s"
    if proc.returncode != 0:
        lines = (proc.stderr or proc.stdout).strip().splitlines()
        return f"sinfo failed ({lines[-1] if lines else f'exit status {proc.returncode}'})"
    return None


@pytest.fixture(scope="module", autouse=True)
def slurm():
    problem = slurm_problem()
    if problem is None:
        return
    reason = f"no SLURM to submit to: {problem}; scripts/local_slurm.sh start brings up a single-node one"
    if os.environ.get("LINKPAPER_REQUIRE_SLURM"):
        pytest.fail(f"{reason} (LINKPAPER_REQUIRE_SLURM is set)")
    pytest.skip(reason)


def grid_argv(out, *extra, variants="valor++,+T", seeds="2", epochs="2"):
    """A grid of the small model on synth:tiny, one CPU and one thread per SLURM job."""
    overrides = [x for key, value in SMALL_RUN.items() for x in ("--model-override", f"{key}={value}")]
    return [
        "grid",
        "--variants",
        variants,
        "--seeds",
        seeds,
        "--seed-base",
        "1",
        "--data",
        "synth:tiny",
        "--epochs",
        epochs,
        "--batch-size",
        "32",
        "--threads",
        "1",
        *overrides,
        "--out",
        str(out),
        "--quiet",
        *JOB_ARGS,
        *extra,
    ]


def run_rows(out):
    return {
        p.parent.parent.name + "/" + p.parent.name: json.loads(p.read_text())["test_row"]
        for p in sorted(Path(out).glob("*/seed*/results.json"))
    }


def grid_jobs(out) -> dict:
    """run folder -> SLURM job id, as the grid recorded them (``OUT/submitit/jobs.json``)."""
    path = Path(out) / "submitit" / "jobs.json"
    return json.loads(path.read_text()) if path.is_file() else {}


def queued(job_ids) -> dict:
    """The jobs among ``job_ids`` that SLURM still lists: ``{"123_0": "RUNNING", ...}``."""
    arrays = sorted({str(j).split("_")[0] for j in job_ids})
    if not arrays:
        return {}
    # %i prints a pending array's tasks as 123_[1-3]; one line per task (-r) names each
    text = subprocess.run(
        ["squeue", "-h", "-r", "-o", "%i %T", "-j", ",".join(arrays)], capture_output=True, text=True, timeout=30
    ).stdout
    states = dict(line.split() for line in text.splitlines() if line.strip())
    return {j: states[j] for j in map(str, job_ids) if j in states}


def all_queued() -> list:
    """Every job task SLURM lists now, by id."""
    return sorted(
        subprocess.run(["squeue", "-h", "-r", "-o", "%i"], capture_output=True, text=True, timeout=30).stdout.split()
    )


def wait_until(condition, what: str, timeout_s: float = TIMEOUT_S, poll_s: float = 0.1):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if value := condition():
            return value
        time.sleep(poll_s)
    squeue = subprocess.run(["squeue"], capture_output=True, text=True).stdout
    pytest.fail(f"waited {timeout_s} s for {what}; squeue says:\n{squeue}")


@contextlib.contextmanager
def time_limit(seconds: int, what: str):
    """Fail (instead of hanging CI) when the block takes longer than ``seconds``."""

    def expire(signum, frame):
        raise TimeoutError(f"{what} took more than {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@pytest.fixture
def cancel_jobs():
    """Grid folders whose SLURM jobs are cancelled when the test ends, however it ends."""
    folders = []
    yield folders.append
    ids = sorted({job for out in folders for job in grid_jobs(out).values()})
    if ids:
        subprocess.run(["scancel", *ids], capture_output=True, timeout=30)


def test_a_slurm_grid_gives_the_sequential_numbers_and_no_wait_collects_later(tmp_path, capsys, cancel_jobs):
    out = tmp_path / "slurm"
    cancel_jobs(out)
    assert main([*grid_argv(out), "--no-wait"]) == 0
    text = capsys.readouterr().out
    jobs = grid_jobs(out)
    arrays = {job.split("_")[0] for job in jobs.values()}
    assert len(jobs) == 4 and len(arrays) == 1  # one job array of four
    assert text.startswith(f"submitted 4 of 4 runs (job array {arrays.pop()}); 0 already complete")
    assert queued(jobs.values()), "--no-wait returned after the jobs had ended"  # it did not wait
    assert len(run_rows(out)) < 4

    sequential = tmp_path / "sequential"  # trained here while SLURM runs the array
    assert main(grid_argv(sequential, "--executor", "sequential")) == 0
    expected = run_rows(sequential)
    assert sorted(expected) == ["valorpp/seed1", "valorpp/seed2", "valorpp_T/seed1", "valorpp_T/seed2"]
    capsys.readouterr()

    wait_until(lambda: not queued(jobs.values()), "the job array to end")
    assert main(grid_argv(out)) == 0  # the same command, later: collects and summarises
    assert "grid: 4 of 4 runs complete (0 trained, 0 resumed, 4 already complete)" in capsys.readouterr().out
    assert run_rows(out) == expected  # exact float equality, run by run
    mine = json.loads((out / "summary.json").read_text())["rows"]
    theirs = json.loads((sequential / "summary.json").read_text())["rows"]
    assert [(r["model"], r["seeds"], r["mean"], r["std"]) for r in mine] == [
        (r["model"], r["seeds"], r["mean"], r["std"]) for r in theirs
    ]
    # each run was trained by its own SLURM array task, which its lock file names
    holders = {run: json.loads((out / run / ".lock").read_text())["slurm_job"] for run in expected}
    assert holders == jobs


def test_a_job_cancelled_mid_run_is_left_alone_while_it_runs_then_resumed(tmp_path, capsys, cancel_jobs):
    out = tmp_path / "grid"
    cancel_jobs(out)
    epochs = 100
    argv = grid_argv(out, variants="valor++", seeds="1", epochs=str(epochs))
    run_dir = run_dir_for(out, "valor++", 1)
    # the same run uninterrupted, trained here (in its own process) while SLURM runs the job
    reference = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "linkpaper",
            "train",
            "--model",
            "valor++",
            "--seed",
            "1",
            "--out",
            str(tmp_path / "uninterrupted"),
            *argv[argv.index("--data") : argv.index("--out")],
            "--quiet",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )

    def epochs_done():
        try:
            return len(json.loads((run_dir / "results.json").read_text())["epochs"])
        except (OSError, ValueError, KeyError):
            return 0

    seen = {}

    def second_call_then_scancel():  # runs while the first call waits for the job
        deadline = time.monotonic() + TIMEOUT_S
        while epochs_done() < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        (seen["job"],) = grid_jobs(out).values()
        seen["state"] = queued([seen["job"]])
        seen["second call"] = main([*argv, "--no-wait"])  # SLURM runs the job: it is left alone
        seen["jobs after"] = grid_jobs(out)
        subprocess.run(["scancel", seen["job"]], check=True, timeout=30)

    thread = threading.Thread(target=second_call_then_scancel, daemon=True)
    thread.start()
    with time_limit(TIMEOUT_S, "the grid waiting for a job that was cancelled"):
        assert main(argv) == 1  # waits for the job, and is told when it is cancelled
    thread.join(timeout=60)
    job = seen["job"]
    text = capsys.readouterr().out
    assert seen["state"] == {job: "RUNNING"}
    assert seen["second call"] == 0 and seen["jobs after"] == {"valorpp/seed1": job}  # nothing submitted
    assert "submitted 0 of 1 runs (job array -); 0 already complete, 1 running or queued elsewhere" in text
    assert "grid: 0 of 1 runs complete (0 trained, 0 resumed, 0 already complete)" in text
    assert f"  FAILED: valor++ seed 1: SLURM job {job} ended without a result: " in text
    assert re.search(rf"ended without a result: \S+ error: \*\*\* (JOB|STEP) {job}(\.0)? ON \S+ CANCELLED AT ", text)
    wait_until(lambda: lock_holder(run_dir) is None, "the cancelled job's lock to go")
    record = json.loads((run_dir / "results.json").read_text())
    done_before = len(record["epochs"])
    assert not record["complete"] and 2 <= done_before < epochs, done_before

    with time_limit(TIMEOUT_S, "the grid waiting for its resubmitted job"):
        assert main(argv) == 0  # the same command again: resubmits the run, which resumes, and waits
    assert "grid: 1 of 1 runs complete (0 trained, 1 resumed, 0 already complete)" in capsys.readouterr().out
    (second,) = grid_jobs(out).values()
    assert second != job
    log = (out / "submitit" / second / f"{second}_0_log.out").read_text()
    assert f"valor++ seed 1: resuming after epoch {done_before} in {run_dir}" in log
    resumed = json.loads((run_dir / "results.json").read_text())
    assert [e["epoch"] for e in resumed["epochs"]] == list(range(1, epochs + 1))
    assert resumed["epochs"][:done_before] == record["epochs"][:done_before]  # not retrained
    assert reference.wait(timeout=TIMEOUT_S) == 0, reference.stderr.read()
    uninterrupted = json.loads((tmp_path / "uninterrupted" / "results.json").read_text())
    assert resumed["test_row"] == uninterrupted["test_row"]


def test_a_run_that_slurm_still_has_queued_is_left_alone(tmp_path, capsys, cancel_jobs):
    out = tmp_path / "grid"
    cancel_jobs(out)
    argv = grid_argv(out, variants="valor++", seeds="1", epochs="1")
    assert main([*argv, "--sbatch", "begin=now+3600", "--no-wait"]) == 0  # pending for an hour
    capsys.readouterr()
    (job,) = grid_jobs(out).values()
    assert queued([job]) == {job: "PENDING"}
    before = all_queued()

    assert main(argv) == 1  # the same command again: the pending job is not submitted twice
    text = capsys.readouterr().out
    assert f"still running elsewhere: valorpp/seed1: SLURM job {job} is still queued" in text
    assert grid_jobs(out) == {"valorpp/seed1": job}  # a new submission would have replaced it
    # nothing new was queued (a job of an earlier test may leave the queue meanwhile)
    assert set(all_queued()) <= set(before) and queued([job]) == {job: "PENDING"}
    assert not (run_dir_for(out, "valor++", 1) / "results.json").exists()
