"""scripts/collect_results.py on bad input: one ``error:`` line naming the folder or file, nothing
copied; a copy of a results folder keeps its test decisions."""

from __future__ import annotations

import importlib.util
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
RECIPE = ROOT / "results" / "synth_small_recipe"


def _script():
    spec = importlib.util.spec_from_file_location("collect_results", ROOT / "scripts" / "collect_results.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


collect_results = _script()


def _grid(tmp_path, runs=("valorpp/seed87", "link/seed87"), decisions=False) -> Path:
    """A grid folder of committed run records (with their test decisions when asked); returns it."""
    src = tmp_path / "src"
    for run in runs:
        (src / run).mkdir(parents=True)
        shutil.copyfile(RECIPE / run / "results.json", src / run / "results.json")
        if decisions:
            shutil.copyfile(RECIPE / run / "test_decisions.npz", src / run / "test_decisions.npz")
    return src


def _edit(path: Path, **changes) -> None:
    record = json.loads(path.read_text())
    for key, value in changes.items():
        if key == "epochs_config":
            record["config"]["epochs"] = value
        else:
            record[key] = value
    path.write_text(json.dumps(record))


def _run(capsys, *argv) -> tuple[int, str]:
    status = collect_results.main([str(a) for a in argv])
    captured = capsys.readouterr()
    return status, captured.err


def test_missing_empty_or_same_folder_is_one_error_line(tmp_path, capsys):
    dst = tmp_path / "dst"
    status, err = _run(capsys, tmp_path / "nope", dst)
    assert status == 2 and f"SRC {tmp_path / 'nope'}: no such folder" in err
    (tmp_path / "empty").mkdir()
    status, err = _run(capsys, tmp_path / "empty", dst)
    assert status == 2 and "no run records" in err
    src = _grid(tmp_path)
    status, err = _run(capsys, src, src)
    assert status == 2 and "is SRC" in err and not dst.exists()


def test_damaged_record_mixed_configurations_and_unknown_predictions_copy_nothing(tmp_path, capsys):
    src, dst = _grid(tmp_path), tmp_path / "dst"
    (src / "link/seed87/results.json").write_text("{")
    status, err = _run(capsys, src, dst)
    assert status == 2 and f"{src / 'link/seed87/results.json'}: not valid JSON" in err and not dst.exists()
    shutil.copyfile(RECIPE / "link/seed87/results.json", src / "link/seed87/results.json")
    _edit(src / "link/seed87/results.json", epochs_config=6)
    status, err = _run(capsys, src, dst)
    assert status == 2 and "valorpp/seed87/results.json (epochs: 6 -> 60 (recipe))" in err and not dst.exists()
    _edit(src / "link/seed87/results.json", epochs_config=60)
    status, err = _run(capsys, src, dst, "--predictions", "link/seed99")
    assert status == 2 and "--predictions link/seed99: no complete run record" in err and not dst.exists()
    # a 6-epoch grid collected over the 60-epoch one already in DST
    assert _run(capsys, src, dst)[0] == 0
    other = _grid(tmp_path / "other", runs=("valorpp/seed88",))
    _edit(other / "valorpp/seed88/results.json", epochs_config=6)
    status, err = _run(capsys, other, dst)
    assert status == 2 and "another configuration" in err and not (dst / "valorpp/seed88").exists()


def test_incomplete_runs_are_skipped(tmp_path, capsys):
    src, dst = _grid(tmp_path), tmp_path / "dst"
    _edit(src / "link/seed87/results.json", complete=False)
    assert collect_results.main([str(src), str(dst)]) == 0
    assert "skip (incomplete)" in capsys.readouterr().out
    assert (dst / "valorpp/seed87/results.json").is_file() and not (dst / "link").exists()


def test_a_copy_of_a_results_folder_keeps_its_decisions_and_a_damaged_file_is_named(tmp_path, capsys, llp_data_dir):
    src, dst = _grid(tmp_path, decisions=True), tmp_path / "dst"
    assert _run(capsys, src, dst)[0] == 0
    for run in ("valorpp/seed87", "link/seed87"):
        kept = (dst / run / "test_decisions.npz").read_bytes()
        assert kept == (RECIPE / run / "test_decisions.npz").read_bytes()
    (src / "link/seed87/test_predictions.npz").write_bytes(b"PK\x03\x04 not a zip")
    status, err = _run(capsys, src, tmp_path / "dst2")
    assert status == 2 and f"{src / 'link/seed87/test_predictions.npz'}: not a readable .npz" in err


def test_decisions_of_another_run_are_one_error_line_and_leave_no_folder(tmp_path, capsys, llp_data_dir):
    src, dst = _grid(tmp_path, runs=("valorpp/seed87",)), tmp_path / "dst"
    shutil.copyfile(RECIPE / "link/seed87/test_decisions.npz", src / "valorpp/seed87/test_decisions.npz")
    status, err = _run(capsys, src, dst)
    assert status == 2 and err.startswith("error: ")
    assert f"{src / 'valorpp/seed87/test_decisions.npz'}: the decisions do not reproduce" in err
    assert not (dst / "valorpp").exists()


# ------------------------------------------------------------- run names and DST never reach SRC


GRID = ROOT / "results" / "synth_small_grid"


def _grid_with_predictions(tmp_path) -> Path:
    """A grid folder with one run holding float32-sized test predictions (the committed file)."""
    src = tmp_path / "src"
    (src / "link/seed87").mkdir(parents=True)
    for name in ("results.json", "test_predictions.npz"):
        shutil.copyfile(GRID / "link/seed87" / name, src / "link/seed87" / name)
    return src


@pytest.mark.parametrize("form", ["absolute", "dotdot", "escaping"])
def test_predictions_run_outside_src_is_refused_and_src_is_untouched(tmp_path, capsys, form):
    src, dst = _grid_with_predictions(tmp_path), tmp_path / "dst"
    before = (src / "link/seed87/test_predictions.npz").read_bytes()
    run = {
        "absolute": str((src / "link/seed87").resolve()),
        "dotdot": "link/../link/seed87",
        "escaping": "../src/link/seed87",
    }[form]
    status, err = _run(capsys, src, dst, "--predictions", run)
    assert status == 2 and err.startswith(f"error: --predictions {run}: ") and err.count("\n") == 1
    assert ("absolute path" if form == "absolute" else "leaves SRC") in err
    assert (src / "link/seed87/test_predictions.npz").read_bytes() == before and not dst.exists()


def test_dst_inside_src_a_file_or_under_a_file_is_one_line(tmp_path, capsys):
    src = _grid(tmp_path)
    status, err = _run(capsys, src, src / "collected")
    assert status == 2 and "lies inside SRC" in err and not (src / "collected").exists()
    (tmp_path / "file").write_text("x")
    for dst, problem in ((tmp_path / "file", "is a file"), (tmp_path / "file" / "sub", "lies under")):
        status, err = _run(capsys, src, dst)
        assert status == 2 and err.startswith(f"error: DST {dst}: {problem}") and err.count("\n") == 1


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_read_only_dst_is_one_line(tmp_path, capsys):
    src, dst = _grid(tmp_path), tmp_path / "ro"
    dst.mkdir()
    dst.chmod(0o500)
    try:
        status, err = _run(capsys, src, dst / "sub")
    finally:
        dst.chmod(0o700)
    assert status == 2 and "cannot create the folder" in err


def _collect_with_file_size_limit(argv, limit: int) -> subprocess.CompletedProcess:
    """Run the script with every file it writes capped at ``limit`` bytes: a full disk (EFBIG)."""

    def cap():
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)

    return subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "collect_results.py"), *map(str, argv)],
        capture_output=True,
        text=True,
        preexec_fn=cap,
        timeout=300,
    )


def test_a_full_disk_leaves_no_partial_file_and_no_traceback(tmp_path, llp_data_dir):
    src = _grid(tmp_path, decisions=True)  # 42 kB decisions, 145 kB records
    dst = tmp_path / "dst"
    done = _collect_with_file_size_limit([src, dst], 60_000)
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert done.stderr.startswith("error: ") and "results.json: cannot write" in done.stderr
    assert not [p for p in tmp_path.rglob("*") if p.name.endswith((".tmp", ".partial"))]
    records = {p.relative_to(dst) for p in dst.rglob("results.json")} if dst.exists() else set()
    assert not records  # no record was copied (each one failed whole)
    # the float16 predictions copy (about 1 MB) under a 500 kB cap: refused whole, no .partial in DST
    src2 = _grid_with_predictions(tmp_path / "p")
    dst2 = tmp_path / "dst2"
    done = _collect_with_file_size_limit([src2, dst2, "--predictions", "link/seed87"], 500_000)
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert "test_predictions.npz: cannot write" in done.stderr
    assert not (dst2 / "link/seed87/test_predictions.npz").exists()
    assert not [p for p in tmp_path.rglob("*") if p.name.endswith((".tmp", ".partial"))]


def test_missing_test_annotations_are_named_not_taken_for_a_full_disk(tmp_path, capsys, monkeypatch):
    """Decisions are checked against LLP's test annotations; when those are not on disk the one
    error line says which file is missing and how to fetch it, and DST is not left behind."""
    monkeypatch.setenv("LINKPAPER_DATA", str(tmp_path / "no_data"))
    src, dst = _grid(tmp_path, decisions=True), tmp_path / "dst"
    status, err = _run(capsys, src, dst)
    assert status == 2 and "AVVP_test_pd.csv is missing" in err and "python -m linkpaper download" in err
    assert "cannot write" not in err and "free disk space" not in err
    assert not dst.exists()
