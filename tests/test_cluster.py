"""Beyond one process: the grid through executors, run-folder locks, configuration checks, shards.

The SLURM path runs through submitit's LocalExecutor (``--submitit-cluster local``): real
subprocesses and the same submission code as on a cluster, except ``sbatch`` itself.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from linkpaper.cli import main
from linkpaper.errors import ConfigError
from linkpaper.training.cluster import (
    ExecutorOptions,
    RunBusy,
    in_shard,
    lock_holder,
    make_submitit_executor,
    parse_shard,
    run_lock,
    shard_of,
)
from linkpaper.training.engine import train
from linkpaper.training.grid import run_dir_for
from linkpaper.training.recipe import TrainConfig

pytest.importorskip("submitit")

TINY = {"hidden_dim": 16, "num_layers": 1, "ff_dim": 32}
OVERRIDES = ["--threads", "1", "--batch-size", "32"] + [
    x for k, v in TINY.items() for x in ("--model-override", f"{k}={v}")
]
ROOT = Path(__file__).resolve().parents[1]


def grid_argv(out, *extra, variants="valor++,+T", seeds="2", epochs="2"):
    """A grid on synth:tiny with tiny models; a later ``--epochs`` etc. in ``extra`` wins."""
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
        "--out",
        str(out),
        "--quiet",
        *OVERRIDES,
        *extra,
    ]


def run_rows(out):
    return {
        p.parent.parent.name + "/" + p.parent.name: json.loads(p.read_text())["test_row"]
        for p in sorted(Path(out).glob("*/seed*/results.json"))
    }


@pytest.fixture(scope="module")
def sequential_grid(tmp_path_factory):
    out = tmp_path_factory.mktemp("sequential") / "grid"
    assert main(grid_argv(out)) == 0
    return out


def test_parallel_grids_give_exactly_the_sequential_numbers(sequential_grid, tmp_path, capsys):
    expected = run_rows(sequential_grid)
    assert sorted(expected) == ["valorpp/seed1", "valorpp/seed2", "valorpp_T/seed1", "valorpp_T/seed2"]
    summary = json.loads((sequential_grid / "summary.json").read_text())

    local = tmp_path / "local"
    assert main(grid_argv(local, "--executor", "local", "--jobs", "2")) == 0
    slurm = tmp_path / "slurm"
    assert main(grid_argv(slurm, "--executor", "slurm", "--submitit-cluster", "local", "--time", "10")) == 0
    assert "grid: 4 of 4 runs complete (4 trained, 0 resumed, 0 already complete)" in capsys.readouterr().out
    for out in (local, slurm):
        assert run_rows(out) == expected  # exact float equality, run by run
        rows = json.loads((out / "summary.json").read_text())["rows"]
        assert [(r["model"], r["seeds"], r["mean"], r["std"]) for r in rows] == [
            (r["model"], r["seeds"], r["mean"], r["std"]) for r in summary["rows"]
        ]
    # separate processes: the sequential runs were locked by this process, the local ones by a
    # pool of two workers, the submitit ones by one process per job
    pids = {
        out: {json.loads((Path(out) / run / ".lock").read_text())["pid"] for run in expected}
        for out in (sequential_grid, local, slurm)
    }
    assert pids[sequential_grid] == {os.getpid()}
    assert len(pids[local]) == 2 and os.getpid() not in pids[local]
    assert len(pids[slurm]) == 4 and os.getpid() not in pids[slurm]
    assert json.loads((slurm / "submitit/jobs.json").read_text()).keys() == set(expected)


def test_a_changed_configuration_is_refused_with_the_differences(sequential_grid, capsys):
    stamps = {p: p.stat().st_mtime_ns for p in sequential_grid.rglob("*") if p.is_file()}
    for extra, diff in (
        (["--epochs", "3"], "epochs: 2 -> 3"),
        (["--data", "synth:tiny:5"], "data: 'synth:tiny' -> 'synth:tiny:5'"),
        (["--plsim-labels", "self"], "plsim_labels: 'ungated' -> 'self'"),
        (["--warmup-epochs", "1"], "warmup_epochs: 10 -> 1"),
    ):
        assert main(grid_argv(sequential_grid, "--executor", "local", "--jobs", "2", *extra)) == 2
        err = capsys.readouterr().err
        assert err.startswith(
            f"error: --out {sequential_grid}: 4 run(s) there were trained with a different "
            f"configuration (theirs -> this command's): valorpp/seed1 ({diff}), "
        )
        assert err.count(f"({diff})") == 4 and f"valorpp_T/seed2 ({diff})" in err
        assert err.endswith("rerun with the original options or choose a new --out\n") and err.count("\n") == 1
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps  # nothing was touched
    # the thread count changes no number: a call with other threads keeps every run as it is
    argv = grid_argv(sequential_grid)
    argv[argv.index("--threads") + 1] = "2"
    assert main(argv) == 0
    assert "grid: 4 of 4 runs complete (0 trained, 0 resumed, 4 already complete)" in capsys.readouterr().out
    runs = [p for p in stamps if p.name not in ("summary.json", "summary.md")]
    assert {p: p.stat().st_mtime_ns for p in runs} == {p: stamps[p] for p in runs}


def test_a_job_killed_half_way_is_resumed_by_the_next_call(tmp_path, capsys):
    out = tmp_path / "grid"
    argv = grid_argv(
        out,
        "--executor",
        "slurm",
        "--submitit-cluster",
        "local",
        "--time",
        "10",
        variants="valor++",
        seeds="1",
        epochs="40",
    )
    assert main([*argv, "--no-wait"]) == 0
    assert "submitted 1 of 1 runs" in capsys.readouterr().out
    run_dir = run_dir_for(out, "valor++", 1)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # the job is a separate process: watch its run record
        try:
            if len(json.loads((run_dir / "results.json").read_text())["epochs"]) >= 2:
                break
        except (OSError, ValueError):
            pass
        time.sleep(0.05)
    holder = lock_holder(run_dir)
    assert holder and holder["pid"] != os.getpid()
    os.kill(holder["pid"], signal.SIGKILL)
    deadline = time.monotonic() + 30
    while lock_holder(run_dir) is not None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert lock_holder(run_dir) is None  # the kernel dropped the dead job's lock
    record = json.loads((run_dir / "results.json").read_text())
    done_before = len(record["epochs"])
    assert not record["complete"] and 2 <= done_before < 40

    assert main(argv) == 0  # collects: resubmits the interrupted run, which resumes
    assert "grid: 1 of 1 runs complete (0 trained, 1 resumed, 0 already complete)" in capsys.readouterr().out
    log = "".join(p.read_text() for p in (out / "submitit").glob("*/*_log.out"))
    assert f"valor++ seed 1: resuming after epoch {done_before} in {run_dir}" in log
    resumed = json.loads((run_dir / "results.json").read_text())
    assert [e["epoch"] for e in resumed["epochs"]] == list(range(1, 41))
    assert resumed["epochs"][:done_before] == record["epochs"][:done_before]  # not retrained
    uninterrupted = train(
        TrainConfig(
            model="valor++", model_overrides=TINY, data="synth:tiny", epochs=40, batch_size=32, seed=1, num_threads=1
        ),
        progress=False,
    )
    assert resumed["test_row"] == uninterrupted["test_row"]


def test_a_run_that_another_process_holds_is_left_alone(tmp_path, capsys):
    out = tmp_path / "grid"
    held = run_dir_for(out, "valor++", 2)
    with run_lock(held):
        assert main(grid_argv(out, variants="valor++")) == 1
    text = capsys.readouterr().out
    assert "grid: 1 of 2 runs complete (1 trained, 0 resumed, 0 already complete)" in text
    assert f"still running elsewhere: valorpp/seed2: process {os.getpid()} on " in text
    assert not (held / "results.json").exists()
    summary = json.loads((out / "summary.json").read_text())
    assert summary["missing_runs"] == 1 and summary["rows"][0]["seeds"] == [1]
    assert "INCOMPLETE: 1 run(s) of the grid are not finished" in (out / "summary.md").read_text()
    assert main(grid_argv(out, variants="valor++")) == 0  # free again: the next call trains it
    assert "grid: 2 of 2 runs complete (1 trained, 0 resumed, 1 already complete)" in capsys.readouterr().out


def test_run_lock_is_exclusive_and_dies_with_its_holder(tmp_path):
    run_dir = tmp_path / "run"
    with run_lock(run_dir) as info:
        assert lock_holder(run_dir) == info and info["pid"] == os.getpid()
        with pytest.raises(RunBusy, match=rf"^{run_dir}: process {os.getpid()} on .* is training this run; wait"):
            with run_lock(run_dir):
                pass
    assert lock_holder(run_dir) is None
    code = (
        f"from linkpaper.training.cluster import run_lock\nwith run_lock({str(run_dir)!r}):\n"
        "    print('held', flush=True)\n    input()\n"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", code],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert holder.stdout.readline() == "held\n"
    assert lock_holder(run_dir)["pid"] == holder.pid
    holder.kill()
    holder.wait(timeout=30)
    assert lock_holder(run_dir) is None
    with run_lock(run_dir):
        pass


def test_executor_options_are_checked(tmp_path, capsys):
    cases = [
        (
            ["--jobs", "2"],
            "error: --jobs 2 needs --executor local (with --executor slurm, --array-parallelism limits how many "
            "jobs run at once)\n",
        ),
        (["--executor", "local", "--jobs", "0"], "error: --jobs: expected a positive integer, got 0\n"),
        (
            ["--executor", "local", "--no-wait"],
            "error: --no-wait needs --executor slurm (local and sequential runs end with the command)\n",
        ),
        (
            ["--executor", "slurm", "--sbatch", "account"],
            "error: --sbatch 'account': expected KEY=VALUE, e.g. account=abc\n",
        ),
    ]
    for extra, message in cases:
        assert main(grid_argv(tmp_path / "g", *extra)) == 2
        assert capsys.readouterr().err == message
    assert not (tmp_path / "g").exists()


def test_slurm_without_srun_says_where_to_run(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PATH", str(tmp_path))  # no srun, no sbatch
    assert main(grid_argv(tmp_path / "g", "--executor", "slurm")) == 2
    assert capsys.readouterr().err == (
        'error: --executor slurm: Could not detect "srun", are you indeed on a slurm cluster? Run this on a '
        "machine that can submit SLURM jobs (a login node), or try the same path here with --submitit-cluster local\n"
    )


def test_slurm_options_reach_the_sbatch_script(tmp_path, monkeypatch):
    from submitit.slurm.slurm import _make_sbatch_string

    (tmp_path / "bin").mkdir()
    (tmp_path / "bin/srun").write_text("#!/bin/sh\n")
    (tmp_path / "bin/srun").chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")  # submitit looks for srun
    options = ExecutorOptions(
        kind="slurm",
        partition="gpu",
        gpus_per_job=1,
        cpus_per_job=8,
        mem_gb=24,
        time_min=90,
        array_parallelism=3,
        sbatch={"account": "abc"},
        setup=["module load cuda"],
    ).validate()
    executor = make_submitit_executor(options, tmp_path)
    script = _make_sbatch_string(
        command="python -m x", folder=str(tmp_path / "%j"), map_count=24, **executor._executor.parameters
    )
    for line in (
        "#SBATCH --partition=gpu",
        "#SBATCH --gpus-per-node=1",
        "#SBATCH --cpus-per-task=8",
        "#SBATCH --mem=24GB",
        "#SBATCH --time=90",
        "#SBATCH --array=0-23%3",
        "#SBATCH --account=abc",
        "#SBATCH --job-name=linkpaper",
        "\nmodule load cuda\n",
    ):
        assert line in script


def test_shards_cover_every_clip_exactly_once():
    from linkpaper.data.annotations import read_weak_labels, video_id
    from linkpaper.data.files import annotation_path

    ids = sorted({video_id(n) for n in read_weak_labels(annotation_path("full")).filenames})
    assert len(ids) > 11_000
    for count in (1, 2, 7, 64):
        shards = [[k for k in ids if in_shard(k, i, count)] for i in range(count)]
        assert sorted(x for s in shards for x in s) == ids  # each clip in exactly one shard
        mean = len(ids) / count  # a hash splits like a fair die: within 4 binomial std of the mean
        assert all(abs(len(s) - mean) <= 4 * (mean * (1 - 1 / count)) ** 0.5 for s in shards), [len(s) for s in shards]
    # A clip's shard is a function of its id alone, the same in every process and release (not
    # Python's salted hash): an interrupted sharded run resumes on the clips it had.
    assert [shard_of(k, 64) for k in ("BjCEufrlXm4", "19jWnmYnlD8", "--3UpHpH2-o")] == [18, 4, 17]
    assert parse_shard("3/4") == (3, 4)
    for bad in ("4/4", "-1/4", "1", "a/b", "0/0"):
        with pytest.raises(ConfigError, match=rf"^--shard '{bad}': expected I/N with 0 <= I < N"):
            parse_shard(bad)


def test_extraction_shards_split_the_generated_clips(tmp_path):
    from linkpaper.teachers.extract import find_clips, manifest_name, select_clips

    frames, audio = tmp_path / "frames", tmp_path / "audio"
    names = [f"{i:011d}"[::-1].replace("0", "x") + f"_{i}_{i + 10}" for i in range(40)]
    for name in names:
        (frames / name).mkdir(parents=True)
    audio.mkdir()
    for name in names[::3]:
        (audio / f"{name}.wav").write_bytes(b"")
    clips = find_clips(frames, audio)
    assert len(clips) == 40
    shards = [select_clips(clips, (i, 3)) for i in range(3)]
    assert sorted(c for s in shards for c in s) == sorted(clips) and all(shards)
    assert sum(clip.audio is not None for s in shards for clip in s.values()) == 14  # a clip's audio goes with it
    assert select_clips(clips, None) == clips
    assert [manifest_name(None), manifest_name((1, 3))] == [
        "extract_manifest.json",
        "extract_manifest.shard-1-of-3.json",
    ]


def test_train_refuses_a_run_folder_that_a_job_holds(tmp_path, capsys):
    out = tmp_path / "run"
    argv = [
        "train",
        "--model",
        "valor++",
        "--data",
        "synth:tiny",
        "--epochs",
        "1",
        "--out",
        str(out),
        "--quiet",
        "--resume",
        *OVERRIDES,
    ]
    with run_lock(out):
        assert main(argv) == 2
    assert capsys.readouterr().err.startswith(f"error: {out}: process {os.getpid()} on ")
    assert not (out / "results.json").exists()
    assert main(argv) == 0 and (out / "results.json").is_file()


def test_a_failing_job_is_reported_and_the_others_go_on(tmp_path, capsys):
    out = tmp_path / "grid"
    argv = grid_argv(out, "--executor", "local", "--jobs", "2", variants="valor++")
    argv[argv.index("synth:tiny")] = "llp:/nonexistent"
    assert main(argv) == 1
    text = capsys.readouterr().out
    message = "--data 'llp:/nonexistent': the folder /nonexistent does not exist; point llp: at"
    assert f"  FAILED: valor++ seed 1: {message}" in text and f"  FAILED: valor++ seed 2: {message}" in text
    assert "grid: 0 of 2 runs complete" in text
    assert json.loads((out / "summary.json").read_text())["missing_runs"] == 2


def test_a_failed_train_leaves_no_folder_or_lock_behind(tmp_path, capsys):
    out = tmp_path / "new" / "run"
    argv = [
        "train",
        "--model",
        "valor++",
        "--data",
        f"llp:{tmp_path / 'nowhere'}",
        "--epochs",
        "1",
        "--out",
        str(out),
        "--quiet",
        *OVERRIDES,
    ]
    assert main(argv) == 2
    assert "does not exist" in capsys.readouterr().err
    assert not (tmp_path / "new").exists()  # the folders the lock created are removed with it
    argv[argv.index("--out") + 1] = str(tmp_path / "file" / "run")
    (tmp_path / "file").write_text("x")
    assert main(argv) == 2
    assert capsys.readouterr().err.startswith(f"error: --out {tmp_path / 'file' / 'run'}: lies under ")
